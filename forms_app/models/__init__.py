"""The forms app's models, one module per area; every model is re-exported here."""

from forms_app.models.core import (
    AnswerOption,
    Form,
    FormVersion,
    Item,
    Link,
    LinkStatus,
    Submission,
    hash_token,
    new_reference,
)
from forms_app.models.delivery import (
    ClinicList,
    ClinicListRow,
    DeliveryAttempt,
    LinkSecret,
    MessageTemplate,
    OneTimeCode,
)

__all__ = [
    "AnswerOption",
    "ClinicList",
    "ClinicListRow",
    "DeliveryAttempt",
    "Form",
    "FormVersion",
    "Item",
    "Link",
    "LinkSecret",
    "LinkStatus",
    "MessageTemplate",
    "OneTimeCode",
    "Submission",
    "hash_token",
    "new_reference",
]
