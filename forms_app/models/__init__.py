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
from forms_app.models.filing import WorklistTask

__all__ = [
    "AnswerOption",
    "Form",
    "FormVersion",
    "Item",
    "Link",
    "LinkStatus",
    "Submission",
    "WorklistTask",
    "hash_token",
    "new_reference",
]
