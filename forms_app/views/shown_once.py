"""A link just issued, shown once: POST, redirect, then GET the page that shows it.

Staff issue a link (the clinic pages, the admin) and see its address or QR code on the
next page, never in the response to the POST: refreshing that page must not issue a
second link for the patient. The token goes to the next page through this session,
encrypted, never in a URL, and is taken out by the first load of that page: a refresh,
another tab or anyone else with the address sees that it was shown, and nothing is
issued by loading it.
"""

from cryptography.fernet import InvalidToken

from forms_app.services import IssuedLink
from patients.crypto import get_cipher

SESSION_KEY = "clinic_show_link"


def remember(request, issued: IssuedLink) -> None:
    """Keep the link just issued for the page that shows it, in this session only."""
    request.session[SESSION_KEY] = {
        "link": str(issued.link.pk),
        "token": get_cipher().encrypt(issued.token.encode()).decode("ascii")}


def take(request, link) -> IssuedLink | None:
    """The link as issued, the first time its page is loaded in the session that issued
    it; None after that, in any other session, or when it cannot be read any more."""
    pending = request.session.get(SESSION_KEY) or {}
    if pending.get("link") != str(link.pk):
        return None
    del request.session[SESSION_KEY]
    try:
        token = get_cipher().decrypt(pending["token"].encode("ascii")).decode()
    except (InvalidToken, KeyError, AttributeError):
        return None  # keys rotated in between: shown as "already shown"
    return IssuedLink(link=link, token=token)
