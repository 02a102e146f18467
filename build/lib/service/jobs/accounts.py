"""Mail the link that verifies a new DJ's email address (pipeline ``verification_mail``).

Enqueued by the site at sign-up and when a DJ asks for the link again; a DJ already verified, or an
account gone meanwhile, gets nothing. A mail server that is down or answers "try later" raises, so RQ
retries with the pipeline's intervals; one that refuses the address for good ends the job quietly.
"""

from __future__ import annotations

import logging

from service.accounts import VERIFY_TTL_S, verification_token
from service.config import load_config
from service.integrations.directus import DirectusForbidden, DirectusNotFound
from service.integrations.mail import MailRejected, OutgoingMail, mail_client_from_config
from service.jobs import state

log = logging.getLogger(__name__)

USER_FIELDS = ["id", "email", "display_name", "first_name", "email_verified_at", "status"]


def verification_mail(name: str, email: str, link: str) -> OutgoingMail:
    """The message: who it is for, the link, how long it works, and what to do if unexpected."""
    hours = VERIFY_TTL_S // 3600
    text = (
        f"Hello {name},\n\n"
        "Welcome to AIDJSets. Open this link to confirm your email address and finish signing up:\n\n"
        f"{link}\n\n"
        f"The link works for {hours} hours. If it has expired, log in and ask for a new one.\n\n"
        "If you did not sign up for AIDJSets, ignore this message: without the link, the account "
        "cannot be used.\n"
    )
    return OutgoingMail(to=email, subject="Confirm your email address for AIDJSets", text=text)


def send_verification(user_id: str) -> str:
    """RQ entry point: mail the verification link to one unverified DJ."""
    state.job_logging()
    config = load_config()
    directus = state.directus_client(config)
    try:
        user = directus.get_item("directus_users", user_id, fields=USER_FIELDS)
    except (DirectusNotFound, DirectusForbidden):
        return "gone"
    if user.get("email_verified_at"):
        return "already verified"
    if user.get("status") != "active" or not user.get("email"):
        return "not active"
    token = verification_token(str(config["SECRET_KEY"]), str(user["id"]), user["email"])
    link = f"{str(config['SITE_URL']).rstrip('/')}/verify-email?token={token}"
    name = user.get("display_name") or user.get("first_name") or "there"
    try:
        mail_client_from_config(config).send(verification_mail(name, user["email"], link))
    except MailRejected as exc:
        log.warning("verification mail for %s refused for good: %s", user_id, exc)
        return "refused"
    return "sent"
