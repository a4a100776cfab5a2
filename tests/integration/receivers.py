"""Real local receivers for alert deliveries: an SMTP server and an HTTP webhook."""

from __future__ import annotations

import json
import ssl
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.integration.ports import free_port


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; with `tls` it requires STARTTLS and a login (user/secret)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.logins: list[str] = []
        secure: dict[str, Any] = {}
        if tls is not None:
            secure = {
                "tls_context": tls,
                "require_starttls": True,
                "auth_require_tls": True,
                "authenticator": self._authenticate,
            }
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **secure)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = auth_data.login == b"user" and auth_data.password == b"secret"
        self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class _Server(ThreadingHTTPServer):
    # The notifier posts up to 100 notices at once; the default listen backlog of 5 drops
    # connections, and a client waits seconds to retry them (timeouts, then re-sends).
    request_queue_size = 128


class Webhook:
    """Records each POST; can answer 500 to the first `fail_first` and wait before answering."""

    def __init__(
        self, *, fail_first: int = 0, delay: float = 0.0, always_fail: bool = False
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.always_fail = always_fail
        self.delay = delay
        self.port = free_port()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_idempotency_key"] = self.headers.get("Idempotency-Key")
                body["_path"] = self.path
                webhook.requests.append(body)
                time.sleep(webhook.delay)
                failing = webhook.always_fail or len(webhook.requests) <= webhook.fail_first
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
