"""The wording of messages to patients.

Placeholders use GOV.UK Notify's ((name)) style. Only the values below are ever filled
in, so no answer, score or clinical detail can reach a message whatever an organisation
writes in its template.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

PLACEHOLDER = re.compile(r"\(\(([a-z_]+)\)\)")

ALLOWED = {
    "invitation": {"link", "form_title", "trust_name", "expires"},
    "reminder": {"link", "form_title", "trust_name", "expires"},
    "code": {"code", "trust_name"},
}
REQUIRED = {"invitation": {"link"}, "reminder": {"link"}, "code": {"code"}}

DEFAULTS = {
    ("invitation", "sms"): (
        "",
        "((trust_name)): please fill in your form '((form_title))' before your appointment: "
        "((link)) The link works until ((expires)).",
    ),
    ("invitation", "email"): (
        "Please fill in your form: ((form_title))",
        "((trust_name)) has asked you to fill in a form before your appointment: "
        "((form_title)).\n\nOpen this link to start:\n((link))\n\n"
        "You will be asked for your date of birth. The link works until ((expires)).\n\n"
        "If you were not expecting this, you can ignore this email.",
    ),
    ("reminder", "sms"): (
        "",
        "Reminder from ((trust_name)): your form '((form_title))' is not finished yet: "
        "((link)) The link works until ((expires)).",
    ),
    ("reminder", "email"): (
        "Reminder: please fill in your form: ((form_title))",
        "This is a reminder from ((trust_name)): you have not yet finished your form "
        "((form_title)).\n\nOpen this link to carry on:\n((link))\n\n"
        "The link works until ((expires)).",
    ),
    ("code", "sms"): (
        "",
        "((code)) is your ((trust_name)) security code. It expires in 10 minutes. "
        "Do not share it with anyone.",
    ),
    ("code", "email"): (
        "Your security code",
        "Your ((trust_name)) security code is ((code)).\n\nIt expires in 10 minutes. "
        "Do not share it with anyone.",
    ),
}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def validate_template(*, purpose, channel, subject, body) -> None:
    allowed = ALLOWED.get(purpose, set())
    used = set(PLACEHOLDER.findall(subject or "")) | set(PLACEHOLDER.findall(body or ""))
    errors = {}
    unknown = used - allowed
    if unknown:
        errors["body"] = ("Unknown placeholders: " + ", ".join(f"(({n}))" for n in sorted(unknown))
                          + ". You can use: " + ", ".join(f"(({n}))" for n in sorted(allowed)))
    missing = REQUIRED.get(purpose, set()) - set(PLACEHOLDER.findall(body or ""))
    if missing:
        errors.setdefault("body", "The message must contain "
                          + ", ".join(f"(({n}))" for n in sorted(missing)) + ".")
    if channel == "email" and not (subject or "").strip():
        errors["subject"] = "An email needs a subject."
    if errors:
        raise ValidationError(errors)


def fill(template: tuple[str, str], *, purpose, values: dict) -> Message:
    """Fill a (subject, body) template; placeholders not allowed for the purpose vanish."""
    subject, body = template
    allowed = ALLOWED[purpose]

    def fill(text):
        return PLACEHOLDER.sub(
            lambda m: str(values.get(m.group(1), "")) if m.group(1) in allowed else "", text)

    return Message(subject=fill(subject), body=fill(body))
