from django.urls import path

from forms_app.whiteboard import views

app_name = "whiteboard"

urlpatterns = [
    path("<uuid:team_id>/", views.board, name="board"),
    path("<uuid:team_id>/fragment/", views.fragment, name="fragment"),
    path("<uuid:team_id>/data.json", views.data, name="data"),
]
