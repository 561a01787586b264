"""Clinic lists: a CSV of tomorrow's patients, checked row by row, then issued in bulk.

Reading and checking a file writes nothing but the list and its rows (the preview);
issuing goes through the same issue_and_deliver as a single link, in batches run by a
Celery task that keeps counts on the list for the progress page.
"""

import csv
import datetime
import io
import logging

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from config.celery import enqueue
from forms_app.delivery import services as delivery
from forms_app.models import (
    Appointment,
    ClinicList,
    ClinicListRow,
    DeliveryAttempt,
    Link,
    LinkSecret,
    hash_token,
)
from forms_app.models.delivery import Purpose
from forms_app.services import ServiceError
from patients.models import AuditEvent, Patient
from patients.nhs_number import normalise_nhs_number
from patients.services import actor_fields, record_audit
from patients.validators import validate_nhs_number

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"]
COLUMN_ALIASES = {
    "nhs_number": "nhs_number", "nhs_no": "nhs_number", "nhs": "nhs_number",
    "hospital_number": "hospital_number", "mrn": "hospital_number",
    "hospital_no": "hospital_number",
    "appointment_date": "appointment_date", "date": "appointment_date",
    "appointment": "appointment_date",
    "clinic": "clinic", "clinic_code": "clinic",
    # The optional appointment columns (whiteboards show and sort by them).
    "appointment_time": "appointment_time", "time": "appointment_time",
    "location": "location", "bed": "location", "room": "location",
    "bed_or_room": "location",
    "clinician": "clinician",
    "appointment_id": "appointment_id", "ehr_appointment_id": "appointment_id",
}
TIME_FORMATS = ["%H:%M", "%H.%M", "%H:%M:%S"]

Problem = ClinicListRow.Problem


def read_csv(upload) -> list[dict]:
    """The file's rows as dicts with our column names; a whole-file problem raises."""
    if upload.size > MAX_FILE_BYTES:
        raise ServiceError("The file is too large: the limit is 5 MB.")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError("The file is not a UTF-8 CSV file. Save it as "
                           "'CSV UTF-8' and upload it again.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = _read_columns(reader)
    try:
        rows = _read_rows(reader, columns)
    except csv.Error:
        raise ServiceError("The file could not be read as CSV.") from None
    if not rows:
        raise ServiceError("The file has no rows below its column names.")
    return rows


def _read_columns(reader) -> list[str | None]:
    """The header row as our column names (None for a column we do not read)."""
    try:
        header = next(reader)
    except StopIteration:
        raise ServiceError("The file is empty.") from None
    except csv.Error:
        raise ServiceError("The file could not be read as CSV.") from None
    # Headings as clinic systems export them: "NHS No", "Appointment-Date", "MRN".
    columns = [COLUMN_ALIASES.get(h.strip().lower().replace(" ", "_").replace("-", "_"))
               for h in header]
    if "appointment_date" not in columns or not {"nhs_number", "hospital_number"} & set(columns):
        raise ServiceError("The first row must name the columns: nhs_number or "
                           "hospital_number, appointment_date and clinic.")
    return columns


def _read_rows(reader, columns: list[str | None]) -> list[dict]:
    """The rows below the header, blank ones skipped, each with its line number in the
    file (as the spreadsheet shows it) so that a problem can be found and fixed there."""
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {"row_number": number}
        for column, value in zip(columns, values, strict=False):
            if column:
                row[column] = value.strip()
        rows.append(row)
        # Stop reading as soon as the file is too long, not after reading all of it.
        if len(rows) > settings.CLINIC_LIST_MAX_ROWS:
            raise ServiceError(f"The file has more than {settings.CLINIC_LIST_MAX_ROWS:,} "
                               "rows: split it into smaller lists.")
    return rows


def _parse_date(value: str):
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _parse_time(value: str):
    for fmt in TIME_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).time()
        except ValueError:
            continue
    return None


