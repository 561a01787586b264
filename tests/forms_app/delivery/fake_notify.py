"""A fake GOV.UK Notify API on 127.0.0.1, spoken to over real HTTP by the official client.

`server.mode` chooses the answer to the next sends: "ok", "400", "403", "429", "500",
"slow" (answers after the client's timeout). Every request is kept in `server.requests`.
"""

import contextlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERRORS = {
    "400": (400, "BadRequestError", "Can't send to this recipient using a team-only API key"),
    "403": (403, "AuthError", "Invalid token: API key not found"),
    "429": (429, "RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests"),
    "500": (500, "Exception", "Internal server error"),
}


class FakeNotify(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.slow_seconds = 2.0
        self.requests: list[dict] = []
        self.statuses: dict[str, str] = {}

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address):
        pass  # a client that gave up is the point of the "slow" mode, not an error

    def __enter__(self):
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def _reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The client may have timed out first, as the "slow" mode intends.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def _error(self, mode):
        status, error, message = ERRORS[mode]
        self._reply(status, {"status_code": status,
                             "errors": [{"error": error, "message": message}]})

    def do_POST(self):
        server = self.server
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length) or b"{}")
        server.requests.append({"path": self.path, "json": payload,
                                "auth": self.headers.get("Authorization", "")})
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._error("403")
        if server.mode == "slow":
            time.sleep(server.slow_seconds)
        if server.mode in ERRORS:
            return self._error(server.mode)
        notification_id = str(uuid.uuid4())
        server.statuses[notification_id] = "sending"
        return self._reply(201, {"id": notification_id, "reference": payload.get("reference"),
                                 "content": {"body": "..."}, "uri": "", "template": {}})

    def do_GET(self):
        server = self.server
        notification_id = self.path.rsplit("/", 1)[-1]
        if notification_id not in server.statuses:
            return self._reply(404, {"status_code": 404, "errors": [
                {"error": "NoResultFound", "message": "No result found"}]})
        return self._reply(200, {"id": notification_id,
                                 "status": server.statuses[notification_id]})
