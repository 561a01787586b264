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
    path("worklist/", include("forms_app.filing.urls")),
    path("", include("forms_app.urls")),
]