def _read_appointment_columns(row: ClinicListRow, raw: dict) -> None:
    """The optional columns; a time that is given but unreadable is the row's problem."""
    row.location = raw.get("location", "")[:40]
    row.clinician = raw.get("clinician", "")[:100]
    row.appointment_id = raw.get("appointment_id", "")[:100]
    if raw.get("appointment_time") and not row.problem:
        row.appointment_time = _parse_time(raw["appointment_time"])
        if row.appointment_time is None:
            row.problem = Problem.BAD_TIME


# What delivery.channel_problem says, as the row's problem on the preview.
_CONTACT_PROBLEMS = {"opted_out": Problem.OPTED_OUT, "no_contact": Problem.NO_CONTACT}


def check_rows(raw_rows, *, user, organisation, channel) -> list[ClinicListRow]:
    """Name each row's problem; patients are looked up only among those the user sees."""
    visible = Patient.objects.visible_to(user).filter(organisation=organisation)
    rows = [_read_row(raw) for raw in raw_rows]
    by_nhs, by_hospital = _patients_named(rows, visible)
    seen = set()
    for row in rows:
        if row.problem:
            continue
        patient = _patient_of(row, by_nhs, by_hospital)
        if patient is None:
            row.problem = Problem.UNKNOWN_PATIENT
            continue
        row.patient = patient
        if patient.pk in seen:
            row.problem = Problem.DUPLICATE
            continue
        seen.add(patient.pk)
        problem = _CONTACT_PROBLEMS.get(delivery.channel_problem(patient, channel))
        if problem:
            row.problem = problem
    return rows


def _read_row(raw: dict) -> ClinicListRow:
    """One row as the file gives it, with its first problem: no usable identifier, then an
    unreadable date, then an unreadable time."""
    nhs = normalise_nhs_number(raw.get("nhs_number", ""))[:20]
    row = ClinicListRow(row_number=raw["row_number"], nhs_number=nhs,
                        hospital_number=raw.get("hospital_number", "")[:30],
                        clinic=raw.get("clinic", "")[:100])
    if nhs:
        try:
            validate_nhs_number(nhs)
        except Exception:
            row.problem = Problem.INVALID_NHS_NUMBER
    elif not row.hospital_number:
        row.problem = Problem.MISSING_IDENTIFIER
    if not row.problem:
        row.appointment_date = _parse_date(raw.get("appointment_date", ""))
        if row.appointment_date is None:
            row.problem = Problem.BAD_DATE
    _read_appointment_columns(row, raw)
    return row


def _patients_named(rows, visible) -> tuple[dict, dict]:
    """The patients the rows without a problem name, by NHS number and by hospital
    number (a row with an NHS number is found by it alone): two queries for the whole
    file, whatever its length."""
    wanted_nhs = {r.nhs_number for r in rows if r.nhs_number and not r.problem}
    wanted_hosp = {r.hospital_number for r in rows
                   if not r.nhs_number and r.hospital_number and not r.problem}
    by_nhs = {p.nhs_number: p for p in visible.filter(nhs_number__in=wanted_nhs)}
    by_hospital: dict[str, list] = {}
    for patient in visible.filter(hospital_number__in=wanted_hosp):
        by_hospital.setdefault(patient.hospital_number, []).append(patient)
    return by_nhs, by_hospital


def _patient_of(row: ClinicListRow, by_nhs: dict, by_hospital: dict) -> Patient | None:
    if row.nhs_number:
        return by_nhs.get(row.nhs_number)
    # A hospital number that more than one visible patient has names neither of them.
    matches = by_hospital.get(row.hospital_number, [])
    return matches[0] if len(matches) == 1 else None


