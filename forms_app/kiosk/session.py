"""The kiosk's marks in a session, shared by the patient views and the kiosk views."""

from django.shortcuts import redirect

SESSION_KIOSK = "kiosk"                # this session is a patient's, on a clinic tablet
SESSION_KIOSK_LOCKED = "kiosk_locked"  # the patient has finished: hand the tablet back


def is_kiosk(request) -> bool:
    return bool(request.session.get(SESSION_KIOSK))


def is_locked(request) -> bool:
    return bool(request.session.get(SESSION_KIOSK_LOCKED))


def lock(request):
    """End the patient's session on the tablet and show the hand-back screen.

    flush() deletes the session row and gives the cookie a new key: nothing of the
    patient's session is left on the device or reachable from it. Every patient page is
    no-store, so the back button fetches again and lands on the hand-back screen too.
    """
    request.session.flush()
    request.session[SESSION_KIOSK_LOCKED] = True
    return redirect("kiosk:hand_back")
