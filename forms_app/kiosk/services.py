"""Write operations of kiosk mode (see the package docstring)."""

from django.db import transaction

from forms_app import services
from forms_app.models import Form, FormVersion, Link, Submission
from patients.models import AuditEvent, CareTeam, Patient
from patients.services import record_audit


class KioskError(services.ServiceError):
    pass


@transaction.atomic
def start_kiosk_session(*, patient: Patient, version: FormVersion, care_team: CareTeam,
                        by) -> Link:
    """Issue a link for the patient in front of ``by`` and confirm their identity in person.

    Everything is checked against ``by``'s care teams (the one scoping rule): a patient,
    form or team outside them is refused. Returns the link, whose submission exists.
    """
    if not CareTeam.objects.of_user(by).filter(pk=care_team.pk).exists():
        raise KioskError("You are not a member of that care team.")
    if not Patient.objects.visible_to(by).filter(pk=patient.pk).exists():
        raise KioskError("You cannot see that patient.")
    if not Form.objects.visible_to(by).filter(pk=version.form_id).exists():
        raise KioskError("You cannot use that form.")
    issued = services.issue_link(version=version, patient=patient, care_team=care_team,
                                 by=by, channel=Link.Channel.SCREEN)
    Submission.objects.get_or_create(link=issued.link)
    record_audit(by=by, action=AuditEvent.Action.IDENTITY_VERIFIED, patient=patient,
                 obj=issued.link, detail={"method": "in-person", "device": "kiosk"})
    return issued.link
