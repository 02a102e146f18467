"""The privacy centre: DJs' requests under the privacy policy, their audit trail, and their execution.

A request (``privacy_requests``) is one of :data:`KINDS` and moves through :data:`STATES`::

    received → verified → in_progress → complete
        └──────────┴───────────┴──────→ rejected | cancelled

with a due date :data:`DUE_DAYS` after receipt. Nothing runs before the identity is verified (the
DJ re-entered their password on the site, or opened an emailed single-use link, or an operator ran
``aidj privacy``). Every transition appends an ``audit_log`` entry whose actor and subject are keyed
hashes (:func:`pseudonym`), never ids or emails; Directus lets nobody update or delete those entries.

Modules: :mod:`.links` (the signed links mailed to DJs), :mod:`.export` (the access/portability
archive), :mod:`.erase` (deactivation, the 30-day purge, the purge without grace).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from service.integrations.directus import DirectusClient

log = logging.getLogger(__name__)

COLLECTION = "privacy_requests"
AUDIT = "audit_log"
KINDS = ("access", "portability", "correction", "deletion", "objection")
STATES = ("received", "verified", "in_progress", "complete", "rejected", "cancelled")
FINAL = ("complete", "rejected", "cancelled")
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"verified", "rejected", "cancelled"}),
    "verified": frozenset({"in_progress", "rejected", "cancelled"}),
    "in_progress": frozenset({"complete", "rejected", "cancelled"}),
}
#: The policy answers a request within a month.
DUE_DAYS = 30
#: A deleted account can be restored for this long; then the purge removes it.
GRACE_DAYS = 30
#: An export archive and its link live this long.
EXPORT_TTL_DAYS = 7
VERIFY_METHODS = ("password", "email_link", "operator", "staff")
REQUEST_FIELDS = [
    "id", "user", "kind", "state", "details", "due_at", "completed_at", "subject_hash",
    "verified_by", "verified_at", "reason", "progress", "export_file", "expires_at", "date_created",
    "child_account",
]  # fmt: skip
#: The actor of what the service does on its own (jobs, the nightly purge).
SYSTEM = "system"


class InvalidTransition(ValueError):
    """A state change the lifecycle does not allow (e.g. running an unverified request)."""


def now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """A timestamp as Directus stores it."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_time(value: Any) -> dt.datetime | None:
    """A Directus timestamp as an aware datetime (None for empty)."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def pseudonym(secret: str, who: str) -> str:
    """The keyed hash that stands for a person (or ``system``) in the audit log and kept records."""
    return hmac.new(str(secret).encode(), f"privacy:{who}".encode(), hashlib.sha256).hexdigest()


def audit(
    directus: DirectusClient,
    secret: str,
    action: str,
    *,
    actor: str,
    subject: str | None = None,
    request: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one entry to the audit log (actor and subject as keyed hashes)."""
    return directus.create_item(
        AUDIT,
        {
            "actor_hash": pseudonym(secret, actor),
            "action": action[:64],
            "subject": pseudonym(secret, subject) if subject else None,
            "request": request,
            "detail": dict(detail or {}),
        },
    )


def get_request(directus: DirectusClient, request_id: str) -> dict[str, Any]:
    """One request with the fields the lifecycle needs."""
    return directus.get_item(COLLECTION, request_id, fields=REQUEST_FIELDS)


def open_request(
    directus: DirectusClient,
    secret: str,
    user_id: str,
    kind: str,
    *,
    actor: str | None = None,
    details: str | None = None,
) -> dict[str, Any]:
    """Record a new request (state ``received``, due in :data:`DUE_DAYS`), audited."""
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}")
    received = now()
    item = directus.create_item(
        COLLECTION,
        {
            "user": user_id,
            "kind": kind,
            "state": "received",
            "details": details,
            "due_at": iso(received + dt.timedelta(days=DUE_DAYS)),
            "subject_hash": pseudonym(secret, user_id),
            "progress": 0,
            "log": [{"at": iso(received), "state": "received"}],
        },
    )
    audit(directus, secret, "privacy_request.received", actor=actor or user_id, subject=user_id,
          request=item["id"], detail={"kind": kind})  # fmt: skip
    log.info("privacy request %s (%s) received", item["id"], kind)
    return get_request(directus, item["id"])


def transition(
    directus: DirectusClient,
    secret: str,
    request: Mapping[str, Any],
    to: str,
    *,
    actor: str,
    changes: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Move ``request`` to state ``to`` (checked against :data:`TRANSITIONS`), audited."""
    current = str(request["state"])
    if to not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"a {current} request cannot become {to}")
    moment = now()
    update: dict[str, Any] = {"state": to, **(changes or {})}
    if to in FINAL:
        update.setdefault("completed_at", iso(moment))
    history = list(request.get("log") or []) if "log" in request else _log_of(directus, request)
    history.append({"at": iso(moment), "state": to})
    update["log"] = history
    directus.update_item(COLLECTION, str(request["id"]), update)
    user = request.get("user")
    subject = str(user) if user else None
    audit(directus, secret, f"privacy_request.{to}", actor=actor, subject=subject,
          request=str(request["id"]), detail={"kind": request.get("kind"), "from": current, **(detail or {})})  # fmt: skip
    log.info("privacy request %s: %s → %s", request["id"], current, to)
    return get_request(directus, str(request["id"]))


def _log_of(directus: DirectusClient, request: Mapping[str, Any]) -> list[Any]:
    item = directus.get_item(COLLECTION, str(request["id"]), fields=["log"])
    return list(item.get("log") or [])


def verify(
    directus: DirectusClient, secret: str, request: Mapping[str, Any], method: str, *, actor: str
) -> dict[str, Any]:
    """Mark the identity behind ``request`` checked (``method``: one of :data:`VERIFY_METHODS`)."""
    if method not in VERIFY_METHODS:
        raise ValueError(f"unknown verification method {method!r}")
    return transition(directus, secret, request, "verified", actor=actor,
                      changes={"verified_by": method, "verified_at": iso(now())},
                      detail={"method": method})  # fmt: skip


def requests_of(directus: DirectusClient, user_id: str) -> list[dict[str, Any]]:
    """A DJ's requests, newest first."""
    return directus.list_items(COLLECTION, filter={"user": {"_eq": user_id}},
                               fields=REQUEST_FIELDS, sort=["-date_created"], limit=-1)  # fmt: skip


def open_request_of(directus: DirectusClient, user_id: str, kind: str) -> dict[str, Any] | None:
    """The DJ's request of ``kind`` that is not final yet, if any."""
    items = directus.list_items(
        COLLECTION,
        filter={"user": {"_eq": user_id}, "kind": {"_eq": kind}, "state": {"_nin": list(FINAL)}},
        fields=REQUEST_FIELDS, sort=["-date_created"], limit=1,
    )  # fmt: skip
    return items[0] if items else None
