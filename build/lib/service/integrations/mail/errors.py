"""What can go wrong sending mail, by what the caller should do next."""

from __future__ import annotations


class MailError(Exception):
    """The mail could not be sent; the message says why."""


class MailUnavailable(MailError):
    """The SMTP server is unreachable, timed out or answered a temporary failure: retry later."""


class MailRejected(MailError):
    """The SMTP server refused this message or recipient for good: retrying will not help."""
