"""A corpus of Questionnaires written in the shape of published clinical forms.

Each file in ``questionnaires/`` uses features the way the HL7 examples, the SDC
implementation guide, LHC-Forms and CSIRO Smart Forms use them (itemWeight on answer
options and on contained ValueSet concepts, SDC calculatedExpression, variable,
enableWhenExpression, initialExpression with a launch context, targetConstraint,
enableWhen on the same page, hidden totals, repeats, nested items, attachments,
answerExpression from the form's own answers); none
is a copy of a published file. ``CASES`` says, per form, what a patient answers page by
page and what the instrument's published scoring gives for those answers, or why the
form cannot yet be published as its author wrote it.
"""

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

QUESTIONNAIRES = Path(__file__).parent / "questionnaires"


def load(name: str) -> dict:
    return json.loads((QUESTIONNAIRES / f"{name}.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Case:
    name: str
    # (page, {field: value}) in the order the patient sees them; values as a browser posts.
    pages: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    bands: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    # linkIds that must be answered in the filed QuestionnaireResponse, and ones that
    # must not be there (hidden by a condition, or hidden items).
    filed: tuple = ()
    not_filed: tuple = ()
    # Why the form cannot be published as written (an import note that changes
    # clinical meaning blocks publishing); None when it goes through end to end.
    blocked: str | None = None


# The smallest file that is a JPEG by its first bytes (what the platform checks).
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(64) + b"\xff\xd9"

PHQ9_CODES = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8"]
FREQUENCY = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


def _scored(prefix_ids, scores, codes=FREQUENCY):
    return {link_id: codes[score] for link_id, score in zip(prefix_ids, scores, strict=True)}


CASES = [
    Case("phq9-sdc",
         pages=[("phq9", _scored([f"/{c}" for c in PHQ9_CODES], [1, 2, 0, 3, 1, 0, 2, 1, 1]))],
         scores={"/44261-6": 11}, bands={"/44261-6": "Moderate"}, flags=["phq9-self-harm"],
         filed=("/44260-8", "/44261-6")),
    Case("gad7-valueset",
         pages=[("gad7", _scored([f"gad7-{n}" for n in range(1, 8)], [1, 1, 2, 0, 3, 1, 2]))],
         scores={"gad7-total": 10}, bands={"gad7-total": "Moderate"}, filed=("gad7-total",)),
    # The total as a quantity with no unit, as the SDC implementation guide's PHQ-9 has it.
    Case("gad2-quantity-total",
         pages=[("gad2", {"gad2-1": "several-days", "gad2-2": "nearly-every-day"})],
         scores={"gad2-total": "4"}, filed=("gad2-1", "gad2-2", "gad2-total")),
    Case("bmi-variables", pages=[("body", {"weight": "72.5", "height": "180"})],
         scores={"bmi": "22.4"}, bands={"bmi": "Healthy weight"}, filed=("bmi",)),
    Case("apgar",
         pages=[("apgar", {"colour": "colour-1", "pulse": "pulse-2", "grimace": "grimace-2",
                           "tone": "tone-2", "breathing": "breathing-1"})],
         scores={"apgar-total": 8}, bands={"apgar-total": "Reassuring"}),
    Case("gcs", pages=[("gcs", {"eye": "eye-3", "verbal": "verbal-4", "motor": "motor-5"})],
         scores={"gcs-total": 12}),
    Case("smoking-same-page",
         pages=[("habits", {"smoke": "yes", "per-day": "10", "quit": "no"}),
                ("more", {"notes": ""})],
         filed=("smoke", "per-day", "quit")),
    Case("enable-when-expression",
         pages=[("about", {"sex": "male", "age": "40"}),
                ("scan", {"claustrophobic": "no"})],
         filed=("sex", "age", "claustrophobic"), not_filed=("pregnant",)),
    Case("contact-constraints",
         pages=[("contact", {"postcode": "ls1 4ap", "phone": "07700 900982",
                             "email": "sal@example.com"})],
         filed=("postcode", "phone", "email")),
    Case("demographics-initial",
         pages=[("details", {"family": "Jones", "dob_day": "15", "dob_month": "3",
                             "dob_year": "1984"})],
         scores={"age": dt.date.today().year - 1984}, filed=("family", "dob", "age")),
    Case("audit-c",
         pages=[("alcohol", {"audit-1": "2-3w", "audit-2": "3-4", "audit-3": "monthly"})],
         scores={"audit-c-total": 6}, flags=["audit-c-positive"]),
    Case("phq2-hidden-total",
         pages=[("phq2", {"phq2-1": FREQUENCY[2], "phq2-2": FREQUENCY[1]})],
         scores={"phq2-total": 3}, flags=["phq2-positive"], filed=("phq2-total",)),
    Case("referral-long",
         pages=[("you", {"preferred-name": "Sal", "first-language": "__other__",
                         "first-language_other": "Cymraeg", "interpreter": "no"}),
                ("problem", {"area": "22943007", "started_day": "1", "started_month": "9",
                             "started_year": "2026", "pain": "6",
                             "symptoms": ["bladder"]}),
                ("back", {"leg-pain": "yes"}),
                ("work", {"working": "no", "more": "I use a stick."})],
         flags=["msk-red-flag"], filed=("leg-pain", "symptoms", "started"),
         not_filed=("job", "hours-lost")),
    Case("controls", pages=[("prefs", {"channels": ["sms", "letter"], "best-time": "Evening"})],
         filed=("channels", "best-time")),
    # Two relatives, the first with two conditions: a repeating group in a repeating group.
    Case("family-history-repeats",
         pages=[("relative", {
             "relative~n": "2", "relative~0~relation": "Mother",
             "relative~0~condition~n": "2",
             "relative~0~condition~0~condition-name": "Type 2 diabetes",
             "relative~0~condition~0~age-at-diagnosis": "52",
             "relative~0~condition~1~condition-name": "High blood pressure",
             "relative~1~relation": "Brother", "relative~1~condition~n": "1",
             "relative~1~condition~0~condition-name": "Asthma"})],
         filed=("relation", "condition-name", "age-at-diagnosis")),
    # Per-relative FHIRPath (SDC: each instance its own %context): the mother, who died
    # at 61, had breast cancer found at 38 (8 points, and the genetic-test question an
    # enableWhenExpression asks of her only); the sister's bowel cancer at 47 gives 6 and
    # the question again; the father never had cancer, so neither his cancer questions
    # nor his points are asked or filed. 8 + 6 = 14: over the referral threshold of 10.
    Case("family-cancer-per-relative",
         pages=[("relative", {
             "relative~n": "3",
             "relative~0~relation": "MTH", "relative~0~living": "no",
             "relative~0~age-at-death": "61", "relative~0~had-cancer": "yes",
             "relative~0~cancer-type": "254837009", "relative~0~cancer-age": "38",
             "relative~0~genetic-test": "no",
             "relative~1~relation": "FTH", "relative~1~living": "yes",
             "relative~1~had-cancer": "no",
             "relative~2~relation": "SIS", "relative~2~living": "yes",
             "relative~2~had-cancer": "yes", "relative~2~cancer-type": "363406005",
             "relative~2~cancer-age": "47", "relative~2~genetic-test": "yes"})],
         scores={"family-score": 14},
         bands={"family-score": "Consider referral to clinical genetics"},
         flags=["genetics-referral"],
         filed=("relation", "age-at-death", "cancer-type", "cancer-age", "points",
                "genetic-test", "family-score")),
    # A long list to type into (autocomplete), a required group (one way to contact the
    # patient, one condition ticked or described), choices side by side and stacked.
    Case("gp-registration-controls",
         pages=[("about", {"country-of-birth": "PL", "main-language": "Polish"}),
                ("contact", {"email": "sal@example.com"}),
                ("health", {"general-health": "LA8969-3", "smoke": "no",
                            "conditions": ["195967001"]})],
         filed=("country-of-birth", "main-language", "email", "general-health", "smoke",
                "conditions"),
         not_filed=("mobile", "home-phone", "conditions-other")),
    Case("allergy-nested", pages=[("allergies", {"has-allergy": "yes",
                                                 "allergy-detail": "Penicillin"})],
         filed=("has-allergy", "allergy-detail")),
    Case("wound-photo-attachment",
         pages=[("wound", {"healing": "Better", "photo": ("wound.jpg", JPEG)})],
         filed=("healing", "photo")),
    # The options of "stopped" come from the patient's record by an answerExpression
    # (%patient), which the platform does not evaluate for choices: offering the fixed
    # fallback list instead would ask about medicines the patient may not take.
    Case("medication-answer-expression",
         blocked="answer options from the patient's record (answerExpression on %patient) "
                 "are not supported"),
    # answerExpression from the form itself: the medicines named on the first page are
    # the options of "most trouble" (valueString), the conditions chosen there those of
    # "worst condition" (valueCoding, through a variable).
    Case("medicines-answer-expression",
         pages=[("taking", {"medicines~n": "2", "medicines~0": "Ramipril",
                            "medicines~1": "Metformin",
                            "conditions": ["38341003", "44054006"]}),
                ("trouble", {"most-trouble": "Metformin", "worst-condition": "44054006",
                             "side-effects": "Upset stomach"})],
         filed=("medicines", "conditions", "most-trouble", "worst-condition")),
]
