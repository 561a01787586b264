"""Patients driven over real HTTP through the real pages, as phones would, while a fault
is injected: what each patient saw, counted.

A patient who gets an error page does what people do: waits a moment and tries the same
thing again (a 503 "try again in a moment" page says how long, in Retry-After). A patient
whose place is lost (the session forgot them: a "timed out" page, or a page that does
not follow from the one they were on) opens their link again, and that is counted: it
is the failure this suite exists to catch.
"""

import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.forms_app.journey import DEMO_ANSWERS, page_data

logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise

DOB = {"day": "15", "month": "3", "year": "1984"}  # the demo patient's
SENT = re.compile(r"Form sent|You have already sent this form")
MAX_TRIES = 30
MAX_REOPENS = 3


@dataclass
class Tally:
    journeys: int = 0
    told_sent: list = field(default_factory=list)   # tokens whose patient saw "sent"
    server_errors: int = 0     # 500 and any 5xx other than the calm 503
    try_again_pages: int = 0   # 503 with Retry-After
    reopened: int = 0          # the patient had to open the link again
    unfinished: list = field(default_factory=list)
    problems: Counter = field(default_factory=Counter)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts):
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def note(self, problem):
        with self.lock:
            self.problems[problem] += 1


def _steps(token):
    pages = list(DEMO_ANSWERS.items())
    steps = [("GET", f"/l/{token}/", None, (302, "/form/verify/")),
             ("GET", "/form/verify/", None, (200, None)),
             ("POST", "/form/verify/", DOB, (302, "/form/answer/")),
             ("GET", "/form/answer/", None, (200, None))]
    for number, (step, answers) in enumerate(pages, start=1):
        last = number == len(pages)
        # Each saved page redirects to the next (Post/Redirect/Get), which is opened.
        steps.append(("POST", "/form/answer/", page_data(step, answers),
                      (302, "/form/check/" if last else "/form/answer/")))
        if not last:
            steps.append(("GET", "/form/answer/", None, (200, None)))
    steps += [("GET", "/form/check/", None, (200, None)),
              ("POST", "/form/check/", {}, (302, "/form/confirmation/")),
              ("GET", "/form/confirmation/", None, (200, None))]
    return steps


class LostPlace(Exception):
    pass


def _send(client, tally, method, path, data):
    """One request as a patient makes it: on an error page, wait and try again."""
    for _ in range(MAX_TRIES):
        headers = {}
        if method == "POST":
            headers["X-CSRFToken"] = client.cookies.get("csrftoken", "")
        try:
            response = client.request(method, path, data=data, headers=headers)
        except httpx.TransportError as error:
            # The server closed the connection: the phone shows its own error page.
            tally.add(server_errors=1, requests=1)
            tally.note(f"{method} {_route(path)} -> {type(error).__name__}")
            time.sleep(0.5)
            continue
        tally.add(requests=1)
        if response.status_code == 503 and response.headers.get("Retry-After"):
            tally.add(try_again_pages=1)
            time.sleep(min(float(response.headers["Retry-After"]), 1.0))
            continue
        if response.status_code >= 500:
            tally.add(server_errors=1)
            tally.note(f"{method} {_route(path)} -> {response.status_code}")
            time.sleep(0.5)
            continue
        return response
    raise LostPlace(f"{method} {_route(path)}: still failing after {MAX_TRIES} tries")


def _route(path):
    return "/l/<token>/" if path.startswith("/l/") else path


def _expected(response, expected) -> bool:
    status, location = expected
    if response.status_code != status:
        return False
    return location is None or response.headers.get("location") == location


def journey(base_url, token, number, tally):
    """One patient from the link to "Form sent" (or as far as they got)."""
    # Each patient from their own address, behind the proxy the server is told of.
    ip = f"198.51.{number // 250}.{number % 250 + 1}"
    with httpx.Client(base_url=base_url, headers={"X-Forwarded-For": ip},
                      follow_redirects=False, timeout=30) as client:
        for reopen in range(MAX_REOPENS + 1):
            if reopen:
                tally.add(reopened=1)
            try:
                for method, path, data, expected in _steps(token):
                    response = _send(client, tally, method, path, data)
                    if (method, path) == ("POST", "/form/check/") and response.headers.get(
                            "location") == "/form/submitted/":
                        # A retried send whose first try went through: "already sent".
                        response = _send(client, tally, "GET", "/form/submitted/", None)
                        expected = (200, None)
                    if not _expected(response, expected):
                        tally.note(f"{method} {_route(path)} -> {response.status_code} "
                                   f"{response.headers.get('location', '')}".strip())
                        raise LostPlace(path)
                if SENT.search(response.text):
                    with tally.lock:
                        tally.told_sent.append(token)
                    return
                raise LostPlace("no confirmation")
            except LostPlace:
                continue
        with tally.lock:
            tally.unfinished.append(token)


def run_journeys(base_url, tokens, *, threads=8, during=None):
    """Drive one journey per token on `threads` threads. `during(done)` is called from
    the main thread every 50 ms with the number of journeys finished so far: the test
    injects its fault from there."""
    tally = Tally(journeys=len(tokens))
    todo = list(enumerate(tokens))
    todo_lock = threading.Lock()
    finished = [0]

    def worker():
        while True:
            with todo_lock:
                if not todo:
                    return
                number, token = todo.pop(0)
            journey(base_url, token, number, tally)
            with todo_lock:
                finished[0] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    while any(thread.is_alive() for thread in pool):
        if during is not None:
            during(finished[0])
        time.sleep(0.05)
    tally.seconds = round(time.monotonic() - started, 1)
    return tally
