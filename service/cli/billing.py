"""``aidj paddle …``: post Paddle events, signed with the stack's webhook secret, to a running stack.

For trying payments on ``make run`` without Paddle: the local stack generates its notification secret
(``var/<env>/secrets.json``, ``paddle_webhook_secret``) and the service accepts events signed with it
exactly as it accepts Paddle's. The events are minimal Paddle Billing payloads (FACTS: envelope, items
with price ids and quantities, totals in minor units as strings, custom_data.user_id).
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

import click
import requests

from service.cli.stack import env_option
from service.integrations.paddle import sign
from service.stack.settings import load_settings


def register(main: click.Group) -> None:
    """Attach the Paddle commands."""
    main.add_command(paddle_group)


def _id(prefix: str) -> str:
    return f"{prefix}_01{secrets.token_hex(12)}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _refuse_production(env_name: str) -> None:
    if env_name == "production":
        # These events credit tokens nobody paid for: only for stacks on this machine.
        raise click.ClickException("aidj paddle posts test events: never to production")


def _post(env_name: str, event: dict[str, Any]) -> None:
    settings = load_settings(env_name)
    if not settings.paddle_webhook_secret:
        raise click.ClickException(
            "this stack has no Paddle webhook secret (PADDLE_WEBHOOK_SECRETS)"
        )
    body = json.dumps(event, separators=(",", ":")).encode()
    url = f"{settings.site_url}/hooks/paddle"
    try:
        answer = requests.post(
            url,
            data=body,
            headers={"Paddle-Signature": sign(settings.paddle_webhook_secret, body),
                     "Content-Type": "application/json"},
            timeout=10,
        )  # fmt: skip
    except requests.RequestException as exc:
        raise click.ClickException(f"{url} did not answer: {exc}") from exc
    click.echo(
        f"{event['event_type']} {event['event_id']} → HTTP {answer.status_code} {answer.text.strip()}"
    )
    click.echo(json.dumps(event["data"], indent=2) if answer.ok else "")
    if not answer.ok:
        sys.exit(1)


def _user_id(env_name: str, email: str) -> str:
    from service.integrations.directus import DirectusClient

    settings = load_settings(env_name)
    client = DirectusClient(settings.directus_url, settings.service_token)
    found = client.list_items("directus_users", filter={"email": {"_eq": email}}, fields=["id"])
    if not found:
        raise click.ClickException(f"no account with the address {email}")
    return str(found[0]["id"])


@click.group("paddle")
def paddle_group() -> None:
    """Post signed Paddle events to a running local stack (no Paddle account needed)."""


@paddle_group.command("purchase")
@env_option
@click.option("--email", required=True, help="The DJ who pays (custom_data.user_id is their id).")
@click.option("--price", "price_id", required=True, help="A Paddle price id kept in token_packs.")
@click.option("--quantity", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--amount", type=click.IntRange(min=0), default=900, show_default=True,
              help="Unit price in minor units (what a refund's share is measured against).")  # fmt: skip
def purchase_command(env_name: str, email: str, price_id: str, quantity: int, amount: int) -> None:
    """A transaction.completed for QUANTITY of PRICE, paid by the DJ with EMAIL."""
    _refuse_production(env_name)
    total = str(quantity * amount)
    event = {
        "event_id": _id("evt"), "event_type": "transaction.completed", "occurred_at": _now(),
        "notification_id": _id("ntf"),
        "data": {
            "id": _id("txn"), "status": "completed", "origin": "web", "currency_code": "EUR",
            "customer_id": _id("ctm"), "subscription_id": None,
            "custom_data": {"user_id": _user_id(env_name, email)},
            "items": [{"price": {"id": price_id, "unit_price": {"amount": str(amount),
                                                              "currency_code": "EUR"}},
                       "price_id": price_id, "quantity": quantity}],
            "details": {"totals": {"subtotal": total, "tax": "0", "total": total,
                                   "grand_total": total, "currency_code": "EUR"}},
        },
    }  # fmt: skip
    _post(env_name, event)


@paddle_group.command("refund")
@env_option
@click.argument("transaction_id")
@click.option("--amount", type=click.IntRange(min=1), required=True,
              help="Refunded total in minor units (the purchase's total for a full refund).")  # fmt: skip
@click.option("--chargeback", is_flag=True, help="A chargeback instead of a refund.")
def refund_command(env_name: str, transaction_id: str, amount: int, chargeback: bool) -> None:
    """An approved adjustment.updated (refund or chargeback) of AMOUNT against TRANSACTION_ID."""
    _refuse_production(env_name)
    event = {
        "event_id": _id("evt"), "event_type": "adjustment.updated", "occurred_at": _now(),
        "notification_id": _id("ntf"),
        "data": {
            "id": _id("adj"), "transaction_id": transaction_id,
            "action": "chargeback" if chargeback else "refund", "status": "approved",
            "currency_code": "EUR", "totals": {"total": str(amount), "currency_code": "EUR"},
        },
    }  # fmt: skip
    _post(env_name, event)
