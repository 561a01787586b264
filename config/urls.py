from django.conf import settings
from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.utils.module_loading import import_string
from django.views.generic import RedirectView, TemplateView

from config.probes import PROBES
from patients.admin_site import StaffAdminSite
from patients.urls import webauthn_urlpatterns

# Every admin page needs a verified second factor: a password alone reaches none.
admin.site.__class__ = StaffAdminSite
admin.site.site_header = "Patient forms administration"
admin.site.site_title = "Patient forms"
admin.site.site_url = reverse_lazy("staff:home")  # "View site": the staff home

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="staff:home", permanent=False)),
    path("staff/", include("forms_app.staff.urls")),
    path("records/", include("forms_app.records.urls")),
    path("admin/", admin.site.urls),
    path("account/", include("patients.urls")),
    path("account/webauthn/", include(webauthn_urlpatterns)),
    path("accessibility/", TemplateView.as_view(template_name="pages/accessibility.html"),
         name="accessibility"),
    path("privacy/", TemplateView.as_view(template_name="pages/privacy.html"),
         name="privacy"),
    path("clinic/", include("forms_app.clinic_urls")),
    path("api/", include("forms_app.api.urls")),
    path("whiteboard/", include("forms_app.whiteboard.urls")),
    path("kiosk/", include("forms_app.kiosk.urls")),  # clinic tablets (issue 4)
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switcher
    path("worklist/", include("forms_app.filing.urls")),
    path("", include("forms_app.urls")),
]
# Answered by config.probes.ProbeMiddleware first; mounted too, so they can be reversed.
urlpatterns += [path(route.lstrip("/"), import_string(view), name=route.strip("/"))
                for route, view in PROBES.items()]

if settings.BENCH:
    # Benchmark baselines only (bench/README): never mounted in production.
    urlpatterns.insert(0, path("bench/", include("config.bench")))

# Error pages carry nothing from the request (patients/views.py).
handler500 = "patients.views.server_error"
