"""The platform's real web process for integration tests: gunicorn on a free port, its
output kept in a log file, waited for until it answers, and stopped whatever happens.

One place for it, so that the log test, the readiness test, the fault tests and the
operations test start gunicorn the same way (each with its own options and environment).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, *, timeout: float = 2) -> bool:
    """True when ``url`` answers 200 (False while the process is still starting)."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def answers_http(port: int) -> bool:
    """True when anything on ``port`` answers HTTP at all: for a server whose database
    is meant to be down, so that no page but an error page can be expected of it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /form/unavailable/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


class Gunicorn:
    """``gunicorn config.wsgi:application`` with the repository's gunicorn.conf.py, a bind
    of its own and ``options``; the environment is the test's plus ``env``."""

    def __init__(self, log_path: Path, *, env: dict, options=("--workers", "1")):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.options = list(options)
        self.process = None
        self._log = None

    def start(self, *, ready=None, timeout: float = 60) -> "Gunicorn":
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application",
             "--bind", f"127.0.0.1:{self.port}", *self.options],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        ready = ready or (lambda: answers(f"{self.url}/healthz"))
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"gunicorn did not answer:\n{self.log_text()[-3000:]}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None and not self._log.closed:
            self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")
