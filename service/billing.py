"""Paying for sets with Paddle Billing: what each verified Paddle event does to the ledger and state.

``/hooks/paddle`` stores every verified event once in ``webhook_events`` (unique ``event_id``) and
hands its row to the ``paddle`` job, which calls :func:`apply_event`. What each event does:

- ``transaction.completed`` credits Σ quantity × ``token_packs.tokens`` of each item's price, once,
  under ``paddle:txn:<transaction id>``. Packs (``kind=pack``) and subscription plans (``kind=plan``:
  tokens per billing period) are looked up the same way, so a plan's first payment and every renewal
  credit the period's tokens through this one path. The DJ is ``custom_data.user_id`` (what the site
  passes to Paddle.js), or the DJ of the transaction's subscription. Amounts come from Paddle's
  items and the staff-kept packs, never from anything a browser sent.
- ``adjustment.created/updated`` with ``action`` refund or chargeback and ``status: approved`` takes
  back what its transaction credited, pro rata (adjustment total / transaction grand total) for a
  partial refund, under ``paddle:adj:<adjustment id>``; all adjustments of one transaction together
  never take back more than it credited; a ``chargeback_reverse`` gives back what the chargeback
  took. The balance may go negative: new sets are then refused until it is settled. A refund that arrives before its purchase is held, and applied when the
  purchase is credited.
- ``subscription.*`` keeps the DJ's ``subscriptions`` row current; an event older (``occurred_at``)
  than the state stored is ignored, so out-of-order deliveries end in the latest state.

What cannot be applied (an unknown price id, an unknown DJ, a refund before its purchase) is
``held`` with the reason in ``error``: staff see it in the Studio, fix the cause (add the price to
``token_packs``, set the event's ``user``) and set the status back to ``received``, which replays it.
Nothing is ever credited for a held event. Each credit mails a receipt.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from service import ledger
from service.integrations.directus import DirectusClient, DirectusError, DirectusNotFound
from service.integrations.mail import OutgoingMail
from service.integrations.paddle import (
    ENVIRONMENTS,
    Adjustment,
    Event,
    PayloadError,
    Subscription,
    Transaction,
    parse_event,
)
from service.integrations.paddle.types import parse_time
from service.stack.access import role_id

log = logging.getLogger(__name__)

EVENTS = "webhook_events"
PACKS = "token_packs"
SUBSCRIPTIONS = "subscriptions"
SOURCE = "paddle"
KINDS = ("pack", "plan")
FINAL = ("processed", "ignored")
DEBIT_ACTIONS = ("refund", "chargeback")
REVERSE_ACTION = "chargeback_reverse"  # the bank found for us: what the chargeback took comes back
SUBSCRIPTION_EVENTS = (
    "subscription.created", "subscription.updated", "subscription.canceled",
    "subscription.past_due", "subscription.activated", "subscription.paused",
    "subscription.resumed", "subscription.trialing",
)  # fmt: skip
ADJUSTMENT_EVENTS = ("adjustment.created", "adjustment.updated")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RECEIPT_PREFIX = "aidj:paddle-receipt:"
RECEIPT_MARK_TTL_S = 30 * 24 * 3600


# -- configuration ------------------------------------------------------------------------------------
def webhook_secrets(config: Mapping[str, Any]) -> list[str]:
    """The notification secrets from ``PADDLE_WEBHOOK_SECRETS`` (comma-separated for rotation)."""
    raw = config.get("PADDLE_WEBHOOK_SECRETS") or ""
    if isinstance(raw, list | tuple):
        return [str(s).strip() for s in raw if str(s).strip()]
    return [s.strip() for s in str(raw).split(",") if s.strip()]


def unavailable_reason(config: Mapping[str, Any]) -> str | None:
    """Why tokens cannot be bought on this installation (a sentence for the site), or None."""
    missing = [
        name
        for name, present in (
            ("PADDLE_CLIENT_TOKEN", bool(config.get("PADDLE_CLIENT_TOKEN"))),
            ("PADDLE_WEBHOOK_SECRETS", bool(webhook_secrets(config))),
        )
        if not present
    ]
    if missing:
        return (
            "Buying tokens is switched off on this installation: payments through Paddle are not "
            f"configured ({', '.join(missing)} not set). Everything else works as usual."
        )
    if config.get("PADDLE_ENV") not in ENVIRONMENTS:
        return (
            f"PADDLE_ENV must be one of {', '.join(ENVIRONMENTS)}; buying tokens is switched off."
        )
    return None


# -- the catalogue ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pack:
    """A token pack or a subscription plan, as staff keep it in ``token_packs``."""

    id: int
    kind: str
    name: str
    price_id: str
    tokens: int
    active: bool
    price_label: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Pack:
        """From a ``token_packs`` item."""
        return cls(
            id=int(item["id"]),
            kind=str(item.get("kind") or "pack"),
            name=str(item["name"]),
            price_id=str(item["paddle_price_id"]),
            tokens=int(item["tokens"]),
            active=bool(item.get("active")),
            price_label=item.get("price_label") or None,
        )


PACK_FIELDS = ["id", "kind", "name", "paddle_price_id", "tokens", "active", "price_label"]


def catalogue(directus: DirectusClient, kind: str) -> list[Pack]:
    """The active packs (``kind="pack"``) or plans (``"plan"``) on sale, fewest tokens first."""
    items = directus.list_items(
        PACKS,
        filter={"kind": {"_eq": kind}, "active": {"_eq": True}},
        fields=PACK_FIELDS,
        sort=["tokens", "id"],
        limit=100,
    )
    return [Pack.from_item(item) for item in items]


def packs_by_price(directus: DirectusClient, price_ids: list[str]) -> dict[str, Pack]:
    """Packs and plans by Paddle price id, active or not (a pack taken off sale still credits)."""
    if not price_ids:
        return {}
    items = directus.list_items(
        PACKS, filter={"paddle_price_id": {"_in": price_ids}}, fields=PACK_FIELDS, limit=-1
    )
    return {item["paddle_price_id"]: Pack.from_item(item) for item in items}


# -- recording a delivery -----------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds") if value else None


# Personal details Paddle sends that the service never needs (Paddle, the merchant of record, keeps
# them): the card holder's name and card, addresses, business details, checkout links.
_DROPPED = ("billing_details", "address", "customer", "business", "checkout")
_PAYMENT_KEPT = ("amount", "status", "captured_at", "created_at")


def minimise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as stored: Paddle's event less the personal details nothing here reads."""
    payload = dict(raw)
    data = payload.get("data")
    if isinstance(data, Mapping):
        data = {k: v for k, v in data.items() if k not in _DROPPED}
        if isinstance(data.get("payments"), list):
            data["payments"] = [
                {k: p.get(k) for k in _PAYMENT_KEPT} if isinstance(p, Mapping) else None
                for p in data["payments"]
            ]
        payload["data"] = data
    return payload


