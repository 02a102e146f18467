"""Marketing consent: giving and withdrawing it, and who may receive marketing mail.

Each change sets ``directus_users.marketing_opt_in`` and appends a ``consent_records`` row (purpose
``marketing_email``, legal basis ``consent``, granted or withdrawn, where it happened) plus an audit
entry. Marketing mail goes only to :func:`recipients` (active, verified, opted in) and always carries
a one-click unsubscribe link (``List-Unsubscribe`` and ``List-Unsubscribe-Post``) that works without
logging in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.integrations.directus import DirectusClient
from service.integrations.mail import OutgoingMail
from service.privacy import audit, links

SOURCES = ("signup", "account_settings", "unsubscribe_link", "staff")


def set_marketing(
    directus: DirectusClient, secret: str, user_id: str, granted: bool, *, source: str, actor: str
) -> bool:
    """Record the DJ's marketing choice; returns False when it was already so (nothing recorded)."""
    if source not in SOURCES:
        raise ValueError(f"unknown consent source {source!r}")
    user = directus.get_item("directus_users", user_id, fields=["id", "marketing_opt_in"])
    if bool(user.get("marketing_opt_in")) == granted:
        return False
    directus.update_item("directus_users", user_id, {"marketing_opt_in": granted})
    directus.create_item(
        "consent_records",
        {"user": user_id, "purpose": "marketing_email", "legal_basis": "consent",
         "granted": granted, "source": source},
    )  # fmt: skip
    audit(directus, secret, f"consent.marketing_email.{'granted' if granted else 'withdrawn'}",
          actor=actor, subject=user_id, detail={"source": source})  # fmt: skip
    return True


def recipients(directus: DirectusClient) -> list[dict[str, Any]]:
    """Everyone marketing mail may go to: active, verified accounts that opted in."""
    return directus.list_items(
        "directus_users",
        filter={"marketing_opt_in": {"_eq": True}, "status": {"_eq": "active"},
                "email_verified_at": {"_nnull": True}},
        fields=["id", "email", "display_name"], limit=-1,
    )  # fmt: skip


def unsubscribe_url(config: Mapping[str, Any], user_id: str) -> str:
    """The one-click unsubscribe link of one DJ (a signed token, no log-in needed)."""
    token = links.make(str(config["SECRET_KEY"]), "unsubscribe", user_id)
    return f"{str(config['SITE_URL']).rstrip('/')}/unsubscribe?token={token}"


def marketing_mail(
    config: Mapping[str, Any], user: Mapping[str, Any], subject: str, text: str
) -> OutgoingMail:
    """A marketing message to one recipient, with the unsubscribe link in the text and the headers."""
    url = unsubscribe_url(config, str(user["id"]))
    body = f"{text.rstrip()}\n\n--\nNo more news from AIDJSets? Unsubscribe with one click: {url}\n"
    return OutgoingMail(to=str(user["email"]), subject=subject, text=body, unsubscribe_url=url)
