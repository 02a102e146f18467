"""Send mail over SMTP with the standard library: timeouts, optional TLS, one error type per outcome.

The one way the service sends mail (receipts now; privacy notices and marketing mail use the same).
It is called from RQ jobs only, never inside a web request: an SMTP server may take seconds to answer.
Temporary failures (no connection, a timeout, a 4xx answer) raise :class:`MailUnavailable` so the job
retries; a permanent refusal (5xx) raises :class:`MailRejected`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from service.integrations.mail.errors import MailRejected, MailUnavailable
from service.integrations.mail.types import MailSettings, OutgoingMail

log = logging.getLogger(__name__)

SECURITY_MODES = ("none", "starttls", "tls")


def mail_settings(config: Mapping[str, Any]) -> MailSettings:
    """Mail settings from the service configuration."""
    security = str(config.get("SMTP_SECURITY") or "none").lower()
    if security not in SECURITY_MODES:
        raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
    return MailSettings(
        host=str(config["SMTP_HOST"]),
        port=int(config["SMTP_PORT"]),
        sender=str(config["EMAIL_FROM"]),
        security=security,
        username=config.get("SMTP_USER") or None,
        password=config.get("SMTP_PASSWORD") or None,
        timeout_s=float(config.get("SMTP_TIMEOUT_S") or 10.0),
    )


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The MIME message: text/plain, plus text/html as an alternative when given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    targets = []
    if mail.unsubscribe_url:
        targets.append(f"<{mail.unsubscribe_url}>")
    if mail.unsubscribe_mailto:
        targets.append(f"<mailto:{mail.unsubscribe_mailto}>")
    if targets:
        message["List-Unsubscribe"] = ", ".join(targets)
    if mail.unsubscribe_url:
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


class MailClient:
    """Sends one message per call over a fresh SMTP connection (jobs send few, and rarely)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.username:
            smtp.login(s.username, s.password or "")
        return smtp

    def send(self, mail: OutgoingMail) -> str:
        """Send ``mail``; returns its Message-ID. MailUnavailable: retry later; MailRejected: don't."""
        message = build_message(mail, self.settings.sender)
        try:
            with self._connect() as smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= code < 500 for code in codes):
                raise MailUnavailable(f"the mail server deferred {mail.to}") from exc
            raise MailRejected(f"the mail server refused {mail.to}") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise MailUnavailable(
                    f"the mail server answered {exc.smtp_code}; try later"
                ) from exc
            raise MailRejected(f"the mail server refused the message ({exc.smtp_code})") from exc
        except (smtplib.SMTPException, OSError) as exc:  # timeouts are OSErrors
            raise MailUnavailable(
                f"the mail server {self.settings.host}:{self.settings.port} could not be reached "
                f"({exc.__class__.__name__})"
            ) from exc
        log.info("mail %r sent (%s)", mail.subject, message["Message-ID"])
        return str(message["Message-ID"])


def mail_client_from_config(config: Mapping[str, Any]) -> MailClient:
    """The mail client for the service configuration."""
    return MailClient(mail_settings(config))