def forget_user(directus: DirectusClient, user_id: str) -> int:
    """Before an account is erased: unlink its payment records from the person, keep the figures.

    Ledger entries keep their amounts and references (their owner becomes null when the user row
    goes). Paddle events keep ids and amounts but lose the DJ's id in ``custom_data`` and the link
    to the user; subscriptions lose the user and Paddle's personal portal links. Returns the rows
    changed.
    """
    changed = 0
    for row in directus.list_items(
        EVENTS, filter={"user": {"_eq": user_id}}, fields=["id", "payload"], limit=-1
    ):
        payload = minimise(row.get("payload") or {})
        data = payload.get("data") or {}
        if isinstance(data.get("custom_data"), Mapping) and "user_id" in data["custom_data"]:
            data["custom_data"] = {**data["custom_data"], "user_id": "erased"}
        directus.update_item(EVENTS, row["id"], {"payload": payload, "user": None})
        changed += 1
    for sub in directus.list_items(
        SUBSCRIPTIONS, filter={"user": {"_eq": user_id}}, fields=["id"], limit=-1
    ):
        directus.update_item(
            SUBSCRIPTIONS, sub["id"],
            {"user": None, "cancel_url": None, "update_payment_method_url": None},
        )  # fmt: skip
        changed += 1
    return changed


