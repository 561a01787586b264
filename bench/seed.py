"""Seed the benchmark database: one trust of realistic size, and the sessions to drive it.

Run by bench/run.py on an empty, migrated database:
- an organisation with 20 care teams and 10,000 patients;
- two published forms, of 10 and of 50 questions (5 questions a page);
- 100,000 links over the last 30 days; 50,000 submissions (30,000 filed with their
  record entries, 20,000 in progress with drafts), answers and records encrypted with
  the platform's own field (bulk_create, so every row goes through Fernet);
- a whiteboard team ("Ward 1") with 300 of today's links, some flagged urgent, half
  with an appointment time and bed;
- staff and patient sessions, written as files for the load generators.

Prints a JSON object of what the later steps need.
"""

import datetime
import hashlib
import json
import os
import random
import secrets
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_static.models import StaticDevice  # noqa: E402

from forms_app import services  # noqa: E402
from forms_app.models import AnswerOption, Appointment, Form, Item, Link, Submission  # noqa: E402
from forms_app.views.patient import SESSION_LINK, SESSION_VERIFIED  # noqa: E402
from patients.models import CareTeam, Organisation, Patient, RecordEntry  # noqa: E402
from tests.factories.patients import nhs_number_for  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from pgcopy import copy_objects  # noqa: E402

BATCH = 5000
CSRF = "benchcsrf" + "0" * 23  # a 32-character CSRF secret, sent as cookie and field
DOB = datetime.date(1970, 1, 1)
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "out"))
WIZARD_PREFIX = "answer_wizard"
rng = random.Random(8)

# One page: five questions of the common kinds, with what a patient would answer.
PAGE = [
    ("age", Item.Type.INTEGER, True, "42"),
    ("name", Item.Type.STRING, False, "Sam"),
    ("health", Item.Type.CHOICE, True, "good"),
    ("smoker", Item.Type.BOOLEAN, True, "no"),
    ("notes", Item.Type.TEXT, False, "Nothing else to add."),
]
OPTIONS = [("excellent", "Excellent", 0), ("good", "Good", 1), ("fair", "Fair", 2),
           ("poor", "Poor", 3)]


