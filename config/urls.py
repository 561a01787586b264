from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView
from django_otp.admin import OTPAdminSite

# Every admin page needs a verified second factor: a password alone reaches none.
admin.site.__class__ = OTPAdminSite
admin.site.site_header = "Patient forms administration"
admin.site.site_title = "Patient forms"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("accessibility/", TemplateView.as_view(template_name="pages/accessibility.html"),
         name="accessibility"),
    path("privacy/", TemplateView.as_view(template_name="pages/privacy.html"),
         name="privacy"),
    path("clinic/", include("forms_app.clinic_urls")),
    path("api/", include("forms_app.api.urls")),
    path("whiteboard/", include("forms_app.whiteboard.urls")),
    path("", include("forms_app.urls")),
]

if settings.BENCH:
    # Benchmark baselines only (bench/README): never mounted in production.
    urlpatterns.insert(0, path("bench/", include("config.bench")))
