"""Payments on the local stack without Paddle: demo packs, and signed events from `aidj paddle`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service import ledger
from service.cli import main
from service.stack.demo import DEMO_CATALOGUE, seed_catalogue
from tests.pipelines.helpers import wait_for

pytestmark = pytest.mark.stack


def test_the_demo_packs_and_plan_are_seeded_once(stack) -> None:
    seed_catalogue(stack.admin)
    assert seed_catalogue(stack.admin) == 0
    prices = [p["paddle_price_id"] for p in DEMO_CATALOGUE]
    rows = stack.service.list_items("token_packs", filter={"paddle_price_id": {"_in": prices}})
    assert sorted(r["paddle_price_id"] for r in rows) == sorted(prices)
    assert {r["kind"] for r in rows} == {"pack", "plan"}


def test_a_signed_test_event_posted_to_a_running_stack_credits_the_dj(
    stack, service_processes, make_dj, monkeypatch
) -> None:
    # The stack's generated secret (secrets.json: paddle_webhook_secret) signs what `aidj paddle`
    # posts, and the running service accepts it like Paddle's own.
    assert stack.settings.paddle_webhook_secret.startswith("pdl_ntfset_local_")
    seed_catalogue(stack.admin)
    dj = make_dj(tokens=0)
    monkeypatch.setattr("service.cli.billing.load_settings", lambda env: stack.settings)
    result = CliRunner().invoke(
        main, ["paddle", "purchase", "--env", "test", "--email", dj.email,
               "--price", "pri_demo_starter", "--quantity", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "HTTP 200" in result.output
    wait_for(lambda: ledger.balance(stack.service, dj.id) == 20, 30, "the purchase to be credited")
    txn = next(e.reference for e in ledger.history(stack.service, dj.id) if e.reason == "purchase")
    result = CliRunner().invoke(
        main, ["paddle", "refund", "--env", "test", txn.removeprefix("paddle:txn:"),
               "--amount", "900"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    wait_for(lambda: ledger.balance(stack.service, dj.id) == 10, 30, "half the purchase refunded")
