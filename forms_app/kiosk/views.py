"""Kiosk mode views: start (staff, two factors), hand back, unlock (staff, two factors)."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from forms_app.kiosk import services
from forms_app.kiosk.forms import StartKioskForm, UnlockForm
from forms_app.kiosk.session import SESSION_KIOSK
from forms_app.views import patient
from patients.access import staff_required


@never_cache
@staff_required(login_url="kiosk:unlock")
@require_http_methods(["GET", "POST"])
def start(request):
    form = StartKioskForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            link = services.start_kiosk_session(
                patient=form.cleaned_data["patient"], version=form.cleaned_data["version"],
                care_team=form.cleaned_data["care_team"], by=request.user)
        except services.KioskError as error:
            form.add_error(None, str(error))
        else:
            # The staff member is logged out on this device before the patient gets it:
            # a new, empty session holds only the patient's journey.
            auth.logout(request)
            request.session[SESSION_KIOSK] = True
            request.session[patient.SESSION_LINK] = str(link.pk)
            request.session[patient.SESSION_VERIFIED] = str(link.pk)
            patient.keep_alive_session(request)
            return redirect("patient:answer")
    return render(request, "forms_app/kiosk/start.html", {"form": form},
                  status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET"])
def hand_back(request):
    response = render(request, "forms_app/kiosk/hand_back.html")
    # The next patient starts in the default language, not the last one's choice.
    response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


@method_decorator(never_cache, name="dispatch")
class UnlockView(LoginView):
    """Staff unlock the tablet: username, password and a one-time code, every time."""

    form_class = UnlockForm
    template_name = "forms_app/kiosk/unlock.html"
    redirect_authenticated_user = False

    def get_success_url(self):
        return reverse("kiosk:start")
