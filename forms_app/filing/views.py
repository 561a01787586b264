"""The care team's worklist of flagged forms (staff with a verified second factor)."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from forms_app.filing import selectors, services


def staff_with_second_factor(view):
    """Staff only, and only once the second factor is verified (django-otp)."""

    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_verified()):
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@never_cache
@require_GET
@staff_with_second_factor
def worklist(request):
    tasks = list(selectors.worklist_for(request.user)[:500])
    return render(request, "forms_app/filing/worklist.html", {
        "open_tasks": [t for t in tasks if not t.is_acknowledged],
        "acknowledged_tasks": [t for t in tasks if t.is_acknowledged][:100],
    })


@never_cache
@require_POST
@staff_with_second_factor
def acknowledge(request, task_id):
    try:
        services.acknowledge_task(task_id=task_id, by=request.user)
    except services.FilingServiceError as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Task acknowledged.")
    return redirect("worklist:list")
