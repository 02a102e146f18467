"""Outgoing mail over SMTP (standard library): receipts, privacy notices, marketing mail."""

from service.integrations.mail.client import (
    MailClient,
    build_message,
    mail_client_from_config,
    mail_settings,
)
from service.integrations.mail.errors import MailError, MailRejected, MailUnavailable
from service.integrations.mail.types import MailSettings, OutgoingMail

__all__ = [
    "MailClient",
    "MailError",
    "MailRejected",
    "MailSettings",
    "MailUnavailable",
    "OutgoingMail",
    "build_message",
    "mail_client_from_config",
    "mail_settings",
]
