"""The form engine: interprets a published form version's FHIR R4 Questionnaire.

Pure Python and Django forms; no database, no models, no imports from the rest of
the project. ``compile_definition(definition)`` checks and compiles a Questionnaire
once (callers cache the result per version); the CompiledForm then gives pages,
per-page ``django.forms.Form`` classes, visibility (enableWhen), pruning, the "check
your answers" summary, scores, bands and flags, and QuestionnaireResponse items.

Beyond the callers' core interface, a CompiledForm also offers ``items`` (linkId ->
Item), ``page(key)``, ``is_enabled(link_id, answers)``, ``enabled_link_ids(answers)``
and ``visible_items(page_key, answers)`` (questions, display text and sub-groups to
render on a page).

Pages
    Each top-level item is a page: a group holds its children (nested groups are
    flattened into the page), any other item is a page of its own. A top-level item
    with nothing for the patient (e.g. a calculated total) is not a page.

Answers
    A ``{linkId: value}`` dict of JSON-safe values; see ``answers`` for the shape per
    type. A repeating group's value is a list of instances (each such a dict, nested
    repeats included), a repeating question's a list of values (see ``repeats``).
    Each instance decides its own conditions (enableWhen on a question of the same
    instance first, then the enclosing ones and the form).
    ``initial[x]`` (the first; every one for a repeating question) and
    ``answerOption.initialSelected`` pre-fill a question's field (``Item.initial``);
    one that does not fit the question is ignored.

Standard extensions read
    questionnaire-itemControl (drop-down, radio-button, help, flyover), minValue,
    maxValue, minLength, regex, maxDecimalPlaces, questionnaire-unit, ordinalValue,
    itemWeight (on answerOption or its Coding, or on a contained ValueSet concept),
    questionnaire-hidden, questionnaire-optionExclusive, questionnaire-minOccurs and
    questionnaire-maxOccurs (on repeating items), and the SDC FHIRPath extensions
    (variable, calculatedExpression, enableWhenExpression, initialExpression,
    targetConstraint; see ``rules`` and ``fhirpath``). Inside a repeating group they
    are evaluated per instance, ``%context`` being the item in that instance, and a
    calculated item's value is kept in each instance (see ``evaluation``).
    SDC answerExpression on a choice question, when it reads only the form's own
    answers: its options are worked out from the answers on earlier pages (see
    ``answer_expressions``).

Our extensions (base ``https://fhir.patient-forms.nhs.uk/StructureDefinition/``)
    input-format      valueCode on a string item: "email", "uk-phone" (stored in
                      national form, e.g. "07700900982") or "nhs-number" (Modulus 11
                      checked, stored as 10 digits).
    short-label       valueString, the answer's name in error messages, as it reads
                      mid-sentence: "your weight" gives "Enter your weight" and
                      "Your weight must be 300 or less".
    required-message  valueString, the whole message for a missing answer, e.g.
                      "Select whether you smoke".
    regex-message     valueString, the message when the regex extension fails.
    not-in-future     valueBoolean on a date or dateTime item.
    help-text         valueString, hint text (as an alternative to a display child
                      item with itemControl "help").
    other-label       valueString on an open-choice item: the label of its "Other"
                      option (default "Other").
    computed          valueString on an integer or decimal item: arithmetic over
                      other items, e.g. ``round(weight / (height / 100) ^ 2, 1)``;
                      grammar in ``expressions``. The item is hidden from patients.
    score-band        complex, repeated, on an integer or decimal item (usually a
                      score): parts ``min`` and ``max`` (valueInteger/valueDecimal,
                      inclusive, either may be left out) and ``label`` (valueString).
                      Bands must not overlap.
    flag-rule         complex, repeated, on the Questionnaire or on an item (then it
                      applies only while the item is enabled): parts ``code``
                      (valueCode), ``severity`` (valueCode "urgent" or "routine"),
                      ``message`` (valueString, for staff), ``enableBehavior``
                      (valueCode "all"/"any", needed with several conditions) and one
                      or more ``condition`` parts, each with ``question``
                      (valueString linkId, which may name a calculated score),
                      ``operator`` (valueCode, as enableWhen) and ``answer``
                      (value[x], as enableWhen's answer[x]).
"""

from .compiled import CompiledForm, compile_definition
from .errors import DefinitionError
from .items import Item, Option, Page, Question
from .nhs_number import is_valid_nhs_number, normalise_nhs_number
from .scoring import Evaluation, Flag
from .summary import SummaryPage, SummaryRow
from .widgets import DatePartsWidget, DateTimePartsWidget, OpenChoiceWidget

__all__ = [
    "CompiledForm",
    "DatePartsWidget",
    "DateTimePartsWidget",
    "DefinitionError",
    "Evaluation",
    "Flag",
    "Item",
    "OpenChoiceWidget",
    "Option",
    "Page",
    "Question",
    "SummaryPage",
    "SummaryRow",
    "compile_definition",
    "is_valid_nhs_number",
    "normalise_nhs_number",
]
