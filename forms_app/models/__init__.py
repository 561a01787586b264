"""The forms app's models, one module per area; every model is re-exported here."""

from forms_app.models.api import ApiClient, IdempotencyKey
from forms_app.models.attachments import SubmissionFile
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
from forms_app.models.design import (
    FlagCondition,
    FlagRule,
    ItemCondition,
    Operator,
    ScoreBand,
)
from forms_app.models.filing import WorklistTask
from forms_app.models.retention import RetentionPolicy
from forms_app.models.whiteboard import Appointment

__all__ = [
    "AnswerOption",
    "ApiClient",
    "Appointment",
    "ClinicList",
    "ClinicListRow",
    "DeliveryAttempt",
    "FlagCondition",
    "FlagRule",
    "Form",
    "FormVersion",
    "IdempotencyKey",
    "Item",
    "ItemCondition",
    "Link",
    "LinkSecret",
    "LinkStatus",
    "MessageTemplate",
    "OneTimeCode",
    "Operator",
    "RetentionPolicy",
    "ScoreBand",
    "Submission",
    "SubmissionFile",
    "WorklistTask",
    "hash_token",
    "new_reference",
]
