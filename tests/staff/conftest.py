"""A stand-in User Service: a real HTTP server on a local port, answering POST /users/token."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.identity import access_token_for


class _TokenEndpoint(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.calls.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        status, payload = self.server.answer(self.path, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class FakeUsersService:
    """Answers sign-ins with tokens minted in the test (signed with this process's key)."""

    def __init__(self, server: ThreadingHTTPServer):
        self._server = server
        self.calls = server.calls
        self.url = f"http://127.0.0.1:{server.server_port}"

    def accept(self, email: str, password: str, *, access: str):
        """Give `access` for exactly this email and password; refuse anything else (401)."""

        def answer(path, body):
            if path != "/users/token":
                return 404, {"error": {"code": "not_found"}}
            if body.get("email", "").lower() == email.lower() and body.get("password") == password:
                return 200, {"access": access, "refresh": "not-used-by-the-admin"}
            return 401, {"error": {"code": "invalid_credentials"}}

        self._server.answer = answer

    def accept_staff(self, email: str, password: str, user_id: int, role: str):
        self.accept(email, password, access=access_token_for(user_id, role, None))

    def answer_with(self, status: int, payload: dict):
        self._server.answer = lambda path, body: (status, payload)


@pytest.fixture
def users_service(settings):
    """USERS_SERVICE_URL points at a local server thread for the test's duration."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    server.calls = []
    server.answer = lambda path, body: (401, {})
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake = FakeUsersService(server)
    settings.USERS_SERVICE_URL = fake.url
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
