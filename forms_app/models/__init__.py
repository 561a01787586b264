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
from forms_app.models.design import (
    FlagCondition,
    FlagRule,
    ItemCondition,
    Operator,
    ScoreBand,
)

__all__ = [
    "AnswerOption",
    "FlagCondition",
    "FlagRule",
    "Form",
    "FormVersion",
    "Item",
    "ItemCondition",
    "Link",
    "LinkStatus",
    "Operator",
    "ScoreBand",
    "Submission",
    "hash_token",
    "new_reference",
]