def record_event(
    directus: DirectusClient, event: Event, raw: Mapping[str, Any]
) -> tuple[dict, bool]:
    """Store a verified event once; returns its row and whether this call stored it.

    The unique ``event_id`` makes a repeat (Paddle's retries, a replay, parallel deliveries) fail
    with ``RECORD_NOT_UNIQUE``; the row already there is returned instead.
    """
    try:
        row = directus.create_item(
            EVENTS,
            {
                "source": SOURCE,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "status": "received",
                "occurred_at": _iso(event.occurred_at),
                "object_id": (event.object_id or "")[:64] or None,
                "transaction_id": (event.transaction_id or "")[:64] or None,
                "payload": minimise(raw),
            },
        )
    except DirectusError as exc:
        if exc.code != "RECORD_NOT_UNIQUE":
            raise
        found = directus.list_items(
            EVENTS, filter={"event_id": {"_eq": event.event_id}}, fields=["id", "status"], limit=1
        )
        if not found:
            raise
        return found[0], False
    return row, True


# -- applying an event --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What applying an event did: the row's new status, why (for held/ignored), whom it concerned."""

    status: str  # processed, held or ignored
    message: str | None = None
    user: str | None = None
    credit: ledger.LedgerEntry | None = None  # what a purchase credited (its receipt is due once)
    release_transaction: str | None = None  # a purchase now credited: held refunds may go on
    release_renewals: bool = False  # a subscription now linked to its DJ: held renewals may go on


@dataclass
class Context:
    """What applying an event needs besides its row: Directus, and Redis when there is one."""

    directus: DirectusClient
    connection: redis.Redis | None = None


def lock_key(row: Mapping[str, Any]) -> str:
    """Events about one transaction (its purchase and refunds) or one subscription run one at a time."""
    subject = row.get("transaction_id") or row.get("object_id") or row.get("event_id")
    return f"aidj:paddle-lock:{subject}"


def _dj(directus: DirectusClient, user_id: Any) -> dict[str, Any] | None:
    """The DJ account with this id, or None (no such user, or not a DJ)."""
    if not isinstance(user_id, str) or not _UUID.match(user_id):
        return None
    try:
        user = directus.get_item(
            "directus_users", user_id, fields=["id", "role", "email", "first_name", "display_name"]
        )
    except DirectusNotFound:
        return None
    except DirectusError as exc:
        if exc.status == 403:  # Directus answers 403 for an id that does not exist
            return None
        raise
    return user if user and user.get("role") == role_id("DJ") else None


def apply_event(ctx: Context, row: Mapping[str, Any]) -> Outcome:
    """Apply one stored event (a ``webhook_events`` row); never raises for a bad payload."""
    try:
        event = parse_event(row.get("payload") or {})
        if event.event_type == "transaction.completed":
            return _apply_transaction(ctx, row, Transaction.from_data(event.data))
        if event.event_type in ADJUSTMENT_EVENTS:
            return _apply_adjustment(ctx, row, Adjustment.from_data(event.data))
        if event.event_type in SUBSCRIPTION_EVENTS:
            return _apply_subscription(ctx, row, event, Subscription.from_data(event.data))
    except PayloadError as exc:
        return Outcome("held", f"The payload cannot be read: {exc}.")
    return Outcome("ignored", f"{event.event_type} changes nothing here.")


def _subscription_owner(directus: DirectusClient, subscription_id: str | None) -> str | None:
    if not subscription_id:
        return None
    found = directus.list_items(
        SUBSCRIPTIONS,
        filter={"paddle_subscription_id": {"_eq": subscription_id}},
        fields=["user"],
        limit=1,
    )
    return found[0].get("user") if found else None


