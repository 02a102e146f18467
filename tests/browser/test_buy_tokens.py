"""From "Buy tokens" to a new balance in a real browser: the site's page, the fake Paddle.js overlay,
the signed webhook the fake Paddle posts, the worker's credit, and the page noticing it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from service import ledger
from service.stack.access import role_id
from tests.browser.conftest import screenshot
from tests.integrations.paddle.fake_paddle import FakePaddle

pytestmark = [pytest.mark.stack, pytest.mark.browser]


@pytest.fixture
def paddle_site(
    stack: Any, site_url: str, service_processes: Any
) -> Iterator[tuple[str, FakePaddle, str]]:
    """The running site configured for a fake Paddle (restarted with its variables, then without)."""
    price = f"pri_browser_{secrets.token_hex(4)}"
    stack.admin.create_item(
        "token_packs",
        {"kind": "pack", "name": "Browser pack", "paddle_price_id": price, "tokens": 10,
         "price_label": "€9", "active": True},
    )  # fmt: skip
    fake = FakePaddle(webhook_url=f"{site_url}/hooks/paddle", prices={price: 900})
    service_processes.extra_env.update({
        "PADDLE_ENV": "sandbox",
        "PADDLE_CLIENT_TOKEN": fake.client_token,
        "PADDLE_WEBHOOK_SECRETS": ",".join(fake.notification_secrets),
        "PADDLE_JS_URL": f"{fake.url}/paddle.js",
        "PADDLE_CHECKOUT_ORIGINS": fake.url,
        "PADDLE_API_URL": fake.url,
    })  # fmt: skip
    service_processes.stop_web()
    service_processes.start_web()
    try:
        yield site_url, fake, price
    finally:
        fake.close()
        for name in list(service_processes.extra_env):
            if name.startswith("PADDLE_"):
                del service_processes.extra_env[name]
        service_processes.stop_web()
        service_processes.start_web()


def test_buying_tokens_goes_from_the_buy_page_to_a_new_balance(stack, paddle_site, page) -> None:
    site_url, fake, price = paddle_site
    email, password = f"buy-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    user = stack.service.create_item(
        "directus_users",
        {"email": email, "password": password, "role": role_id("DJ"), "status": "active",
         "display_name": "Buyer", "email_verified_at": "2026-01-01T00:00:00Z"},
    )  # fmt: skip
    ledger.grant(stack.service, user["id"], 3, ledger.signup_reference(user["id"]))

    page.goto(f"{site_url}/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Buy tokens").click()
    page.get_by_role("heading", name="Buy tokens").wait_for()
    assert page.get_by_test_id("balance").inner_text() == "3"
    screenshot(page, "buy-01-packs")

    page.get_by_role("button", name="Buy Browser pack").click()
    overlay = page.frame_locator("iframe[title='Paddle Checkout']")
    overlay.get_by_text(re.compile(f"Price {price}")).wait_for()
    screenshot(page, "buy-02-overlay")
    overlay.get_by_role("button", name="Pay now").click()

    page.wait_for_url(re.compile(r"/tokens\?paid=1"))
    # The one worker may still be busy with earlier modules' jobs (an upload's analysis).
    page.get_by_text("Your tokens have arrived").wait_for(timeout=120_000)
    assert page.get_by_test_id("balance").inner_text() == "13"
    screenshot(page, "buy-03-credited")
    assert page.csp_errors == []

    [checkout] = fake.checkouts
    assert checkout["customData"] == {"user_id": user["id"]}
    assert checkout["items"] == [{"priceId": price, "quantity": 1}]
    assert checkout["environment"] == "sandbox"
    assert ledger.balance(stack.service, user["id"]) == 13
    page.goto(f"{site_url}/tokens")
    table = page.get_by_test_id("ledger").inner_text()
    assert "purchase" in table and "paddle:txn:txn_" in table
