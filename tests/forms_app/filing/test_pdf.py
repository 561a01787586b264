import io

from pypdf import PdfReader

from forms_app.filing.pdf import submission_pdf
from forms_app.selectors import compiled_version
from tests.factories.forms_app import phq9_answers, submitted


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_shows_the_form_version_language_questions_and_answers(clinic):
    user, team, patient, version = clinic
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers())
    data = submission_pdf(submission, compiled_version(version))

    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert version.title in text
    assert "Form version" in text and "1 (published" in text
    assert "Language" in text and "en-gb" in text
    assert submission.reference in text
    assert patient.family_name in text
    for page in compiled_version(version).summary(submission.answers):
        for row in page.rows:
            assert row.question.split()[0] in text
            assert row.answer in text


def test_pdf_is_the_same_document_every_time(clinic):
    user, team, patient, version = clinic
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers())
    compiled = compiled_version(version)
    assert submission_pdf(submission, compiled) == submission_pdf(submission, compiled)


def test_emoji_and_non_latin_text_do_not_crash_it(clinic):
    user, team, patient, version = clinic
    patient.given_name = "Zoë Ølga Αλεξάνδρα Татьяна 王秀英 👩🏽‍⚕️"
    patient.save(update_fields=["given_name"])
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers())
    text = " ".join(pdf_text(submission_pdf(submission, compiled_version(version))).split())
    assert "Zoë Ølga Αλεξάνδρα Татьяна" in text
    # Characters the font cannot draw are named, not lost.
    assert "[cjk unified ideograph-738b][cjk unified ideograph-79c0]" in text
    assert "[woman][emoji modifier fitzpatrick type-4]⚕" in text
