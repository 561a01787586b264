"""Required groups (forms_app/engine/groups.py): FHIR's required on a group means at
least one of its questions answered; never a trap for the patient."""

from django.core.exceptions import NON_FIELD_ERRORS

from tests.forms_app.engine.helpers import bound, compiled, group, question, std_ext, when

HIDDEN = std_ext("questionnaire-hidden", valueBoolean=True)
MESSAGE = "Answer at least one question in how we can contact you"


def _contact(*items, **extra):
    return group("contact", question("mobile", "string"), question("email", "string"),
                 *items, text="How we can contact you", required=True, **extra)


def test_a_required_page_needs_one_of_its_questions_answered():
    form = compiled(_contact())
    blank = bound(form, "contact", {}, answers={})
    assert not blank.is_valid()
    assert [str(e) for e in blank.errors[NON_FIELD_ERRORS]] == [MESSAGE]
    assert blank.engine_group_errors == {"contact": MESSAGE}
    assert blank.group_error_target(MESSAGE) == "id_mobile"
    assert bound(form, "contact", {"email": "sal@example.com"}, answers={}).is_valid()


def test_a_required_group_inside_a_page_names_that_group():
    form = compiled(group("page", question("name", "string", required=True),
                          group("contact", question("mobile", "string"),
                                text="Your phone numbers", required=True)))
    blank = bound(form, "page", {"name": "Sal"}, answers={})
    assert blank.engine_group_errors == {
        "contact": "Answer at least one question in your phone numbers"}


def test_a_hidden_group_is_never_required():
    form = compiled(group("page", question("name", "string"),
                          _contact(extension=[HIDDEN])))
    assert bound(form, "page", {}, answers={}).is_valid()


def test_a_group_hidden_by_an_earlier_answer_is_not_required():
    form = compiled(
        group("p1", question("contact-ok", "boolean", required=True)),
        _contact(enableWhen=[when("contact-ok", "=", answerBoolean=True)]))
    answers = {"contact-ok": False}
    assert form.enabled_page_keys(answers) == ["p1"]
    # Even asked for directly, the page's form does not insist.
    assert bound(form, "contact", {}, answers=answers).is_valid()


def test_a_group_whose_questions_are_all_hidden_on_the_page_is_not_required():
    """Same-page conditions: the only questions of the group are shown by an answer
    the patient did not give, so there is nothing they could answer."""
    form = compiled(group(
        "page", question("phone-ok", "boolean", required=True),
        group("numbers", question("mobile", "string",
                                  enableWhen=[when("phone-ok", "=", answerBoolean=True)]),
              text="Your numbers", required=True)))
    assert bound(form, "page", {"phone-ok": "no"}, answers={}).is_valid()
    shown = bound(form, "page", {"phone-ok": "yes"}, answers={})
    assert shown.engine_group_errors == {"numbers": "Answer at least one question in your numbers"}


def test_an_answer_with_its_own_error_gets_that_error_only():
    form = compiled(group("contact", question("age", "integer"), text="Contact",
                          required=True))
    wrong = bound(form, "contact", {"age": "lots"}, answers={})
    assert set(wrong.errors) == {"age"}
    assert wrong.engine_group_errors == {}


def test_a_display_item_is_never_required():
    form = compiled(group("page", question("name", "string"),
                          {"linkId": "note", "type": "display", "text": "Hi",
                           "required": True}))
    assert not form.items["note"].required
    assert bound(form, "page", {}, answers={}).is_valid()


def test_the_message_is_welsh_on_a_welsh_page():
    from django.utils import translation

    form = compiled(_contact())
    with translation.override("cy"):
        blank = bound(form, "contact", {}, answers={})
        assert str(blank.errors[NON_FIELD_ERRORS][0]) == \
            "Atebwch o leiaf un cwestiwn yn how we can contact you"
