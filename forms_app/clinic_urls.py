"""Clinic pages (staff, outside the admin) and the delivery receipt callback."""

from django.urls import path

from forms_app.delivery import views as delivery_views
from forms_app.views import clinic

app_name = "clinic"

urlpatterns = [
    path("", clinic.find_patient, name="find"),
    path("patients/<uuid:patient_id>/", clinic.patient_detail, name="patient"),
    path("patients/<uuid:patient_id>/issue/", clinic.issue, name="issue"),
    path("links/<uuid:link_id>/show/", clinic.show_link, name="show_link"),
    path("links/<uuid:link_id>/revoke/", clinic.revoke, name="revoke"),
    path("links/<uuid:link_id>/resend/", clinic.resend, name="resend"),
    path("links/<uuid:link_id>/extend/", clinic.extend, name="extend"),
    path("links/<uuid:link_id>/unlock/", clinic.unlock, name="unlock"),
    path("lists/", clinic.lists, name="lists"),
    path("lists/<uuid:list_id>/", clinic.clinic_list, name="list"),
    path("lists/<uuid:list_id>/issue/", clinic.issue_list, name="issue_list"),
    path("delivery/notify/callback/", delivery_views.notify_callback, name="notify_callback"),
]
