"""Filing backlog helpers for bench/run.py.

  python bench/backlog.py prepare N   # N submitted, unfiled submissions (fresh links)
  python bench/backlog.py enqueue     # what the patient's submit does after each of
                                      # them commits: services.wake_filing()
  python bench/backlog.py count       # how many of them are filed (JSON)
"""

import datetime
import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from forms_app.models import Link, Submission  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from pgcopy import copy_objects  # noqa: E402

MARK = "BKLG"  # reference prefix of backlog submissions


def prepare(count):
    template = Submission.objects.filter(state=Submission.State.FILED).select_related(
        "link").first()
    now = timezone.now()
    link = template.link
    links = [
        Link(version_id=link.version_id, patient_id=link.patient_id,
              care_team_id=link.care_team_id, issued_at=now,
              expires_at=now + datetime.timedelta(days=14),
              token_hash=hashlib.sha256(f"backlog-{now.timestamp()}-{i}".encode()).hexdigest())
        for i in range(count)]
    copy_objects(Link, links)
    copy_objects(Submission, (
        Submission(link=new, state=Submission.State.SUBMITTED, answers=template.answers,
                    evaluation=template.evaluation, submitted_at=now, updated_at=now,
                    reference=f"{MARK}{i:05d}")
        for i, new in enumerate(links)))


def enqueue():
    """Each submit wakes the filing workers once it commits; with the shared cache only
    a few wake-ups wait at once, so the queue holds a few messages (counted here)."""
    import redis
    from django.conf import settings

    from forms_app import services

    started = time.monotonic()
    ids = list(Submission.objects.filter(reference__startswith=MARK,
                                         state=Submission.State.SUBMITTED)
               .values_list("pk", flat=True))
    for _pk in ids:
        services.wake_filing()
    queued = redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery")
    print(json.dumps({"enqueued": len(ids), "messages_queued": queued,
                      "dedup": settings.FILING_WAKE_DEDUP,
                      "seconds": round(time.monotonic() - started, 2)}))


def count():
    from patients.models import RecordEntry

    qs = Submission.objects.filter(reference__startswith=MARK)
    documents = RecordEntry.objects.filter(
        source_id__in=qs.filter(state="filed").values("pk"), attachments__isnull=False)
    print(json.dumps({"total": qs.count(), "filed": qs.filter(state="filed").count(),
                      "failed": qs.filter(state="failed").count(),
                      "documents": documents.count()}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "prepare":
        prepare(int(sys.argv[2]))
    elif command == "enqueue":
        enqueue()
    else:
        count()
