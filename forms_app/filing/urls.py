from django.urls import path

from forms_app.filing import views

app_name = "worklist"

urlpatterns = [
    path("", views.worklist, name="list"),
    path("<uuid:task_id>/acknowledge/", views.acknowledge, name="acknowledge"),
]