def _check_appointment_ids(rows, care_team) -> None:
    """An EHR appointment id already used for another patient of the team is the
    row's problem (one query for the file)."""
    wanted = {row.appointment_id for row in rows if row.appointment_id and not row.problem}
    owners = dict(Appointment.objects.filter(care_team=care_team, external_id__in=wanted)
                  .values_list("external_id", "patient_id"))
    for row in rows:
        owner = owners.get(row.appointment_id) if row.appointment_id else None
        if not row.problem and owner is not None and owner != row.patient.pk:
            row.problem = Problem.APPOINTMENT_ID_REUSED


@transaction.atomic
def create_clinic_list(*, by, upload, version, care_team, channel, expires_at) -> ClinicList:
    """Read and check the file and keep it as a preview; nothing is issued yet."""
    if version.form.organisation_id != care_team.organisation_id:
        raise ServiceError("This form belongs to another organisation.")
    if not care_team.members.filter(pk=by.pk).exists():
        raise ServiceError("You are not a member of this care team.")
    raw_rows = read_csv(upload)
    rows = check_rows(raw_rows, user=by, organisation=care_team.organisation, channel=channel)
    _check_appointment_ids(rows, care_team)
    clinic_list = ClinicList.objects.create(
        care_team=care_team, version=version, channel=channel, expires_at=expires_at,
        file_name=(upload.name or "")[:200], uploaded_by=by, total_rows=len(rows),
        valid_rows=sum(1 for r in rows if not r.problem))
    for row in rows:
        row.clinic_list = clinic_list
    ClinicListRow.objects.bulk_create(rows, batch_size=1000)
    record_audit(by=by, action=AuditEvent.Action.CLINIC_LIST_UPLOADED,
                 organisation=care_team.organisation, obj=clinic_list,
                 detail={"rows": len(rows), "valid": clinic_list.valid_rows})
    return clinic_list


@transaction.atomic
def start_issuing(*, clinic_list: ClinicList, by) -> ClinicList:
    clinic_list = ClinicList.objects.select_for_update().get(pk=clinic_list.pk)
    now = timezone.now()
    if clinic_list.state == ClinicList.State.QUEUED and _stalled(clinic_list, now):
        # Queued long ago and still not started: its task was lost. A second click
        # publishes it again, as the sweeper would (issuing is idempotent).
        clinic_list.queued_at = now
        clinic_list.save(update_fields=["queued_at"])
        transaction.on_commit(lambda: enqueue_issue(clinic_list.pk))
        return clinic_list
    if clinic_list.state != ClinicList.State.PREVIEW:
        return clinic_list  # already started: a second click does nothing
    if not clinic_list.valid_rows:
        raise ServiceError("No row of this list can be issued.")
    if clinic_list.expires_at <= timezone.now():
        raise ServiceError("The expiry date of this list has passed: upload it again.")
    clinic_list.state = ClinicList.State.QUEUED
    clinic_list.queued_at = now
    clinic_list.save(update_fields=["state", "queued_at"])
    record_audit(by=by, action=AuditEvent.Action.CLINIC_LIST_ISSUED,
                 organisation=clinic_list.care_team.organisation, obj=clinic_list,
                 detail={"valid": clinic_list.valid_rows})
    transaction.on_commit(lambda: enqueue_issue(clinic_list.pk))
    return clinic_list


def _stalled_before(now):
    return now - datetime.timedelta(minutes=settings.CLINIC_LIST_SWEEP_AFTER_MINUTES)


def _stalled(clinic_list, now) -> bool:
    return clinic_list.queued_at is None or clinic_list.queued_at < _stalled_before(now)


