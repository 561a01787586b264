from django.urls import path

from forms_app.views import patient

app_name = "patient"

urlpatterns = [
    # Link tokens are URL-safe base64 (secrets.token_urlsafe).
    path("l/<str:token>/", patient.start, name="start"),
    path("form/verify/", patient.verify, name="verify"),
    path("form/verify/code/", patient.verify_code, name="verify_code"),
    path("form/answer/", patient.AnswerWizard.as_view(), name="answer"),
    path("form/check/", patient.check_answers, name="check"),
    path("form/saved/", patient.saved, name="saved"),
    path("form/confirmation/", patient.confirmation, name="confirmation"),
    path("form/confirmation/your-answers.pdf", patient.confirmation_pdf,
         name="confirmation_pdf"),
    path("form/submitted/", patient.already_submitted, name="already_submitted"),
    path("form/keep-alive/", patient.keep_alive, name="keep_alive"),
    path("form/unavailable/", patient.link_unavailable, name="unavailable"),
    path("form/timed-out/", patient.timed_out, name="timed_out"),
]
