"""Values the mail client takes: its settings and one message."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MailSettings:
    """Where and how mail leaves the service (``SMTP_*`` and ``EMAIL_FROM``)."""

    host: str
    port: int
    sender: str  # "Name <address>"
    security: str = "none"  # none, starttls (port 587) or tls (port 465)
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class OutgoingMail:
    """One message: plain text always, HTML optionally, unsubscribe headers for marketing mail.

    ``unsubscribe_url`` (an https address that unsubscribes with one POST, RFC 8058) and/or
    ``unsubscribe_mailto`` add ``List-Unsubscribe``; with an URL, ``List-Unsubscribe-Post:
    List-Unsubscribe=One-Click`` too, which mail providers ask of bulk senders. Transactional mail
    (receipts, verification) leaves them out.
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
