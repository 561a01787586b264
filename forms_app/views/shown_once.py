"""A link just issued, shown once: POST, redirect, then GET the page that shows it.

Staff issue a link (the clinic pages, the admin) and see its address or QR code on the
next page, never in the response to the POST: refreshing that page must not issue a
second link for the patient. The token goes to the next page through this session,
encrypted, never in a URL, and is taken out by the first load of that page: a refresh,
another tab or anyone else with the address sees that it was shown, and nothing is
issued by loading it.

Several links may wait at once (two tabs, or a second issue before the first page has
loaded): each is kept by its link id, so issuing one never hides another's only showing.
At most MAX_WAITING are kept, the newest; an older one is shown as "already shown".
"""

from cryptography.fernet import InvalidToken

from forms_app.services import IssuedLink
from patients.crypto import get_cipher

SESSION_KEY = "clinic_show_link"
MAX_WAITING = 10


def _waiting(request) -> dict:
    waiting = request.session.get(SESSION_KEY)
    # Anything else (a session from before links were kept by id) holds nothing to show.
    return dict(waiting) if isinstance(waiting, dict) and "link" not in waiting else {}


def remember(request, issued: IssuedLink) -> None:
    """Keep the link just issued for the page that shows it, in this session only."""
    waiting = _waiting(request)
    waiting.pop(str(issued.link.pk), None)
    waiting[str(issued.link.pk)] = get_cipher().encrypt(issued.token.encode()).decode("ascii")
    request.session[SESSION_KEY] = dict(list(waiting.items())[-MAX_WAITING:])


def take(request, link) -> IssuedLink | None:
    """The link as issued, the first time its page is loaded in the session that issued
    it; None after that, in any other session, or when it cannot be read any more."""
    waiting = _waiting(request)
    encrypted = waiting.pop(str(link.pk), None)
    if encrypted is None:
        return None
    if waiting:
        request.session[SESSION_KEY] = waiting
    else:
        del request.session[SESSION_KEY]
    try:
        token = get_cipher().decrypt(encrypted.encode("ascii")).decode()
    except (InvalidToken, AttributeError):
        return None  # keys rotated in between: shown as "already shown"
    return IssuedLink(link=link, token=token)
