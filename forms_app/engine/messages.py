"""Patient-facing error messages, following the NHS.UK / GOV.UK error message guidance.

Messages stay lazy (format_lazy over gettext_lazy) because form classes are cached
and shared between requests in different languages. ``short-label`` (our extension,
e.g. "your weight") makes them specific: "Enter your weight", "Your weight must be
300 or less"; without it they name the question in its own words ("Enter how many
cigarettes a day", "Select yes or no for do you smoke"): see ``label``.
"""

from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from .items import Item


def label(item: Item):
    """What the message calls the answer: ``short-label``, else the question's own words
    ("How many cigarettes a day?" -> "how many cigarettes a day"), so two messages on one
    page never read the same; "your answer" only for a question without text."""
    if item.short_label:
        return item.short_label
    words = from_question(item.text)
    if words:
        return words
    if item.type == "date":
        return _("the date")
    if item.type == "time":
        return _("the time")
    if item.type == "dateTime":
        return _("the date and time")
    return _("your answer")


def from_question(text: str) -> str:
    """A question's text as the object of "Enter …" or "Select …": one line, without its
    closing punctuation, its first letter lower case unless the word is an abbreviation
    (NHS, GP) or a name the author wrote in capitals."""
    words = " ".join(str(text or "").split()).rstrip("?.:!¿; ")
    if not words:
        return ""
    first = words.split(" ", 1)[0]
    if len(first) > 1 and first[1:2].isupper():
        return words
    return words[0].lower() + words[1:]


def _capitalised(item: Item):
    # capfirst() forces a lazy string; keep it lazy by deferring through format_lazy.
    return _Capfirst(label(item))


class _Capfirst:
    def __init__(self, text):
        self.text = text

    def __str__(self) -> str:
        return capfirst(str(self.text))


def required(item: Item):
    if item.required_message:
        return item.required_message
    if item.type == "boolean":
        return format_lazy(_("Select yes or no for {}"), label(item))
    if item.type in ("choice", "open-choice", "attachment"):
        return format_lazy(_("Select {}"), label(item))
    return format_lazy(_("Enter {}"), label(item))


def too_long(item: Item, limit: int):
    return format_lazy(
        _("{subject} must be {limit} characters or fewer"), subject=_capitalised(item), limit=limit
    )


def too_short(item: Item, limit: int):
    return format_lazy(
        _("{subject} must be {limit} characters or more"), subject=_capitalised(item), limit=limit
    )


def bad_character(item: Item):
    return format_lazy(
        _("{subject} must not include hidden control characters"), subject=_capitalised(item)
    )


def not_a_number(item: Item):
    return format_lazy(_("{subject} must be a number"), subject=_capitalised(item))


def not_whole(item: Item):
    return format_lazy(_("{subject} must be a whole number"), subject=_capitalised(item))


def too_many_places(item: Item, places: int):
    if places == 0:
        return not_whole(item)
    return format_lazy(
        _("{subject} must have {places} decimal places or fewer"),
        subject=_capitalised(item),
        places=places,
    )


def at_most(item: Item, limit):
    return format_lazy(
        _("{subject} must be {limit} or less"), subject=_capitalised(item), limit=limit
    )


def at_least(item: Item, limit):
    return format_lazy(
        _("{subject} must be {limit} or more"), subject=_capitalised(item), limit=limit
    )


def bad_format(item: Item):
    if item.regex_message:
        return item.regex_message
    return format_lazy(_("{subject} is not in the right format"), subject=_capitalised(item))


EMAIL = _("Enter an email address in the correct format, like name@example.com")
UK_PHONE = _("Enter a UK phone number, like 01632 960 001 or 07700 900 982")
NHS_NUMBER_LENGTH = _("NHS number must be 10 numbers")
NHS_NUMBER_INVALID = _("Enter a valid NHS number. Check you have typed it correctly")
URL = _("Enter a web address in the correct format, like https://www.nhs.uk")
INVALID_CHOICE = _("Select an option from the list")
YEAR_DIGITS = _("Year must include 4 numbers")


def exclusive(option_display: str):
    return format_lazy(_('Select "{}" or other options, not both'), option_display)


def other_missing(item: Item):
    return format_lazy(_('Enter your answer for "{}"'), item.other_label or _("Other"))


def date_missing_parts(item: Item, parts: str):
    return format_lazy(
        _("{subject} must include a {parts}"), subject=_capitalised(item), parts=parts
    )


def not_real_date(item: Item):
    return format_lazy(_("{subject} must be a real date"), subject=_capitalised(item))


def date_in_future(item: Item):
    return format_lazy(_("{subject} must be today or in the past"), subject=_capitalised(item))


def date_before(item: Item, limit: str):
    return format_lazy(
        _("{subject} must be the same as or after {limit}"), subject=_capitalised(item), limit=limit
    )


def date_after(item: Item, limit: str):
    return format_lazy(
        _("{subject} must be the same as or before {limit}"),
        subject=_capitalised(item),
        limit=limit,
    )


def not_real_time(item: Item):
    return format_lazy(
        _("{subject} must be a real time, like 09:30 or 2:30pm"), subject=_capitalised(item)
    )


def time_missing(item: Item):
    return format_lazy(_("{subject} must include a time"), subject=_capitalised(item))
