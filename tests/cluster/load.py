"""The load on the cluster, from a client host, through the load balancer only.

Patients (one thread each, closed loop): the clinic issues a link through the REST API
(an API client token, with an Idempotency-Key), then the patient opens it, confirms
their date of birth, answers every page, checks and sends, as a browser does (GET after
each redirect, the CSRF token from each page, an Origin header on each POST). Ward
screens (one thread each) sign in with password and backup code and poll the
whiteboard's JSON with ETags.

A failed request (5xx, a refused or reset connection, a timeout) is a patient-facing
error; the patient tries the same step again, up to RETRIES times, as a person on a phone
would. Prints one JSON document: every journey, every error, every request's timing.

  python -m tests.cluster.load BASE CA_FILE SEED_JSON SECONDS PATIENTS SCREENS OUT_JSON
"""

import json
import re
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import httpx

from tests.forms_app.journey import DEMO_ANSWERS, page_data

RETRIES = 4
CSRF = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
SCREEN_POLL_SECONDS = 2.0


class Failed(Exception):
    """A step that did not succeed after its retries."""


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []   # (wall time, kind, seconds, status)
        self.errors = []     # {t, kind, step, detail}
        self.journeys = []   # {link, start, end, outcome}
        self.issued = 0
        self.polls = {"200": 0, "304": 0}

    def request(self, kind, started, status):
        with self.lock:
            self.requests.append((started, kind, round(time.time() - started, 4), status))

    def error(self, kind, step, detail):
        with self.lock:
            self.errors.append({"t": time.time(), "kind": kind, "step": step,
                                "detail": detail})


def csrf_of(response):
    match = CSRF.search(response.text)
    if not match:
        raise Failed(f"no CSRF token on {response.url.path}")
    return match.group(1)


class Visitor:
    """One browser (or one EHR connection): its own cookies and connections."""

    def __init__(self, base, ca, recorder, kind):
        self.base = base
        self.http = httpx.Client(base_url=base, verify=ca, timeout=10.0,
                                 follow_redirects=False)
        self.recorder = recorder
        self.kind = kind

    def call(self, step, method, path, *, expect, **kwargs):
        """One request, retried on a failure the patient would see as an error page."""
        if method == "POST" and self.kind != "api":
            kwargs.setdefault("headers", {})["Origin"] = self.base
        for attempt in range(RETRIES + 1):
            started = time.time()
            try:
                response = self.http.request(method, path, **kwargs)
                status = response.status_code
            except httpx.HTTPError as exc:
                response, status = None, type(exc).__name__
            self.recorder.request(self.kind, started, status)
            if response is not None and status in expect:
                return response
            self.recorder.error(self.kind, step, f"{status}")
            if attempt < RETRIES:
                time.sleep(0.5 * (attempt + 1))
        raise Failed(f"{step}: {status}")

    def close(self):
        self.http.close()


