"""A small installation to attack: two organisations, three care teams, a patient of one
team with a submitted, filed form, and a staff user in every position.

`build_world()` returns a World; its `markers` are strings that appear only in the
patient's data (name, NHS number, an answer, the submission reference), so a page that
shows any of them shows patient data.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.models import Permission
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from forms_app import services
from forms_app.models import Form, Item, Link, RetentionPolicy, Submission
from patients.models import AuditEvent, CareTeam, Organisation, Patient, RecordEntry
from tests.factories.forms_app import FormFactory, ItemFactory
from tests.factories.patients import (
    CareTeamFactory,
    OrganisationFactory,
    PatientFactory,
    UserFactory,
)

ANSWER_MARKER = "Answer-marker-7731"
FAMILY_NAME_MARKER = "Quixotic-Zebedee"


@dataclass
class World:
    organisation: Organisation
    team: CareTeam
    other_team: CareTeam
    other_organisation: Organisation
    foreign_team: CareTeam
    patient: Patient
    form: Form
    item: Item
    link: Link
    token: str
    submission: Submission
    record_entry: RecordEntry
    audit_event: AuditEvent
    retention: RetentionPolicy
    users: dict = field(default_factory=dict)

    @property
    def markers(self) -> list[str]:
        nhs = self.patient.nhs_number
        # Staff pages show NHS numbers as 943 476 5919: a leak in either form counts.
        return [FAMILY_NAME_MARKER, nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", ANSWER_MARKER,
                self.submission.reference]


def grant_all_model_permissions(user):
    """Every add/change/delete/view permission of the project's apps: scoping, not a
    missing permission, must be what keeps another team out."""
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["patients", "forms_app"]))


def verified(client, user):
    """Log `user` in with a verified second factor (a confirmed backup-code device)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes",
                                                   defaults={"confirmed": True})
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def build_world() -> World:
    organisation = OrganisationFactory(name="Northshire Hospitals")
    team = CareTeamFactory(organisation=organisation, name="Pre-assessment")
    other_team = CareTeamFactory(organisation=organisation, name="Dermatology")
    other_organisation = OrganisationFactory(name="Southshire Hospitals")
    foreign_team = CareTeamFactory(organisation=other_organisation, name="Cardiology")

    # No passwords (hashing is slow and these users sign in with force_login).
    users = {
        "right_team": UserFactory(username="right.team", password=None),
        "unverified": UserFactory(username="password.only", password=None),
        "other_team": UserFactory(username="other.team", password=None),
        "other_organisation": UserFactory(username="other.organisation", password=None),
        "superuser": UserFactory(username="platform.admin", is_superuser=True,
                                 password=None),
    }
    team.members.add(users["right_team"], users["unverified"])
    other_team.members.add(users["other_team"])
    foreign_team.members.add(users["other_organisation"])
    # The other organisation's user also administers it: still nothing of ours.
    other_organisation.administrators.add(users["other_organisation"])
    for name in ("right_team", "unverified", "other_team", "other_organisation"):
        grant_all_model_permissions(users[name])
    StaticDevice.objects.create(user=users["unverified"], name="Backup codes", confirmed=True)
    TOTPDevice.objects.create(user=users["right_team"], name="Authenticator app")

    patient = PatientFactory(organisation=organisation, family_name=FAMILY_NAME_MARKER,
                             care_teams=[team], date_of_birth=datetime.date(1970, 1, 2))
    form = FormFactory(organisation=organisation, title="Knee questionnaire")
    page = ItemFactory(form=form, link_id="page", text="Your knee", type=Item.Type.GROUP)
    item = ItemFactory(form=form, parent=page, link_id="notes", text="Anything else?",
                       type=Item.Type.TEXT)
    version = services.publish_form(form=form, by=users["right_team"])
    issued = services.issue_link(version=version, patient=patient, care_team=team,
                                 by=users["right_team"])
    services.verify_identity(link_id=issued.link.pk, date_of_birth=patient.date_of_birth)
    submission = Submission.objects.get(link=issued.link)
    services.submit(submission_id=submission.pk, answers={"notes": ANSWER_MARKER})
    entry = services.file_submission(submission_id=submission.pk)
    submission.refresh_from_db()
    return World(
        organisation=organisation, team=team, other_team=other_team,
        other_organisation=other_organisation, foreign_team=foreign_team, patient=patient,
        form=form, item=item, link=issued.link, token=issued.token, submission=submission,
        record_entry=entry, audit_event=AuditEvent.objects.filter(patient=patient).first(),
        retention=RetentionPolicy.objects.create(form=form, days_after_filing=365),
        users=users,
    )
