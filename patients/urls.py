"""Staff sign-in and second factors (namespace "account")."""

from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import views as webauthn_views

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

# django-otp-webauthn's JSON endpoints, in its own namespace ("otp_webauthn"), with the
# passkey verification audited like the other second factors.
_webauthn = [
    path("registration/begin/", webauthn_views.BeginCredentialRegistrationView.as_view(),
         name="credential-registration-begin"),
    path("registration/complete/",
         webauthn_views.CompleteCredentialRegistrationView.as_view(),
         name="credential-registration-complete"),
    path("authentication/begin/",
         webauthn_views.BeginCredentialAuthenticationView.as_view(),
         name="credential-authentication-begin"),
    path("authentication/complete/", views.AuditedPasskeyVerification.as_view(),
         name="credential-authentication-complete"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
         name="js-i18n-catalog"),
]
webauthn_urlpatterns = [path("", include((_webauthn, "otp_webauthn")))]
