"""Baseline views for the benchmarks (bench/), mounted only when settings.BENCH is on.

Every benchmark figure is also reported as a ratio to these two, measured on the same
server in the same run, so the figures mean something on a shared or different machine:
- bare: the cheapest Django response (URL routing and middleware, no database);
- pk: one primary-key lookup rendered through a template (what a trivial page costs).
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.views.decorators.http import require_GET

from patients.models import Organisation


@require_GET
def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


@require_GET
def pk_lookup(request, pk):
    organisation = get_object_or_404(Organisation, pk=pk)
    return render(request, "bench/pk.html", {"organisation": organisation})


urlpatterns = [
    path("bare/", bare, name="bench-bare"),
    path("pk/<uuid:pk>/", pk_lookup, name="bench-pk"),
]
