"""Property-based tests: hidden questions are never required; totals add up."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_app.engine import compile_definition

from .helpers import choice, group, library, question, questionnaire

QUICK = settings(
    database=None, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
CODES = ("a", "b", "c")
KINDS = ("boolean", "choice", "integer")


def condition_on(link_id: str, kind: str):
    if kind == "boolean":
        return st.builds(
            lambda op, value: {"question": link_id, "operator": op, "answerBoolean": value},
            st.sampled_from(["=", "!="]),
            st.booleans(),
        )
    if kind == "choice":
        return st.builds(
            lambda op, code: {"question": link_id, "operator": op, "answerCoding": {"code": code}},
            st.sampled_from(["=", "!="]),
            st.sampled_from(CODES),
        )
    return st.one_of(
        st.builds(
            lambda op, value: {"question": link_id, "operator": op, "answerInteger": value},
            st.sampled_from(["=", "!=", ">", "<", ">=", "<="]),
            st.integers(-3, 3),
        ),
        st.builds(
            lambda value: {"question": link_id, "operator": "exists", "answerBoolean": value},
            st.booleans(),
        ),
    )


@st.composite
def conditional_forms(draw):
    """Two pages of yes/no, choice and whole-number questions, many gated on earlier ones."""
    specs, items = [], []
    for index in range(draw(st.integers(2, 7))):
        link_id, kind = f"q{index}", draw(st.sampled_from(KINDS))
        extra = {"required": draw(st.booleans())}
        if specs and draw(st.booleans()):
            extra["enableWhen"] = [draw(condition_on(*draw(st.sampled_from(specs))))]
        items.append(
            choice(link_id, *CODES, **extra)
            if kind == "choice"
            else question(link_id, kind, **extra)
        )
        specs.append((link_id, kind))
    split = draw(st.integers(1, len(items) - 1))
    definition = questionnaire(group("p1", *items[:split]), group("p2", *items[split:]))
    return compile_definition(definition), specs


def answer_for(kind: str):
    if kind == "boolean":
        return st.booleans()
    if kind == "choice":
        return st.sampled_from(CODES)
    return st.integers(-3, 3)


def as_post(kind: str, value):
    if kind == "boolean":
        return "yes" if value else "no"
    return str(value)


@st.composite
def form_and_answers(draw):
    compiled_form, specs = draw(conditional_forms())
    answers = {link_id: draw(st.one_of(st.none(), answer_for(kind))) for link_id, kind in specs}
    return compiled_form, specs, answers


@QUICK
@given(form_and_answers(), st.sampled_from(["p1", "p2"]))
def test_hidden_questions_are_never_required(case, page_key):
    compiled_form, specs, answers = case
    kinds = dict(specs)
    page_ids = [q.link_id for q in compiled_form.page(page_key).questions]
    earlier = {k: v for k, v in answers.items() if k not in page_ids and v is not None}
    data = {k: as_post(kinds[k], v) for k, v in answers.items() if k in page_ids and v is not None}
    form = compiled_form.form_class(page_key, answers=earlier)(data=data)
    form.is_valid()
    merged = {**earlier, **{k: v for k, v in form.cleaned_data.items() if v is not None}}
    enabled = compiled_form.enabled_link_ids(merged)
    for name in form.errors:
        assert name in enabled, f"hidden question {name} has an error"
    # Questions with no field were hidden by earlier pages' answers.
    for link_id in set(page_ids) - set(form.fields):
        assert link_id not in enabled


@QUICK
@given(form_and_answers(), st.sampled_from(["p1", "p2"]))
def test_answering_every_shown_question_is_enough(case, page_key):
    compiled_form, specs, answers = case
    kinds = dict(specs)
    page_ids = {q.link_id for q in compiled_form.page(page_key).questions}
    earlier = {k: v for k, v in answers.items() if k not in page_ids and v is not None}
    full = {
        k: (
            v
            if v is not None
            else (True if kinds[k] == "boolean" else "a" if kinds[k] == "choice" else 0)
        )
        for k, v in answers.items()
        if k in page_ids
    }
    data = {k: as_post(kinds[k], v) for k, v in full.items()}
    form = compiled_form.form_class(page_key, answers=earlier)(data=data)
    assert form.is_valid(), form.errors
    pruned = compiled_form.prune({**earlier, **form.cleaned_data})
    assert set(pruned) <= compiled_form.enabled_link_ids(pruned)


@QUICK
@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 10), min_size=2, max_size=4), st.booleans(), st.data()),
        min_size=1,
        max_size=6,
    )
)
def test_total_is_the_sum_of_chosen_scores(questions):
    items, answers, expected = [], {}, Decimal(0)
    for index, (scores, multiple, data) in enumerate(questions):
        codes = [f"o{n}" for n in range(len(scores))]
        link_id = f"q{index}"
        items.append(choice(link_id, *codes, scores=scores, repeats=multiple))
        chosen = (
            data.draw(st.lists(st.sampled_from(codes), unique=True))
            if multiple
            else [data.draw(st.sampled_from(codes))]
        )
        if chosen:
            answers[link_id] = [c for c in codes if c in chosen] if multiple else chosen[0]
            expected += sum(Decimal(scores[codes.index(c)]) for c in chosen)
    total = question(
        "total",
        "integer",
        readOnly=True,
        extension=[
            {
                "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                "sdc-questionnaire-calculatedExpression",
                "valueExpression": {
                    "language": "text/fhirpath",
                    "expression": "%resource.repeat(item).answer.value.ordinal().sum()",
                },
            }
        ],
    )
    compiled_form = compile_definition(questionnaire(*items, total))
    assert compiled_form.evaluate(answers).scores == {"total": int(expected)}


PHQ9 = compile_definition(library("phq9"))
PHQ9_SCORES = {o.code: int(o.score) for o in PHQ9.items["phq9-1"].options}


@QUICK
@given(st.lists(st.sampled_from(sorted(PHQ9_SCORES)), min_size=9, max_size=9))
def test_phq9_total_band_and_flag(codes):
    evaluation = PHQ9.evaluate({f"phq9-{n}": code for n, code in enumerate(codes, start=1)})
    total = sum(PHQ9_SCORES[code] for code in codes)
    assert evaluation.scores == {"phq9-total": total}
    bands = [
        (4, "Minimal"),
        (9, "Mild"),
        (14, "Moderate"),
        (19, "Moderately severe"),
        (27, "Severe"),
    ]
    assert evaluation.bands["phq9-total"] == next(label for top, label in bands if total <= top)
    assert bool(evaluation.flags) is (PHQ9_SCORES[codes[8]] > 0)
