"""Paddle Billing webhook payloads, parsed into the few values the service acts on.

The envelope is ``{event_id, event_type, occurred_at, notification_id, data}``. Amounts are strings
in the currency's minor units (``"1200"`` is 12.00). Only the fields read here are relied on;
everything else Paddle sends is kept verbatim in ``webhook_events.payload``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ENVIRONMENTS = ("sandbox", "production")


class PayloadError(ValueError):
    """The body is not a Paddle event we can read; the message says which field is wrong."""


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time from Paddle (``2026-11-29T10:00:00.123456Z``) as an aware datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{value!r} is not a time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{value!r} is not an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _amount(value: Any, what: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise PayloadError(f"{what} is not an amount in minor units: {value!r}") from None


def _custom_data(data: Mapping[str, Any]) -> dict[str, Any]:
    custom = data.get("custom_data")
    return dict(custom) if isinstance(custom, Mapping) else {}


@dataclass(frozen=True)
class Event:
    """The envelope of one notification."""

    event_id: str
    event_type: str
    occurred_at: datetime
    notification_id: str | None
    data: Mapping[str, Any]

    @property
    def object_id(self) -> str | None:
        """The id of what the event is about (``txn_…``, ``sub_…``, ``adj_…``)."""
        value = self.data.get("id")
        return str(value) if value else None

    @property
    def transaction_id(self) -> str | None:
        """The transaction a purchase or an adjustment belongs to."""
        if self.event_type.startswith("transaction."):
            return self.object_id
        value = self.data.get("transaction_id")
        return str(value) if value else None


def parse_event(body: Any) -> Event:
    """The envelope of a decoded body; PayloadError says what is missing."""
    if not isinstance(body, Mapping):
        raise PayloadError("the body is not a JSON object")
    for name in ("event_id", "event_type", "occurred_at"):
        if not isinstance(body.get(name), str) or not body[name] or len(body[name]) > 128:
            raise PayloadError(f"{name} must be a non-empty string of at most 128 characters")
    if not isinstance(body.get("data"), Mapping):
        raise PayloadError("data must be an object")
    occurred = parse_time(body["occurred_at"])
    assert occurred is not None
    notification = body.get("notification_id")
    return Event(
        event_id=body["event_id"],
        event_type=body["event_type"],
        occurred_at=occurred,
        notification_id=str(notification) if notification else None,
        data=body["data"],
    )


@dataclass(frozen=True)
class LineItem:
    """One line of a transaction: which price, how many."""

    price_id: str
    quantity: int


@dataclass(frozen=True)
class Transaction:
    """A completed transaction: who (custom_data, customer), what (items), how much (grand total)."""

    id: str
    customer_id: str | None
    subscription_id: str | None
    origin: str | None
    items: tuple[LineItem, ...]
    grand_total: int
    currency_code: str | None
    custom_data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Transaction:
        """From a ``transaction.*`` event's ``data``."""
        items = []
        for raw in data.get("items") or []:
            price = raw.get("price") or {}
            price_id = price.get("id") or raw.get("price_id")
            if not price_id:
                raise PayloadError("a transaction item has no price id")
            quantity = raw.get("quantity", 1)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise PayloadError(f"a transaction item has quantity {quantity!r}")
            items.append(LineItem(str(price_id), quantity))
        if not data.get("id"):
            raise PayloadError("the transaction has no id")
        totals = (data.get("details") or {}).get("totals") or {}
        return cls(
            id=str(data["id"]),
            customer_id=data.get("customer_id"),
            subscription_id=data.get("subscription_id"),
            origin=data.get("origin"),
            items=tuple(items),
            grand_total=_amount(totals.get("grand_total", 0), "details.totals.grand_total"),
            currency_code=data.get("currency_code"),
            custom_data=_custom_data(data),
        )


@dataclass(frozen=True)
class Adjustment:
    """A refund, credit or chargeback against a transaction."""

    id: str
    transaction_id: str
    action: str
    status: str
    total: int
    currency_code: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Adjustment:
        """From an ``adjustment.*`` event's ``data``."""
        for name in ("id", "transaction_id", "action", "status"):
            if not data.get(name):
                raise PayloadError(f"the adjustment has no {name}")
        totals = data.get("totals") or {}
        return cls(
            id=str(data["id"]),
            transaction_id=str(data["transaction_id"]),
            action=str(data["action"]),
            status=str(data["status"]),
            total=_amount(totals.get("total", 0), "totals.total"),
            currency_code=data.get("currency_code") or totals.get("currency_code"),
        )


@dataclass(frozen=True)
class Subscription:
    """A subscription's state as one event tells it."""

    id: str
    status: str
    customer_id: str | None
    price_ids: tuple[str, ...]
    current_period_starts_at: datetime | None
    current_period_ends_at: datetime | None
    next_billed_at: datetime | None
    canceled_at: datetime | None
    scheduled_change: dict[str, Any] | None
    cancel_url: str | None
    update_payment_method_url: str | None
    custom_data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Subscription:
        """From a ``subscription.*`` event's ``data``."""
        if not data.get("id") or not data.get("status"):
            raise PayloadError("the subscription has no id or status")
        period = data.get("current_billing_period") or {}
        urls = data.get("management_urls") or {}
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            customer_id=data.get("customer_id"),
            price_ids=tuple(
                str((item.get("price") or {}).get("id"))
                for item in data.get("items") or []
                if (item.get("price") or {}).get("id")
            ),
            current_period_starts_at=parse_time(period.get("starts_at")),
            current_period_ends_at=parse_time(period.get("ends_at")),
            next_billed_at=parse_time(data.get("next_billed_at")),
            canceled_at=parse_time(data.get("canceled_at")),
            scheduled_change=data.get("scheduled_change") or None,
            cancel_url=urls.get("cancel"),
            update_payment_method_url=urls.get("update_payment_method"),
            custom_data=_custom_data(data),
        )


@dataclass(frozen=True)
class PortalLinks:
    """Customer portal links from a portal session: the overview and one subscription's actions."""

    overview: str
    cancel_subscription: str | None = None
    update_payment_method: str | None = None
