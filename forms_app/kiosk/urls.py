from django.urls import path

from forms_app.kiosk import views

app_name = "kiosk"

urlpatterns = [
    path("", views.start, name="start"),
    path("hand-back/", views.hand_back, name="hand_back"),
    path("unlock/", views.UnlockView.as_view(), name="unlock"),
]
