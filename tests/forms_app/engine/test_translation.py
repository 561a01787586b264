"""Form versions carry their own translations: FHIR's translation extension on "_text"."""

import copy

from forms_app.engine import compile_definition
from forms_app.engine.translation import languages, translate_definition, translation
from tests.factories.forms_app import bilingual_definition, welsh


def test_translated_form_reads_in_welsh_with_the_same_structure():
    definition = bilingual_definition()
    original = copy.deepcopy(definition)
    english = compile_definition(definition)
    cymraeg = english.translated("cy")

    assert definition == original  # pure: the version's definition is untouched
    assert cymraeg.title == "Teithio a chyrraedd"
    assert cymraeg.page_keys == english.page_keys
    assert cymraeg.items["how"].text == "Sut byddwch yn teithio i'r ysbyty?"
    assert [o.display for o in cymraeg.items["how"].options] == ["Car", "Bws"]
    assert [o.code for o in cymraeg.items["how"].options] == ["car", "bus"]
    assert cymraeg.items["intro"].text.startswith("Rydym yn gofyn")
    assert cymraeg.items["arrival"].help_text == "Er enghraifft, 1 6 2030"
    form = cymraeg.form_class("travel")(data={"travel-how": "bus"}, prefix="travel")
    assert form.fields["how"].label == "Sut byddwch yn teithio i'r ysbyty?"
    assert form.is_valid() and form.cleaned_data["how"] == "bus"

    # The same answers in both languages: only the words differ.
    answers = {"how": "bus", "arrival": "2030-06-01T09:30:00+01:00"}
    assert english.summary(answers)[0].rows[0].answer == "Bus"
    assert cymraeg.summary(answers)[0].rows[0].answer == "Bws"
    assert cymraeg.evaluate(answers) == english.evaluate(answers)
    coding = cymraeg.response_items(answers)[0]["item"][0]["answer"][0]["valueCoding"]
    assert coding["code"] == "bus"  # the record is filed from the untranslated version


def test_languages_match_by_primary_subtag_and_are_compiled_once():
    compiled = compile_definition(bilingual_definition())
    assert compiled.languages == {"cy"}
    assert compiled.translated("cy-GB").title == "Teithio a chyrraedd"
    assert compiled.translated("cy") is compiled.translated("cy")


def test_untranslated_languages_and_forms_fall_back_to_the_original():
    compiled = compile_definition(bilingual_definition())
    assert compiled.translated("pl") is compiled
    assert compiled.translated("en-gb") is compiled
    assert compiled.translated(None) is compiled
    plain = {"resourceType": "Questionnaire", "status": "active", "title": "Plain",
             "item": [{"linkId": "a", "type": "string", "text": "Name?"}]}
    assert compile_definition(plain).translated("cy").title == "Plain"


def test_a_missing_or_malformed_translation_keeps_the_original_text():
    definition = bilingual_definition()
    definition["item"][1]["_text"] = {"extension": [
        {"url": "http://hl7.org/fhir/StructureDefinition/translation", "extension": [
            {"url": "lang", "valueCode": "cy"}, {"url": "content", "valueString": "   "}]},
        {"url": "http://example.org/other", "valueString": "ignored"},
        "not an extension",
    ]}
    translated = translate_definition(definition, "cy")
    assert translated["item"][1]["text"] == "When will you arrive?"
    assert translation(None, "cy") is None
    assert translation(welsh("Helo"), "CY") == "Helo"
    assert languages(definition) == {"cy"}