def issue(api, seed, patient):
    body = {"patient": patient, "version": seed["version"], "channel": "screen"}
    # The same key on every retry: a retried issue never issues twice.
    response = api.call("issue", "POST", "/api/v1/links/", expect={200, 201}, json=body,
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    data = response.json()
    if not data.get("url"):
        raise Failed("issue: replayed without a URL")
    return data["id"], urlparse(data["url"]).path


def journey(patient, path, dob):
    """Open, verify, answer every page, check, send. Returns how it ended."""
    response = patient.call("open", "GET", path, expect={302})
    page = patient.call("verify-page", "GET", "/form/verify/", expect={200})
    year, month, day = dob.split("-")
    patient.call("verify", "POST", "/form/verify/", expect={302},
                 data={"day": day, "month": month, "year": year,
                       "csrfmiddlewaretoken": csrf_of(page)})
    page = patient.call("answer-page", "GET", "/form/answer/", expect={200})
    for step, answers in DEMO_ANSWERS.items():
        response = patient.call(f"answer-{step}", "POST", "/form/answer/",
                                expect={302},
                                data={**page_data(step, answers),
                                      "csrfmiddlewaretoken": csrf_of(page)})
        if response.headers["location"] == "/form/answer/":  # Post/Redirect/Get
            page = patient.call("answer-page", "GET", "/form/answer/", expect={200})
    if response.status_code != 302 or response.headers["location"] != "/form/check/":
        raise Failed(f"answers did not reach check: {response.status_code}")
    page = patient.call("check-page", "GET", "/form/check/", expect={200})
    response = patient.call("submit", "POST", "/form/check/", expect={302},
                            data={"csrfmiddlewaretoken": csrf_of(page)})
    location = response.headers["location"]
    if location == "/form/submitted/":
        # A retried send whose first attempt had gone through: sent once, not lost.
        return "submitted-on-retry"
    patient.call("confirmation", "GET", location, expect={200})
    return "completed"


def patient_loop(base, ca, seed, recorder, deadline, number):
    api = Visitor(base, ca, recorder, "api")
    api.http.headers["Authorization"] = f"Bearer {seed['api_token']}"
    patients = seed["patients"]
    n = number
    while time.time() < deadline:
        n += 7
        started = time.time()
        link, outcome = None, "failed"
        patient = Visitor(base, ca, recorder, "patient")
        try:
            link, path = issue(api, seed, patients[n % len(patients)])
            with recorder.lock:
                recorder.issued += 1
            outcome = journey(patient, path, seed["dob"])
        except Failed as exc:
            outcome = f"failed: {exc}"
        finally:
            patient.close()
        with recorder.lock:
            recorder.journeys.append({"link": link, "start": started, "end": time.time(),
                                      "outcome": outcome})
    api.close()


def screen_loop(base, ca, seed, recorder, deadline, code):
    screen = Visitor(base, ca, recorder, "whiteboard")
    try:
        page = screen.call("login-page", "GET", "/account/login/", expect={200})
        staff = seed["staff"]
        screen.call("login", "POST", "/account/login/", expect={302},
                    data={"username": staff["username"], "password": staff["password"],
                          "csrfmiddlewaretoken": csrf_of(page)})
        page = screen.call("second-factor-page", "GET", "/account/verify/", expect={200})
        screen.call("second-factor", "POST", "/account/verify/", expect={302},
                    data={"code": code, "csrfmiddlewaretoken": csrf_of(page)})
        etag = None
        path = f"/whiteboard/{seed['team']}/data.json"
        while time.time() < deadline:
            headers = {"If-None-Match": etag} if etag else {}
            response = screen.call("poll", "GET", path, expect={200, 304}, headers=headers)
            etag = response.headers.get("etag", etag)
            with recorder.lock:
                recorder.polls[str(response.status_code)] += 1
            time.sleep(SCREEN_POLL_SECONDS)
    except Failed as exc:
        recorder.error("whiteboard", "gave up", str(exc))
    finally:
        screen.close()


def main(base, ca, seed_path, seconds, patients, screens, out):
    with open(seed_path) as handle:
        seed = json.load(handle)
    recorder = Recorder()
    started = time.time()
    deadline = started + seconds
    threads = [threading.Thread(target=patient_loop,
                                args=(base, ca, seed, recorder, deadline, i))
               for i in range(patients)]
    threads += [threading.Thread(target=screen_loop,
                                 args=(base, ca, seed, recorder, deadline, code))
                for code in seed["staff"]["codes"][:screens]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(out, "w") as handle:
        json.dump({"started": started, "ended": time.time(), "issued": recorder.issued,
                   "journeys": recorder.journeys, "errors": recorder.errors,
                   "requests": recorder.requests, "polls": recorder.polls}, handle)


if __name__ == "__main__":
    base, ca, seed_path, seconds, patients, screens, out = sys.argv[1:8]
    main(base, ca, seed_path, float(seconds), int(patients), int(screens), out)
