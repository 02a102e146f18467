"""The mail client against a real SMTP server (aiosmtpd): what arrives, and what each failure means."""

from __future__ import annotations

import socket
import threading

import pytest

from service.integrations.mail import (
    MailClient,
    MailRejected,
    MailSettings,
    MailUnavailable,
    OutgoingMail,
    mail_settings,
)
from service.stack.settings import free_port
from tests.support.mail import start_smtp


@pytest.fixture
def smtp():
    port = free_port()
    controller, mailbox = start_smtp(port)
    yield port, mailbox
    controller.stop()


def client(port: int, **changes) -> MailClient:
    return MailClient(
        MailSettings(host="127.0.0.1", port=port, sender="AIDJSets <no-reply@aidjsets.example.com>",
                     **{"timeout_s": 2.0, **changes})
    )  # fmt: skip


def test_a_message_arrives_with_plain_text_and_html_alternatives(smtp) -> None:
    port, mailbox = smtp
    message_id = client(port).send(
        OutgoingMail(to="dj@example.com", subject="Receipt: 10 tokens", text="Thanks ✓",
                     html="<p>Thanks ✓</p>")
    )  # fmt: skip
    received = mailbox.wait_for("dj@example.com", subject_contains="Receipt")
    assert received["Message-ID"] == message_id and "aidjsets.example.com" in message_id
    assert received["From"] == "AIDJSets <no-reply@aidjsets.example.com>"
    assert received.get_body(preferencelist=("plain",)).get_content().strip() == "Thanks ✓"
    assert received.get_body(preferencelist=("html",)).get_content().strip() == "<p>Thanks ✓</p>"
    assert "List-Unsubscribe" not in received


def test_marketing_mail_carries_one_click_unsubscribe_headers(smtp) -> None:
    port, mailbox = smtp
    client(port).send(
        OutgoingMail(to="fan@example.com", subject="New in AIDJSets", text="News",
                     unsubscribe_url="https://aidjsets.example.com/unsubscribe/t0k3n",
                     unsubscribe_mailto="unsubscribe@aidjsets.example.com")
    )  # fmt: skip
    received = mailbox.wait_for("fan@example.com")
    assert received["List-Unsubscribe"] == (
        "<https://aidjsets.example.com/unsubscribe/t0k3n>, <mailto:unsubscribe@aidjsets.example.com>"
    )
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_no_server_listening_is_a_failure_to_retry() -> None:
    with pytest.raises(MailUnavailable, match="could not be reached"):
        client(free_port()).send(OutgoingMail(to="dj@example.com", subject="s", text="t"))


def test_a_server_that_never_answers_times_out_instead_of_hanging() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        with pytest.raises(MailUnavailable):
            client(listener.getsockname()[1], timeout_s=0.5).send(
                OutgoingMail(to="dj@example.com", subject="s", text="t")
            )
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


class _Refusing:
    def __init__(self, code: int) -> None:
        self.code = code

    async def handle_RCPT(self, server, session, envelope, address, options):
        return f"{self.code} mailbox unavailable"


@pytest.mark.parametrize(("code", "error"), [(550, MailRejected), (451, MailUnavailable)])
def test_a_refused_recipient_is_permanent_or_temporary_by_its_code(code, error) -> None:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(_Refusing(code), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(error):
            client(port).send(OutgoingMail(to="gone@example.com", subject="s", text="t"))
    finally:
        controller.stop()


def test_settings_come_from_the_service_configuration() -> None:
    settings = mail_settings({"SMTP_HOST": "smtp", "SMTP_PORT": "587", "SMTP_SECURITY": "STARTTLS",
                              "SMTP_USER": "u", "SMTP_PASSWORD": "p", "EMAIL_FROM": "a <a@b.c>"})  # fmt: skip
    assert (settings.port, settings.security, settings.username) == (587, "starttls", "u")
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        mail_settings(
            {"SMTP_HOST": "smtp", "SMTP_PORT": 25, "SMTP_SECURITY": "ssl3", "EMAIL_FROM": "x"}
        )
