"""A mixed load shaped like a trust's day, open loop, with latency per request type.

wrk measures one request type at a time as fast as the server answers (closed loop).
A day is many kinds at once, at given rates, and what matters is each kind's tail
latency: so this client (asyncio + aiohttp) sends each kind at its own mean rate
(Poisson arrivals), whatever the server's speed, and times each request from when it
was due (no coordinated omission). Bounded: DURATION seconds, every request times out after 10 s,
127.0.0.1 only.

Usage: python bench/mixed.py BASE_URL STATE_JSON DURATION SCALE SUBMIT_SESSIONS_FILE
SCALE multiplies the per-second rates in RATES (a large trust's peak); 10 = ten times.
"""

import asyncio
import json
import random
import sys
import time
from pathlib import Path

import aiohttp

# Requests per second at a large trust's peak (bench/README.md explains the figures).
RATES = {
    "patient_page_get": 8.0,     # ~3 forms/s at peak x a few page views each
    "patient_page_post": 6.0,    # page saves
    "final_submit": 1.0,         # ~1.5 million forms a month, peaks of a few a second
    "staff_issue_link": 1.0,     # clinics issuing links as fast as forms arrive
    "whiteboard_fragment": 2.0,  # ~7 million whiteboard requests a month, peak hours
    "whiteboard_json": 2.0,
}


# Rounds of warm-up requests of every kind (bench/run.py's gunicorn has 2 workers).
WARM_ROUNDS = 4


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def main(base, state, duration, scale, submit_file):
    out = Path(state["out"])
    fresh = (out / "sessions_fresh10.txt").read_text().split()
    submit = (out / submit_file).read_text().split()
    csrf, staff, team = state["csrf"], state["staff_session"], state["team"]
    patients = state["patients"]
    results = {name: [] for name in RATES}
    statuses = {name: {} for name in RATES}
    counters = {"page": 0, "submit": 0}
    rng = random.Random(10)

    def cookies(session):
        return {"Cookie": f"sessionid={session}; csrftoken={csrf}"}

    def build(name):
        if name == "patient_page_get":
            return "GET", "/form/answer/", cookies(rng.choice(fresh)), None
        if name == "patient_page_post":
            counters["page"] += 1
            body = {"answer_wizard-current_step": "p0", "p0-p0age": "42",
                    "p0-p0name": f"Sam{counters['page']}", "p0-p0health": "good",
                    "p0-p0smoker": "no", "p0-p0notes": "x", "csrfmiddlewaretoken": csrf}
            return "POST", "/form/answer/", cookies(rng.choice(fresh)), body
        if name == "final_submit":
            session = submit[counters["submit"] % len(submit)]
            counters["submit"] += 1
            return "POST", "/form/check/", cookies(session), {"csrfmiddlewaretoken": csrf}
        if name == "staff_issue_link":
            body = {"patient": rng.choice(patients), "care_team": team, "channel": "screen",
                    "expires_in_days": "14", "csrfmiddlewaretoken": csrf}
            return ("POST", f"/admin/forms_app/formversion/{state['version10']}/issue-link/",
                    cookies(staff), body)
        if name == "whiteboard_fragment":
            return "GET", f"/whiteboard/{team}/fragment/", cookies(staff), None
        return "GET", f"/whiteboard/{team}/data.json", cookies(staff), None

    timeout = aiohttp.ClientTimeout(total=10)
    # At most 64 requests in flight: beyond that a request waits here (and its wait
    # counts in its latency) rather than piling up in the server's listen queue.
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(base, timeout=timeout, connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        async def one(name, due):
            method, path, headers, body = build(name)
            try:
                # Issuing a link is a POST and then the page that shows it (POST-
                # redirect-GET), as the receptionist's browser does: timed as one.
                async with http.request(method, path, headers=headers, data=body,
                                        allow_redirects=name == "staff_issue_link",
                                        ) as response:
                    await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                status = type(exc).__name__
            results[name].append((time.perf_counter() - due) * 1000)
            statuses[name][str(status)] = statuses[name].get(str(status), 0) + 1

        async def warm():
            # Every kind once per worker, in turn, before the clock starts: a worker's
            # first admin page or submit costs it seconds (templates, form classes,
            # connections), and at a rate near the server's capacity that start seeds a
            # queue the whole run never drains. Not counted.
            for _ in range(WARM_ROUNDS):
                for name in RATES:
                    method, path, headers, body = build(name)
                    async with http.request(method, path, headers=headers, data=body,
                                            allow_redirects=False) as response:
                        await response.read()

        await warm()

        async def stream(name, rate):
            # Poisson arrivals (independent patients and screens; exponential gaps, a
            # seed per type so runs repeat): evenly spaced streams all starting at 0
            # would send every type in the same instant each second, a burst no real
            # mix of people makes, and measure that burst's queue instead.
            arrivals = random.Random(f"{name}-{scale}")
            start = time.perf_counter()
            due = start + arrivals.expovariate(rate)
            tasks = []
            while due - start < duration:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(name, due)))
                due += arrivals.expovariate(rate)
            await asyncio.gather(*tasks)

        await asyncio.gather(*(stream(name, rate * scale) for name, rate in RATES.items()))
    report = {}
    for name, values in results.items():
        report[name] = {
            "rate_per_s": RATES[name] * scale, "requests": len(values),
            "p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95),
            "p99_ms": percentile(values, 99), "max_ms": max(values) if values else None,
            "statuses": statuses[name],
        }
    return report


if __name__ == "__main__":
    base, state_path, duration, scale, submit_file = sys.argv[1:6]
    state = json.loads(Path(state_path).read_text())
    print(json.dumps(asyncio.run(main(base, state, float(duration), float(scale),
                                      submit_file)), indent=1))
