from django.urls import path

from forms_app.records import views

app_name = "records"

urlpatterns = [
    path("submissions/<uuid:submission_id>/", views.submission, name="submission"),
    path("submissions/<uuid:submission_id>/record.pdf", views.submission_pdf,
         name="submission_pdf"),
]
