"""A fake FHIR server on 127.0.0.1 that counts requests and fails on demand.

It implements what filing relies on: POST /QuestionnaireResponse with a conditional
create (If-None-Exist: identifier=system|value) answering 201 (created) or 200 (already
there). `fail_next(*modes)` scripts the next requests: "500", "timeout" (the server
does the work, then answers too late, as a slow real server would), "422".
"""

import collections
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeFhirServer:
    def __init__(self, *, slow_seconds=3.0):
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.script = collections.deque()
        self.requests = 0
        self.creates = 0
        self.by_identifier = {}
        self.authorizations = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests += 1
                    server.authorizations.append(self.headers.get("Authorization"))
                    mode = server.script.popleft() if server.script else "ok"
                if mode == "500":
                    return self._answer(500, {"resourceType": "OperationOutcome",
                                              "issue": [{"severity": "error",
                                                         "code": "exception"}]})
                if mode == "422":
                    return self._answer(422, {"resourceType": "OperationOutcome",
                                              "issue": [{"severity": "error",
                                                         "code": "invalid"}]})
                status, resource = server.conditional_create(
                    self.headers.get("If-None-Exist", ""), body)
                if mode == "timeout":
                    time.sleep(server.slow_seconds)
                return self._answer(status, resource,
                                    location=f"QuestionnaireResponse/{resource['id']}")

            def _answer(self, status, payload, location=None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(data)))
                    if location:
                        self.send_header("Location", location)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the "timeout" mode)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def conditional_create(self, if_none_exist, body):
        key = if_none_exist.removeprefix("identifier=")
        with self.lock:
            if key and key in self.by_identifier:
                return 200, self.by_identifier[key]
            resource = {**body, "id": str(uuid.uuid4())}
            self.creates += 1
            if key:
                self.by_identifier[key] = resource
            return 201, resource

    def fail_next(self, *modes):
        with self.lock:
            self.script.extend(modes)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
