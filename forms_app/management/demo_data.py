"""The demo: one trust, one clinic team, one clinician, one patient and a two-page form.

Used by `manage.py demo` (the README's first command) and by the tests, so the demo
shown to a newcomer is exactly what the journey test completes.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from forms_app import services
from forms_app.models import AnswerOption, Form, Item
from patients.models import CareTeam, Organisation, Patient

DEMO_USERNAME = "demo.clinician"
# A fixed password is acceptable only because the demo refuses to run in production.
DEMO_PASSWORD = "demo-clinician-2fa-please"  # noqa: S105
DEMO_PATIENT_DOB = datetime.date(1984, 3, 15)
DEMO_NHS_NUMBER = "9434765919"

DEMO_FORM_TITLE = "Pre-clinic health questionnaire"

# (page link id, page title, [(link id, type, text, required, options)])
DEMO_PAGES = [
    ("about-you", "About you", [
        ("preferred-name", Item.Type.STRING, "What name would you like us to call you?",
         False, []),
        ("height-cm", Item.Type.INTEGER, "What is your height in centimetres?", True, []),
        ("weight-kg", Item.Type.DECIMAL, "What is your weight in kilograms?", True, []),
        ("last-illness", Item.Type.DATE, "When were you last unwell?", False, []),
    ]),
    ("your-health", "Your health", [
        ("smoker", Item.Type.BOOLEAN, "Do you smoke?", True, []),
        ("general-health", Item.Type.CHOICE, "How is your health in general?", True, [
            ("excellent", "Excellent"), ("good", "Good"), ("fair", "Fair"), ("poor", "Poor"),
        ]),
        ("symptoms", Item.Type.MULTIPLE_CHOICE,
         "Have you had any of these in the last month?", False, [
             ("breathless", "Shortness of breath"), ("chest-pain", "Chest pain"),
             ("dizzy", "Dizziness"),
         ]),
    ]),
    ("anything-else", "Anything else", [
        ("notes", Item.Type.TEXT, "Is there anything else you want the clinic to know?",
         False, []),
    ]),
]


def build_demo_form(organisation) -> Form:
    form = Form.objects.create(
        organisation=organisation, title=DEMO_FORM_TITLE,
        description="Please answer these questions before your appointment.")
    for page_position, (page_id, page_title, questions) in enumerate(DEMO_PAGES):
        page = Item.objects.create(form=form, link_id=page_id, text=page_title,
                                   type=Item.Type.GROUP, position=page_position)
        for position, (link_id, item_type, text, required, options) in enumerate(questions):
            item = Item.objects.create(form=form, parent=page, link_id=link_id, text=text,
                                       type=item_type, required=required, position=position)
            AnswerOption.objects.bulk_create(
                AnswerOption(item=item, position=i, code=code, display=display)
                for i, (code, display) in enumerate(options))
    return form


@transaction.atomic
def ensure_demo():
    """Create what is missing and return (user, patient, team, version); idempotent."""
    organisation, _ = Organisation.objects.get_or_create(
        ods_code="RDEMO", defaults={"name": "Demo Teaching Hospitals NHS Foundation Trust"})
    team, _ = CareTeam.objects.get_or_create(organisation=organisation,
                                             name="Pre-assessment clinic")
    user_model = get_user_model()
    user = user_model.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = user_model.objects.create_superuser(
            username=DEMO_USERNAME, email="demo.clinician@example.nhs.uk",
            password=DEMO_PASSWORD)
    team.members.add(user)
    patient, _ = Patient.objects.get_or_create(
        organisation=organisation, nhs_number=DEMO_NHS_NUMBER,
        defaults={"given_name": "Sarah", "family_name": "Demo",
                  "date_of_birth": DEMO_PATIENT_DOB, "mobile": "07700900123",
                  "email": "sarah.demo@example.com"})
    patient.care_teams.add(team)
    form = Form.objects.filter(organisation=organisation, title=DEMO_FORM_TITLE).first()
    if form is None:
        form = build_demo_form(organisation)
    version = form.latest_version or services.publish_form(
        form=form, by=user, change_note="First version")
    return user, patient, team, version
