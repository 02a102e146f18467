"""The Buy tokens and subscription pages: what a DJ sees, what the browser is trusted with, and what
happens when Paddle is not configured."""

from __future__ import annotations

import re

import pytest

from service import ledger
from tests.billing.conftest import deliver
from tests.integrations.paddle.fake_paddle import (
    paddle_id,
    subscription_event,
    transaction_completed,
)
from tests.site.conftest import csrf

pytestmark = pytest.mark.stack


def test_without_paddle_configured_the_purchase_pages_say_why_and_the_rest_works(
    site_app, dj_client, monkeypatch
) -> None:
    for name in ("PADDLE_CLIENT_TOKEN", "PADDLE_WEBHOOK_SECRETS"):
        monkeypatch.setitem(site_app.config, name, None)
    _dj, browser = dj_client
    for path in ("/tokens", "/subscription"):
        page = browser.get(path)
        assert page.status_code == 200
        assert 'data-testid="purchases-off"' in page.text
        assert "PADDLE_CLIENT_TOKEN, PADDLE_WEBHOOK_SECRETS not set" in page.text
        assert "paddle.js" not in page.text and 'class="buy"' not in page.text
        assert "cdn.paddle.com" not in page.headers["Content-Security-Policy"]
    assert re.search(r'data-testid="balance"[^>]*>3<', browser.get("/tokens").text)
    assert browser.get("/dashboard").status_code == 200
    assert site_app.test_client().post("/hooks/paddle", data=b"{}").status_code == 503


def test_the_buy_tokens_page_offers_the_packs_on_sale_with_the_djs_id_and_nothing_else(
    site_app, dj_client, paddle, catalogue
) -> None:
    dj, browser = dj_client
    page = browser.get("/tokens")
    assert page.status_code == 200
    offered = re.findall(r'data-price-id="([^"]+)"', page.text)
    assert catalogue.small in offered and catalogue.large in offered
    assert catalogue.retired not in offered and catalogue.plan not in offered  # off sale; a plan
    assert f'data-user-id="{dj.id}"' in page.text
    assert f'data-client-token="{paddle.client_token}"' in page.text
    assert 'data-environment="sandbox"' in page.text
    # No amount or token count is handed to the script: only price ids Paddle prices itself.
    checkout_box = re.search(r'<div id="paddle-checkout"[^>]*>', page.text, re.S).group(0)
    assert set(re.findall(r"(data-[a-z-]+)=", checkout_box)) == {
        "data-client-token", "data-environment", "data-user-id", "data-email", "data-success-url",
    }  # fmt: skip
    buttons = re.findall(r"<button[^>]*class=\"buy\"[^>]*>", page.text)
    assert buttons and all(
        set(re.findall(r"(data-[a-z-]+)=", b)) == {"data-price-id", "data-testid"} for b in buttons
    )
    policy = page.headers["Content-Security-Policy"]
    assert f"script-src 'self' {paddle.url}" in policy and f"frame-src {paddle.url}" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert page.headers["Cache-Control"] == "no-store"


def test_the_ledger_page_shows_every_movement_with_its_reason_reference_and_date(
    stack, client, dj_client, paddle, catalogue, run_jobs
) -> None:
    dj, browser = dj_client
    ledger.charge(stack.service, dj.id, 1, f"set:page-{dj.id}")
    purchase = transaction_completed(dj.id, [(catalogue.small, 1, 900)])
    deliver(client, paddle, purchase)
    run_jobs()
    page = browser.get("/tokens").text
    table = page.split('data-testid="ledger"', 1)[1]
    for reason, reference, delta in (
        ("signup grant", f"signup:{dj.id}", "+3"),
        ("set charge", f"set:page-{dj.id}", "-1"),
        ("purchase", f"paddle:txn:{purchase['data']['id']}", "+10"),
    ):
        assert re.search(
            rf"<td>\d{{4}}-\d\d-\d\d \d\d:\d\d UTC</td><td>{reason}</td><td><code>{re.escape(reference)}"
            rf"</code></td><td class=\"num\">{re.escape(delta)}</td>",
            table,
        ), reason
    assert browser.get("/tokens/balance.json").json == {"balance": 12}


def test_the_buy_pages_need_a_logged_in_dj(client) -> None:
    assert client.get("/tokens").status_code == 302
    assert client.get("/subscription").status_code == 302
    assert client.get("/tokens/balance.json").status_code == 404


def test_the_subscription_page_shows_plan_status_next_renewal_and_opens_paddles_portal(
    stack, site_app, client, dj_client, paddle, catalogue, run_jobs, monkeypatch
) -> None:
    dj, browser = dj_client
    page = browser.get("/subscription").text
    assert catalogue.plan in re.findall(r'data-price-id="([^"]+)"', page)  # plans to subscribe to
    sub = paddle_id("sub")
    customer = paddle_id("ctm")
    deliver(client, paddle, subscription_event(
        "subscription.created", dj.id, catalogue.plan, subscription_id=sub, customer_id=customer,
        management_base=paddle.url))  # fmt: skip
    run_jobs()
    page = browser.get("/subscription").text
    assert 'data-testid="subscription"' in page
    assert "Monthly" in page and "30 tokens every billing period" in page
    assert "status-active" in page
    assert re.search(r'data-testid="next-renewal">\d{4}-\d\d-\d\d \d\d:\d\d UTC<', page)
    assert 'class="buy"' not in page  # already subscribed
    # Cancel through Paddle's customer portal: a portal session from Paddle's API.
    answer = browser.post("/subscription/portal", data={"csrf_token": csrf(browser)})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{paddle.url}/portal/{customer}/{sub}/cancel"
    assert paddle.portal_sessions[-1] == {"customer_id": customer, "subscription_ids": [sub]}
    # Without an API key, Paddle's own cancel link from the latest subscription event is used.
    monkeypatch.setitem(site_app.config, "PADDLE_API_KEY", None)
    answer = browser.post("/subscription/portal", data={"csrf_token": csrf(browser)})
    assert answer.headers["Location"] == f"{paddle.url}/subscription/{sub}/hash/x/cancel"


def test_a_dj_without_a_subscription_has_no_portal_to_open(dj_client, paddle) -> None:
    _dj, browser = dj_client
    assert (
        browser.post("/subscription/portal", data={"csrf_token": csrf(browser)}).status_code == 404
    )


def test_a_credit_that_lands_before_the_thank_you_page_still_shows_as_arrived(
    dj_client, paddle, catalogue
) -> None:
    _dj, browser = dj_client
    page = browser.get("/tokens")
    assert "/tokens?paid=1&amp;was=3" in page.text  # the balance when checkout opened

    thanks = browser.get("/tokens?paid=1&was=3").text  # the credit is not in yet: 3 == 3
    assert 'data-awaiting="3"' in thanks
    earlier = browser.get("/tokens?paid=1&was=0").text  # it landed before the page: 3 != 0
    assert 'data-awaiting="0"' in earlier
