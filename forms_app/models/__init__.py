"""The forms app's models, one module per area; every model is re-exported here."""

from forms_app.models.api import ApiClient, IdempotencyKey
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

__all__ = [
    "AnswerOption",
    "ApiClient",
    "Form",
    "FormVersion",
    "IdempotencyKey",
    "Item",
    "Link",
    "LinkStatus",
    "Submission",
    "hash_token",
    "new_reference",
]