def _apply_transaction(ctx: Context, row: Mapping[str, Any], txn: Transaction) -> Outcome:
    directus = ctx.directus
    reference = ledger.paddle_transaction_reference(txn.id)
    existing = ledger.find(directus, reference)
    if existing is not None:  # credited before (a replay after staff fixed something else)
        return Outcome("processed", None, existing.owner, existing, release_transaction=txn.id)
    candidates = [row.get("user"), txn.custom_data.get("user_id")]
    if not any(candidates):
        candidates.append(_subscription_owner(directus, txn.subscription_id))
    user = next((u for u in (_dj(directus, c) for c in candidates if c) if u), None)
    if user is None:
        claimed = next((c for c in candidates if c), None)
        return Outcome(
            "held",
            f"Unknown DJ ({'custom_data.user_id ' + repr(claimed) if claimed else 'no custom_data.user_id'}"
            f"): nothing was credited. Set this event's user to the DJ who paid, then set the status "
            f"to received to replay it.",
        )
    if not txn.items:
        return Outcome("ignored", "The transaction has no items.", user["id"])
    packs = packs_by_price(directus, sorted({item.price_id for item in txn.items}))
    unknown = sorted({item.price_id for item in txn.items if item.price_id not in packs})
    if unknown:
        return Outcome(
            "held",
            f"Unknown Paddle price id {', '.join(unknown)}: nothing was credited. Add it to token "
            f"packs (with its tokens), then set the status to received to replay this event.",
            user["id"],
        )
    tokens = sum(item.quantity * packs[item.price_id].tokens for item in txn.items)
    is_plan = txn.subscription_id or any(packs[i.price_id].kind == "plan" for i in txn.items)
    entry, _ = ledger.grant(
        directus, user["id"], tokens, reference, reason="subscription" if is_plan else "purchase"
    )
    return Outcome("processed", None, user["id"], entry, release_transaction=txn.id)


def _purchase_row(directus: DirectusClient, transaction_id: str) -> dict[str, Any] | None:
    found = directus.list_items(
        EVENTS,
        filter={
            "source": {"_eq": SOURCE},
            "event_type": {"_eq": "transaction.completed"},
            "object_id": {"_eq": transaction_id},
        },
        fields=["id", "payload"],
        limit=1,
    )
    return found[0] if found else None


def _already_taken_back(directus: DirectusClient, transaction_id: str, but: str) -> int:
    """Tokens earlier adjustments of this transaction took back (not counting adjustment ``but``)."""
    rows = directus.list_items(
        EVENTS,
        filter={
            "source": {"_eq": SOURCE},
            "transaction_id": {"_eq": transaction_id},
            "event_type": {"_in": list(ADJUSTMENT_EVENTS)},
        },
        fields=["object_id"],
        limit=-1,
    )
    references = sorted(
        {ledger.paddle_adjustment_reference(r["object_id"]) for r in rows if r.get("object_id")}
        - {ledger.paddle_adjustment_reference(but)}
    )
    if not references:
        return 0
    entries = directus.list_items(
        ledger.COLLECTION, filter={"reference": {"_in": references}}, fields=["delta"], limit=-1
    )
    return -sum(int(e["delta"]) for e in entries)


