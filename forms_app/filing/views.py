"""The care team's worklist of flagged forms (staff with a verified second factor)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from forms_app.filing import selectors, services
from patients.access import staff_required


@never_cache
@require_GET
@staff_required
def worklist(request):
    tasks = list(selectors.worklist_for(request.user)[:500])
    return render(request, "forms_app/filing/worklist.html", {
        "open_tasks": [t for t in tasks if not t.is_acknowledged],
        "acknowledged_tasks": [t for t in tasks if t.is_acknowledged][:100],
    })


@never_cache
@require_POST
@staff_required
def acknowledge(request, task_id):
    try:
        services.acknowledge_task(task_id=task_id, by=request.user)
    except services.FilingServiceError as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Task acknowledged.")
    return redirect("worklist:list")
