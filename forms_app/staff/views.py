"""The staff home: teams, today's clinics and their whiteboards, the worklist, forms,
clinic lists and (for those allowed) the admin."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from forms_app.staff.selectors import staff_home
from patients.access import staff_required


@staff_required
@never_cache
@require_GET
def home(request):
    return render(request, "staff/home.html", {"home": staff_home(request.user)})