def _apply_adjustment(ctx: Context, row: Mapping[str, Any], adj: Adjustment) -> Outcome:
    directus = ctx.directus
    if adj.action not in (*DEBIT_ACTIONS, REVERSE_ACTION):
        return Outcome("ignored", f"An adjustment with action {adj.action} takes nothing back.")
    if adj.status != "approved":
        return Outcome(
            "ignored", f"The {adj.action} is {adj.status}, not approved: nothing taken back."
        )
    reference = ledger.paddle_adjustment_reference(adj.id)
    done = ledger.find(directus, reference)
    if done is not None:
        return Outcome("processed", None, done.owner)
    credit = ledger.find(directus, ledger.paddle_transaction_reference(adj.transaction_id))
    if credit is None:
        return Outcome(
            "held",
            f"This {adj.action} is for transaction {adj.transaction_id}, which has not been credited "
            f"yet; it is applied as soon as that purchase is.",
        )
    if credit.owner is None:
        return Outcome("processed", "The account that bought these tokens has been erased.")
    purchase = _purchase_row(directus, adj.transaction_id)
    grand_total = 0
    if purchase is not None:
        try:
            grand_total = Transaction.from_data(parse_event(purchase["payload"]).data).grand_total
        except PayloadError:
            grand_total = 0
    if grand_total > 0 and 0 <= adj.total < grand_total:
        share = (credit.delta * adj.total + grand_total // 2) // grand_total  # rounded half up
    else:
        share = credit.delta  # a full refund, or a purchase whose total we cannot read
    taken = _already_taken_back(directus, adj.transaction_id, adj.id)
    if adj.action == REVERSE_ACTION:
        # The bank decided for us: give back (up to) what the chargeback took.
        if taken <= 0:
            return Outcome(
                "held",
                f"This chargeback reversal is for transaction {adj.transaction_id}, whose chargeback "
                f"has not been applied yet; it is applied as soon as that chargeback is.",
                credit.owner,
            )
        ledger.record(directus, credit.owner, min(share, taken), "adjustment", reference)
        return Outcome("processed", None, credit.owner)
    debit = max(0, min(share, credit.delta - taken))
    ledger.record(directus, credit.owner, -debit, "adjustment", reference)
    return Outcome("processed", None, credit.owner, release_transaction=adj.transaction_id)


def _truncate_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _apply_subscription(
    ctx: Context, row: Mapping[str, Any], event: Event, sub: Subscription
) -> Outcome:
    directus = ctx.directus
    found = directus.list_items(
        SUBSCRIPTIONS, filter={"paddle_subscription_id": {"_eq": sub.id}}, limit=1
    )
    current = found[0] if found else None
    if current is not None and current.get("last_event_at"):
        stored = parse_time(current["last_event_at"])
        if stored is not None and _truncate_ms(event.occurred_at) < _truncate_ms(stored):
            return Outcome(
                "ignored",
                f"Older than the state stored (from {current.get('last_event_id')}): not applied.",
                current.get("user"),
            )
    candidates = [row.get("user"), sub.custom_data.get("user_id"), (current or {}).get("user")]
    user = next((u for u in (_dj(directus, c) for c in candidates if c) if u), None)
    if user is None:
        return Outcome(
            "held",
            "Unknown DJ (custom_data.user_id missing or not a DJ): the subscription is not linked "
            "to anyone. Set this event's user, then set the status to received to replay it.",
        )
    state = {
        "user": user["id"],
        "paddle_customer_id": sub.customer_id,
        "status": sub.status,
        "price_id": sub.price_ids[0] if sub.price_ids else None,
        "current_period_starts_at": _iso(sub.current_period_starts_at),
        "current_period_ends_at": _iso(sub.current_period_ends_at),
        "next_billed_at": _iso(sub.next_billed_at),
        "canceled_at": _iso(sub.canceled_at),
        "scheduled_change": sub.scheduled_change,
        "cancel_url": sub.cancel_url,
        "update_payment_method_url": sub.update_payment_method_url,
        "last_event_at": _iso(event.occurred_at),
        "last_event_id": event.event_id,
    }
    if current is None:
        directus.create_item(SUBSCRIPTIONS, {"paddle_subscription_id": sub.id, **state})
    else:
        directus.update_item(SUBSCRIPTIONS, current["id"], state)
    return Outcome("processed", None, user["id"], release_renewals=current is None)


# -- what the site shows ------------------------------------------------------------------------------
def subscriptions_of(directus: DirectusClient, user_id: str) -> list[dict[str, Any]]:
    """The DJ's subscriptions, newest first, with the plan each is on (None if unknown)."""
    rows = directus.list_items(
        SUBSCRIPTIONS, filter={"user": {"_eq": user_id}}, sort=["-date_created"], limit=20
    )
    plans = packs_by_price(directus, sorted({r["price_id"] for r in rows if r.get("price_id")}))
    for r in rows:
        r["plan"] = plans.get(r.get("price_id") or "")
    return rows


# -- receipts -----------------------------------------------------------------------------------------
def receipt_mail(
    user: Mapping[str, Any], entry: ledger.LedgerEntry, balance: int, site_url: str
) -> OutgoingMail:
    """The receipt a DJ gets for every credit (Paddle, the merchant of record, sends the invoice)."""
    name = user.get("display_name") or user.get("first_name") or "there"
    what = (
        "your subscription's tokens for this period"
        if entry.reason == "subscription"
        else "your token purchase"
    )
    text = (
        f"Hello {name},\n\n"
        f"Thank you: {entry.delta} token{'s' if entry.delta != 1 else ''} for {what} "
        f"{'have' if entry.delta != 1 else 'has'} been added to your AIDJSets balance.\n\n"
        f"Reference: {entry.reference}\n"
        f"Your balance is now {balance} token{'s' if balance != 1 else ''}.\n\n"
        f"Your invoice comes from Paddle, who processes our payments.\n"
        f"Every token movement: {site_url.rstrip('/')}/tokens\n\n"
        f"AIDJSets\n"
    )
    return OutgoingMail(
        to=str(user["email"]),
        subject=f"AIDJSets receipt: {entry.delta} token{'s' if entry.delta != 1 else ''} added",
        text=text,
    )
