"""A real SMTP server for tests (aiosmtpd), keeping every message it accepts."""

import contextlib
import email
import threading
from collections.abc import Iterator
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

from tests.ports import free_port


class Inbox:
    """aiosmtpd's handler: every message the server accepted, parsed, in arrival order."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def received(self) -> list[email.message.EmailMessage]:
        with self._lock:
            return list(self.messages)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a free local port: (its inbox, its port)."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
