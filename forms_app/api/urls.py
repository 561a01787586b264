"""/api/v1/: the REST API, its OpenAPI 3 schema and its documentation page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from forms_app.api import views

app_name = "api"

# UUID converters in the paths: an id that is not a UUID never reaches a query.
router = SimpleRouter(use_regex_path=False)
router.register("patients", views.PatientViewSet, basename="patient")
router.register("forms", views.FormViewSet, basename="form")
router.register("form-versions", views.FormVersionViewSet, basename="form-version")
router.register("links", views.LinkViewSet, basename="link")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("submissions", views.SubmissionViewSet, basename="submission")

urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"),
         name="docs"),
    path("v1/", include(router.urls)),
    re_path(r"^.*$", views.not_found),
]
