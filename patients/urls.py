"""Staff sign-in and second factors (namespace "account")."""

from django.urls import include, path

from patients import views

app_name = "account"

urlpatterns = [
    path("", views.account_home, name="home"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
    path("enrol/qr.svg", views.enrol_qr, name="enrol-qr"),
    path("backup-codes/", views.backup_codes, name="backup-codes"),
    path("passkeys/", views.passkeys, name="passkeys"),
    path("logout/", views.sign_out, name="logout"),
]

# django-otp-webauthn's JSON endpoints (its own namespace, "otp_webauthn").
webauthn_urlpatterns = [path("", include("django_otp_webauthn.urls", namespace="otp_webauthn"))]