@transaction.atomic
def requeue_stalled(*, by="system", limit: int = 100) -> int:
    """Publish again the issuing of lists queued longer than CLINIC_LIST_SWEEP_AFTER_MINUTES
    without starting (the broker was down when staff pressed "Issue"). Each is published
    at most once per that period; issue_next_batch is idempotent under the list's row
    lock, so a task that was merely slow, not lost, makes the second a no-op."""
    now = timezone.now()
    stalled = (ClinicList.objects.select_for_update(skip_locked=True)
               .filter(state=ClinicList.State.QUEUED)
               .filter(models.Q(queued_at__isnull=True)
                       | models.Q(queued_at__lt=_stalled_before(now))))
    ids = list(stalled.values_list("pk", flat=True)[:limit])
    ClinicList.objects.filter(pk__in=ids).update(queued_at=now)
    for clinic_list_id in ids:
        logger.info("Clinic list %s was left queued; publishing it again (by %s)",
                    clinic_list_id, by)
        transaction.on_commit(lambda pk=clinic_list_id: enqueue_issue(pk))
    return len(ids)


def enqueue_issue(clinic_list_id) -> bool:
    # A list left queued (broker down) is published again by sweep_queued_clinic_lists.
    return enqueue("forms_app.delivery.tasks.issue_clinic_list_task", str(clinic_list_id),
                   what=f"issuing of clinic list {clinic_list_id}")


def enqueue_sending(clinic_list_id) -> bool:
    # The messages stay pending if this fails; send_pending_messages picks them up later.
    return enqueue("forms_app.delivery.tasks.send_clinic_list_messages_task",
                   str(clinic_list_id), what=f"sending for clinic list {clinic_list_id}")


def pending_messages(clinic_list_id):
    return DeliveryAttempt.objects.filter(
        link__clinic_list_row__clinic_list_id=clinic_list_id,
        status=DeliveryAttempt.Status.PENDING, tries=0)


def _issue_rows(clinic_list, rows, now) -> tuple[int, int]:
    """Issue a batch of rows in a handful of bulk inserts.

    The same rules and records as services.issue_link and issue_and_deliver (checks,
    token hash, care team, audit event, encrypted token, pending invitation), written
    per batch rather than per row: at one row at a time a 5,000-row list spent most of
    its time on savepoints and round trips.
    """
    version, team, by = clinic_list.version, clinic_list.care_team, clinic_list.uploaded_by
    channel = clinic_list.channel
    refusal = None
    if not version.is_live:
        refusal = "retired"
    elif version.form.organisation_id != team.organisation_id:
        refusal = "organisation"
    elif clinic_list.expires_at <= now:
        refusal = "expired"
    links, secrets, attempts, audits, memberships, done, refused = [], [], [], [], [], [], []
    for row in rows:
        patient = row.patient
        if (refusal or patient.organisation_id != team.organisation_id
                or delivery.channel_problem(patient, channel)):
            # E.g. the patient opted out since the preview: this row only, named.
            row.problem = Problem.ISSUE_FAILED
            refused.append(row)
            continue
        token = Link.new_token()
        link = Link(version=version, patient=patient, care_team=team, channel=channel,
                    issued_by=by, issued_at=now, expires_at=clinic_list.expires_at,
                    token_hash=hash_token(token))
        links.append(link)
        secrets.append(LinkSecret(link=link, token=token))
        attempts.append(DeliveryAttempt(patient=patient, link=link, purpose=Purpose.INVITATION,
                                        channel=channel, requested_by=by, created_at=now))
        audits.append(AuditEvent(
            **actor_fields(by), at=now, action=AuditEvent.Action.LINK_ISSUED,
            organisation_id=patient.organisation_id, patient=patient,
            object_kind=Link._meta.label_lower, object_id=str(link.pk),
            detail={"version": str(version.pk), "channel": channel,
                    "clinic_list": str(clinic_list.pk)}))
        memberships.append(Patient.care_teams.through(patient_id=patient.pk,
                                                      careteam_id=team.pk))
        row.link = link
        done.append(row)
    _attach_appointments(clinic_list, done, now, audits)
    Link.objects.bulk_create(links)
    LinkSecret.objects.bulk_create(secrets)
    DeliveryAttempt.objects.bulk_create(attempts)
    AuditEvent.objects.bulk_create(audits)
    Patient.care_teams.through.objects.bulk_create(memberships, ignore_conflicts=True)
    ClinicListRow.objects.bulk_update(done, ["link"])
    ClinicListRow.objects.bulk_update(refused, ["problem"])
    return len(done), len(refused)


