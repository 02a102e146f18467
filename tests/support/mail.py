"""A real SMTP server (aiosmtpd) on a free port that keeps every message it receives."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    """Messages received by the test SMTP server, oldest first."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def wait_for(
        self, to: str, *, timeout_s: float = 15.0, subject_contains: str = ""
    ) -> EmailMessage:
        """The first message to ``to`` (with the subject fragment), waiting for it to arrive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.messages:
                    if to in str(message["To"]) and subject_contains in str(message["Subject"]):
                        return message
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} within {timeout_s} s")


def start_smtp(port: int) -> tuple[Controller, Mailbox]:
    """Start the SMTP server on 127.0.0.1:port."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox
