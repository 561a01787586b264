from django.urls import path

from forms_app.staff import views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
]