def _starts_at(row) -> datetime.datetime:
    # No time column: the start of the day, so the appointment is still that day's.
    return timezone.make_aware(datetime.datetime.combine(
        row.appointment_date, row.appointment_time or datetime.time.min))


def _attach_appointments(clinic_list, rows, now, audits) -> None:
    """Each issued row's appointment, in two bulk writes: rows with the EHR's
    appointment id update that appointment (made by the API or an earlier list), the
    others get a new one. The link (not yet saved) is pointed at it."""
    team = clinic_list.care_team
    wanted = {row.appointment_id for row in rows if row.appointment_id}
    existing = {a.external_id: a for a in Appointment.objects.select_for_update()
                .filter(care_team=team, external_id__in=wanted)}
    new, changed = [], []
    for row in rows:
        appointment = existing.get(row.appointment_id) if row.appointment_id else None
        if appointment is not None and appointment.patient_id != row.patient.pk:
            appointment = None  # another patient's id: this row gets its own, unnamed
            row.appointment_id = ""
        if appointment is None:
            appointment = Appointment(care_team=team, patient=row.patient,
                                      external_id=row.appointment_id)
            if row.appointment_id:
                existing[row.appointment_id] = appointment
            new.append(appointment)
        elif appointment not in changed:
            changed.append(appointment)
        appointment.starts_at = _starts_at(row)
        appointment.clinic = row.clinic
        appointment.location = row.location
        appointment.clinician = row.clinician
        appointment.updated_at = now
        row.link.appointment = appointment
    Appointment.objects.bulk_create(new)
    Appointment.objects.bulk_update(changed, ["starts_at", "clinic", "location", "clinician",
                                              "updated_at"])
    for row in rows:
        appointment = row.link.appointment
        row.link.appointment_id = appointment.pk
        audits.append(AuditEvent(
            **actor_fields(clinic_list.uploaded_by), at=now,
            action=AuditEvent.Action.APPOINTMENT_SET,
            organisation_id=row.patient.organisation_id, patient=row.patient,
            object_kind=Appointment._meta.label_lower, object_id=str(appointment.pk),
            detail={"clinic_list": str(clinic_list.pk), "external_id": row.appointment_id,
                    "starts_at": appointment.starts_at.isoformat()}))


@transaction.atomic
def issue_next_batch(*, clinic_list_id, batch_size: int) -> int:
    """Issue links to the next valid rows; returns how many rows are still to do.

    The list row is locked, so two tasks for the same list run one after the other, and
    a row that has its link is never issued again (a redelivered task is harmless).
    """
    clinic_list = (ClinicList.objects.select_for_update(of=("self",))
                   .select_related("version__form", "care_team", "uploaded_by")
                   .get(pk=clinic_list_id))
    if clinic_list.state == ClinicList.State.DONE:
        return 0
    now = timezone.now()
    if clinic_list.state != ClinicList.State.ISSUING:
        clinic_list.state = ClinicList.State.ISSUING
        clinic_list.issue_started_at = now
    todo = (clinic_list.rows.filter(problem="", link__isnull=True)
            .select_related("patient__organisation").order_by("row_number"))
    batch = list(todo[:batch_size])
    issued, failed = _issue_rows(clinic_list, batch, now)
    if issued:
        transaction.on_commit(lambda: enqueue_sending(clinic_list.pk))
    clinic_list.issued_rows += issued
    clinic_list.failed_rows += failed
    remaining = todo.count()
    fields = ["state", "issue_started_at", "issued_rows", "failed_rows"]
    if remaining == 0:
        clinic_list.state = ClinicList.State.DONE
        clinic_list.issue_finished_at = timezone.now()
        fields.append("issue_finished_at")
    clinic_list.save(update_fields=fields)
    return remaining
