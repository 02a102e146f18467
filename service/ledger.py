"""The token ledger: a DJ's balance is the sum of their ``token_ledger`` entries.

Every entry carries a unique ``reference`` (``set:<id>``, ``refund:set:<id>``, ``signup:<user id>``,
a Paddle transaction id…), so writing the same entry twice is impossible: the second write fails with
``RECORD_NOT_UNIQUE`` and these functions return the entry already there. That is what makes retries,
duplicate deliveries and crashes safe: charge once, refund once, grant once.

Prices live in the ``app_settings`` singleton (``set_price_tokens``, ``signup_grant_tokens``), which
staff edit in the Studio; no deploy is needed to change them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from service import metrics
from service.integrations.directus import DirectusClient, DirectusError

log = logging.getLogger(__name__)

COLLECTION = "token_ledger"
# purchase: a token pack bought; subscription: a plan's tokens for a billing period; adjustment: a
# Paddle refund or chargeback taking back what it had credited (service/billing.py).
REASONS = ("signup_grant", "purchase", "subscription", "set_charge", "refund", "adjustment")
# A charge checks the balance then writes; a per-owner lock keeps two sets of the same DJ from both
# passing the check on the last tokens.
LOCK_TIMEOUT_S = 30


class InsufficientTokens(Exception):
    """The DJ has fewer tokens than the price; nothing was charged."""

    def __init__(self, balance: int, price: int) -> None:
        self.balance = balance
        self.price = price
        if balance < 0:
            # A refund or chargeback took back tokens that were already spent.
            message = (
                f"Your balance is {balance} tokens: a refunded or disputed payment took back tokens "
                f"that had already been spent. Buy tokens to settle it, then build the set."
            )
        else:
            message = (
                f"This set costs {price} token{'s' if price != 1 else ''} and your balance is "
                f"{balance}. Buy tokens, then generate the set again."
            )
        super().__init__(message)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row."""

    id: int | None
    owner: str | None
    delta: int
    reason: str
    reference: str
    date_created: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LedgerEntry:
        """From a Directus ``token_ledger`` item."""
        return cls(
            id=item.get("id"),
            owner=item.get("owner"),
            delta=int(item["delta"]),
            reason=item["reason"],
            reference=item["reference"],
            date_created=item.get("date_created"),
        )


def _is_duplicate(exc: DirectusError) -> bool:
    return exc.code == "RECORD_NOT_UNIQUE"


def find(directus: DirectusClient, reference: str) -> LedgerEntry | None:
    """The entry with ``reference``, if one was written."""
    items = directus.list_items(COLLECTION, filter={"reference": {"_eq": reference}}, limit=1)
    return LedgerEntry.from_item(items[0]) if items else None


def balance(directus: DirectusClient, owner: str) -> int:
    """The sum of the owner's ledger entries."""
    data = directus.call(
        "GET",
        f"/items/{COLLECTION}",
        params={"aggregate[sum]": "delta", "filter[owner][_eq]": owner},
    )
    total = (data[0].get("sum") or {}).get("delta") if data else None
    return int(float(total)) if total is not None else 0


def history(
    directus: DirectusClient, owner: str, *, limit: int = 50, offset: int = 0
) -> list[LedgerEntry]:
    """The owner's entries, newest first."""
    items = directus.list_items(
        COLLECTION,
        filter={"owner": {"_eq": owner}},
        sort=["-date_created", "-id"],
        limit=limit,
        offset=offset,
    )
    return [LedgerEntry.from_item(item) for item in items]


def record(
    directus: DirectusClient, owner: str | None, delta: int, reason: str, reference: str
) -> tuple[LedgerEntry, bool]:
    """Write an entry once; returns it and whether this call wrote it (False: it was there)."""
    if reason not in REASONS:
        raise ValueError(f"unknown ledger reason {reason!r}")
    try:
        item = directus.create_item(
            COLLECTION, {"owner": owner, "delta": delta, "reason": reason, "reference": reference}
        )
    except DirectusError as exc:
        if not _is_duplicate(exc):
            raise
        existing = find(directus, reference)
        if existing is None:  # unique violation on a row we cannot see: surface it
            raise
        return existing, False
    log.info("ledger: %+d for %s (%s, %s)", delta, owner, reason, reference)
    metrics.count(None, metrics.LEDGER_ENTRIES, reason)
    return LedgerEntry.from_item(item), True


@contextlib.contextmanager
def _owner_lock(connection: redis.Redis | None, owner: str) -> Iterator[None]:
    if connection is None:
        yield
        return
    with connection.lock(f"aidj:ledger-lock:{owner}", timeout=LOCK_TIMEOUT_S, blocking_timeout=15):
        yield


def charge(
    directus: DirectusClient,
    owner: str,
    amount: int,
    reference: str,
    *,
    reason: str = "set_charge",
    lock: redis.Redis | None = None,
) -> tuple[LedgerEntry, bool]:
    """Take ``amount`` tokens once under ``reference``; InsufficientTokens if the balance is short.

    A charge already written under ``reference`` is returned as it is, without checking the balance
    again (it was paid). Pass ``lock`` (a Redis connection) to serialise one owner's charges.
    """
    if amount < 0:
        raise ValueError("a charge takes a non-negative amount")
    existing = find(directus, reference)
    if existing is not None:
        return existing, False
    with _owner_lock(lock, owner):
        available = balance(directus, owner)
        if available < amount:
            raise InsufficientTokens(available, amount)
        return record(directus, owner, -amount, reason, reference)


def refund(directus: DirectusClient, charge_reference: str) -> tuple[LedgerEntry, bool] | None:
    """Give back a charge once (reference ``refund:<charge reference>``); None if nothing was charged."""
    charged = find(directus, charge_reference)
    if charged is None or charged.delta >= 0:
        return None
    return record(directus, charged.owner, -charged.delta, "refund", f"refund:{charge_reference}")


def grant(
    directus: DirectusClient,
    owner: str,
    amount: int,
    reference: str,
    *,
    reason: str = "signup_grant",
) -> tuple[LedgerEntry, bool]:
    """Give ``amount`` tokens once under ``reference`` (sign-up grants, purchases, adjustments)."""
    return record(directus, owner, amount, reason, reference)


def set_price(directus: DirectusClient) -> int:
    """Tokens one set costs, as staff set it in ``app_settings``."""
    return int(directus.get_singleton("app_settings").get("set_price_tokens") or 0)


def signup_grant_amount(directus: DirectusClient) -> int:
    """Tokens a new DJ gets, as staff set it in ``app_settings``."""
    return int(directus.get_singleton("app_settings").get("signup_grant_tokens") or 0)


def set_reference(set_id: str) -> str:
    """The ledger reference of a set's charge."""
    return f"set:{set_id}"


def paddle_transaction_reference(transaction_id: str) -> str:
    """The ledger reference of what a Paddle transaction credited (a pack or a plan's period)."""
    return f"paddle:txn:{transaction_id}"


def paddle_adjustment_reference(adjustment_id: str) -> str:
    """The ledger reference of what a Paddle refund or chargeback took back."""
    return f"paddle:adj:{adjustment_id}"


def signup_reference(user_id: str) -> str:
    """The ledger reference of a DJ's sign-up grant (the demo seed writes the same one)."""
    return f"signup:{user_id}"