def log(message):
    print(f"[seed {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_form(organisation, questions, user):
    form = Form.objects.create(organisation=organisation, title=f"Bench form {questions}q")
    for p in range(questions // len(PAGE)):
        page = Item.objects.create(form=form, link_id=f"p{p}", text=f"Page {p + 1}",
                                   type=Item.Type.GROUP, position=p)
        for position, (name, kind, required, _) in enumerate(PAGE):
            item = Item.objects.create(form=form, parent=page, link_id=f"p{p}{name}",
                                       text=f"Question {name} on page {p + 1}?", type=kind,
                                       required=required, position=position)
            if kind == Item.Type.CHOICE:
                AnswerOption.objects.bulk_create(
                    AnswerOption(item=item, position=i, code=code, display=display,
                                 score=score)
                    for i, (code, display, score) in enumerate(OPTIONS))
    return services.publish_form(form=form, by=user)


def page_post(page_index, counter=None):
    """The POST body of one page, as a browser sends it."""
    key = f"p{page_index}"
    data = {f"{WIZARD_PREFIX}-current_step": key, "csrfmiddlewaretoken": CSRF}
    for name, _, _, value in PAGE:
        data[f"{key}-{key}{name}"] = value
    return data


def completed_state(version, team, patient, user):
    """Drive one real journey to "check your answers" and keep the wizard's state, so
    that prepared submissions hold exactly what the wizard would have stored."""
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    client = Client()
    client.get(issued.path)
    client.post("/form/verify/", {"day": DOB.day, "month": DOB.month, "year": DOB.year})
    pages = version.definition["item"]
    response = None
    for index in range(len(pages)):
        response = client.post("/form/answer/", page_post(index))
    assert response.status_code == 302 and response.url == "/form/check/", response
    submission = Submission.objects.get(link=issued.link)
    return submission.wizard_state, submission.draft_answers


def session_row(data):
    store = SessionStore()
    # 32 random characters, as Django makes them, without a query per key to check it
    # is unused (the database is new; the primary key would refuse a clash anyway).
    key = get_random_string(32, string.ascii_lowercase + string.digits)
    return key, Session(session_key=key, session_data=store.encode(data),
                        expire_date=timezone.now() + datetime.timedelta(days=1))


def write_lines(name, lines):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text("\n".join(lines) + "\n")


def main():
    started = time.monotonic()
    now = timezone.now()
    today_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        organisation = Organisation.objects.create(name="Bench Teaching Hospitals",
                                                   ods_code="RBENCH")
        teams = CareTeam.objects.bulk_create(
            CareTeam(organisation=organisation, name=f"Ward {i + 1}") for i in range(20))
        user = get_user_model().objects.create_superuser(
            username="bench.staff", email="bench@example.nhs.uk",
            password=secrets.token_urlsafe(16))
        for team in teams:
            team.members.add(user)
        device = StaticDevice.objects.create(user=user, name="bench")
        log("patients")
        patients = Patient.objects.bulk_create(
            (Patient(organisation=organisation, nhs_number=nhs_number_for(i),
                     given_name=rng.choice(["Alex", "Sam", "Jo", "Priya", "Tom", "Ana"]),
                     family_name=f"Patient{i}", date_of_birth=DOB,
                     mobile="07700900001", email=f"p{i}@example.com")
             for i in range(10_000)), batch_size=BATCH)
        through = Patient.care_teams.through
        through.objects.bulk_create(
            (through(patient_id=p.pk, careteam_id=teams[i % len(teams)].pk)
             for i, p in enumerate(patients)), batch_size=BATCH)
        v10 = build_form(organisation, 10, user)
        v50 = build_form(organisation, 50, user)
    log("journeys to capture the wizard's state")
    state10, draft10 = completed_state(v10, teams[0], patients[0], user)
    state50, draft50 = completed_state(v50, teams[0], patients[1], user)

    log("100,000 links")
    links = []
    for i in range(100_000):
        team = teams[i % len(teams)]
        if team is teams[0] and i < 300 * len(teams):
            # Ward 1's board today: 300 links issued since midnight.
            issued_at = today_start + (now - today_start) * rng.random()
        else:
            issued_at = now - datetime.timedelta(days=1 + 29 * rng.random())
        links.append(Link(
            version=v10 if i % 2 == 0 else v50,
            patient=patients[i % len(patients)], care_team=team, channel="sms",
            issued_by=user, issued_at=issued_at,
            expires_at=issued_at + datetime.timedelta(days=14),
            token_hash=hashlib.sha256(f"bench-link-{i}".encode()).hexdigest(),
            delivered_at=issued_at + datetime.timedelta(seconds=30) if i % 3 else None,
            first_opened_at=issued_at + datetime.timedelta(minutes=5) if i % 5 < 3 else None,
        ))
    copy_objects(Link, links)

    log("50,000 submissions (30,000 filed with record entries, 20,000 in progress)")
    urgent = {"scores": {"total": 19}, "bands": {"total": "moderately severe"},
              "flags": [{"code": "self-harm", "severity": "urgent",
                         "message": "Thoughts of self-harm: call today"}]}
    mild = {"scores": {"total": 6}, "bands": {"total": "mild"}, "flags": []}
    submissions, entries = [], []
    answers10 = dict(draft10)
    answers50 = dict(draft50)
    for i, link in enumerate(links[:50_000]):
        answers = answers10 if link.version_id == v10.pk else answers50
        started_at = link.issued_at + datetime.timedelta(minutes=10)
        if i % 5 < 3:
            submitted_at = started_at + datetime.timedelta(minutes=8)
            sub = Submission(link=link, state=Submission.State.FILED, answers=answers,
                             evaluation=urgent if i % 200 == 0 else mild,
                             started_at=started_at, updated_at=submitted_at,
                             submitted_at=submitted_at,
                             filed_at=submitted_at + datetime.timedelta(seconds=2),
                             filing_attempts=1, reference=f"B{i:07d}"[:9])
            entries.append(RecordEntry(
                patient_id=link.patient_id, source_kind=services.SUBMISSION_SOURCE,
                source_id=sub.pk, resource_type="QuestionnaireResponse",
                resource={"resourceType": "QuestionnaireResponse", "id": str(sub.pk),
                          "status": "completed", "item": [
                              {"linkId": k, "answer": [{"valueString": str(v)}]}
                              for k, v in answers.items()]},
                summary=sub.evaluation, filed_at=sub.filed_at))
        else:
            sub = Submission(link=link, state=Submission.State.IN_PROGRESS,
                             draft_answers=answers,
                             wizard_state=state10 if link.version_id == v10.pk else state50,
                             started_at=started_at, updated_at=started_at,
                             reference=f"B{i:07d}"[:9])
        submissions.append(sub)
    copy_objects(Submission, submissions)
    copy_objects(RecordEntry, entries)
    ward_links = [link for link in links if link.care_team_id == teams[0].pk
                  and link.issued_at >= today_start]
    # An appointment belongs to the team and patient; the link points at it.
    booked = ward_links[::2]
    appointments = Appointment.objects.bulk_create(
        Appointment(care_team_id=link.care_team_id, patient_id=link.patient_id,
                    starts_at=today_start + datetime.timedelta(hours=8, minutes=10 * (n % 60)),
                    location=f"Bay {n % 6 + 1} bed {n % 8 + 1}")
        for n, link in enumerate(booked))
    for link, appointment in zip(booked, appointments, strict=True):
        link.appointment_id = appointment.pk
    Link.objects.bulk_update(booked, ["appointment"], batch_size=500)

    make_sessions(user=user, device=device, organisation=organisation, teams=teams,
                  v10=v10, v50=v50, spare=links[50_000:], patients=patients,
                  state10=state10, draft10=draft10, today_rows=len(ward_links),
                  started=started, now=now)


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def make_sessions(*, user, device, organisation, teams, v10, v50, spare, patients,
                  state10, draft10, today_rows, started, now):
    """Sessions of staff and of patients at each point of the journey, as files."""
    log("patient sessions")
    staff_key, staff_session = session_row({
        # The backend that signs staff in (axes' backend comes first but loads no users).
        SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: MODEL_BACKEND,
        HASH_SESSION_KEY: user.get_session_auth_hash(),
        DEVICE_ID_SESSION_KEY: device.persistent_id,
    })
    sessions = [staff_session]
    fresh = {"10": [], "50": []}
    completed = {"10": []}
    # Fresh links (not in the seeded submissions): patients who have just verified.
    pools = [("fresh", "10", v10, 600), ("fresh", "50", v50, 600),
             ("completed", "10", v10, int(os.environ.get("BENCH_SUBMIT_SESSIONS", "6000")))]
    cursor = 0
    new_submissions = []
    for kind, size, version, count in pools:
        chosen = []
        while len(chosen) < count:
            link = spare[cursor]
            cursor += 1
            if link.version_id == version.pk and link.expires_at > now:
                chosen.append(link)
        for link in chosen:
            key, row = session_row({SESSION_LINK: str(link.pk),
                                    SESSION_VERIFIED: str(link.pk)})
            sessions.append(row)
            if kind == "fresh":
                new_submissions.append(Submission(
                    link=link, reference=f"F{len(new_submissions):07d}"))
                fresh[size].append(key)
            else:
                new_submissions.append(Submission(
                    link=link, wizard_state=state10, draft_answers=draft10,
                    reference=f"C{len(new_submissions):07d}"))
                completed[size].append(key)
    copy_objects(Submission, new_submissions)
    copy_objects(Session, sessions)
    write_lines("sessions_fresh10.txt", fresh["10"])
    write_lines("sessions_fresh50.txt", fresh["50"])
    write_lines("sessions_submit10.txt", completed["10"])
    write_lines("organisations.txt", [str(organisation.pk)])
    state = {
        "staff_session": staff_key, "csrf": CSRF, "team": str(teams[0].pk),
        "organisation": str(organisation.pk), "version10": str(v10.pk),
        "version50": str(v50.pk), "patients": [str(p.pk) for p in patients[:200]],
        "teams": [str(t.pk) for t in teams], "today_rows": today_rows,
        "seconds": round(time.monotonic() - started, 1),
        "counts": {
            "patients": Patient.objects.count(), "links": Link.objects.count(),
            "submissions": Submission.objects.count(),
            "record_entries": RecordEntry.objects.count(),
        },
    }
    (OUT / "state.json").write_text(json.dumps(state, indent=1))
    log(f"done in {state['seconds']} s: {state['counts']}")


if __name__ == "__main__":
    main()
