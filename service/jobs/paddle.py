"""Apply one stored Paddle event (a ``webhook_events`` row): credit, take back, or update a subscription.

Started by ``/hooks/paddle`` for every new verified event, and by the event map when staff set a held
event back to ``received`` (a replay). Repeats are harmless: a processed or ignored row is left alone,
every ledger entry has a unique reference, and events about one transaction or one subscription run
one at a time (a Redis lock), so a refund and its purchase cannot pass each other. A credit mails a
receipt once (a Redis mark taken before sending, dropped again if sending fails so a retry sends it);
a purchase that is now credited restarts the refunds held for it, and a newly known subscription the
renewals held for want of a DJ.
"""

from __future__ import annotations

import logging

import redis
from redis.exceptions import LockError

from service import billing, ledger
from service.config import load_config
from service.integrations.directus import DirectusNotFound
from service.integrations.mail import MailRejected, mail_client_from_config
from service.jobs import state
from service.jobs.queue import enqueue, redis_connection

log = logging.getLogger(__name__)

LOCK_TTL_S = 60


class EventBusy(RuntimeError):
    """Another job works on the same transaction or subscription; RQ retries this one shortly."""


def run(row_id: str) -> str:
    """RQ entry point: apply the ``webhook_events`` row ``row_id``."""
    state.job_logging()
    config = load_config()
    directus = state.directus_client(config)
    connection = redis_connection(config)
    try:
        row = directus.get_item(billing.EVENTS, row_id)
    except DirectusNotFound:
        return "gone"
    if row.get("source") != billing.SOURCE or row.get("status") in billing.FINAL:
        return str(row.get("status"))
    lock = connection.lock(billing.lock_key(row), timeout=LOCK_TTL_S, blocking_timeout=20)
    if not lock.acquire():
        raise EventBusy(f"{billing.lock_key(row)} is held by another job")
    try:
        row = directus.get_item(billing.EVENTS, row_id)  # re-read under the lock
        if row.get("status") in billing.FINAL:
            return str(row["status"])
        outcome = billing.apply_event(billing.Context(directus, connection), row)
        if outcome.credit is not None:
            _send_receipt(config, directus, connection, outcome.credit)
        directus.update_item(
            billing.EVENTS,
            row_id,
            {
                "status": outcome.status,
                "error": outcome.message,
                "user": outcome.user or row.get("user"),
                "processed_at": state.now_iso(),
            },
        )
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("the lock on %s expired while the event was applied", row_id)
    log.info("paddle event %s (%s): %s", row.get("event_id"), row.get("event_type"), outcome.status)
    if outcome.release_transaction:
        _release_held(
            directus, connection, {"transaction_id": {"_eq": outcome.release_transaction}}
        )
    if outcome.release_renewals:
        # A renewal that came before its subscription was known had no DJ: try the held ones again.
        _release_held(directus, connection, {"event_type": {"_eq": "transaction.completed"}})
    return outcome.status


def _send_receipt(config, directus, connection: redis.Redis, entry: ledger.LedgerEntry) -> None:  # type: ignore[no-untyped-def]
    """Mail the receipt for a credit once, whatever retries or replays happen."""
    mark = billing.RECEIPT_PREFIX + entry.reference
    if entry.owner is None or not connection.set(mark, "1", nx=True, ex=billing.RECEIPT_MARK_TTL_S):
        return
    try:
        user = directus.get_item(
            "directus_users", entry.owner, fields=["email", "first_name", "display_name"]
        )
        if not user.get("email"):
            return
        mail = billing.receipt_mail(
            user, entry, ledger.balance(directus, entry.owner), str(config["SITE_URL"])
        )
        mail_client_from_config(config).send(mail)
    except MailRejected:
        log.warning("the receipt for %s was refused by the mail server", entry.reference)
    except Exception:
        connection.delete(mark)  # not sent: a retry sends it
        raise


def _release_held(directus, connection: redis.Redis, where: dict) -> None:  # type: ignore[no-untyped-def]
    """Restart held events that may now apply (a refund whose purchase is credited, a renewal
    whose subscription is known); those still missing something are held again."""
    held = directus.list_items(
        billing.EVENTS,
        filter={"source": {"_eq": billing.SOURCE}, "status": {"_eq": "held"}, **where},
        fields=["id"],
        sort=["id"],
        limit=100,
    )
    for item in held:
        enqueue("paddle", item["id"], connection=connection)


def terminal_failure(row_id: str, message: str) -> None:
    """On the last failed attempt: mark the event failed with the reason, for staff to replay."""
    directus = state.directus_client()
    directus.update_item(billing.EVENTS, row_id, {"status": "failed", "error": message[:2000]})
