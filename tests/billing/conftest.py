"""Paying for sets against the real stack: the site app, a fake Paddle speaking Paddle's wire format,
and packs and plans kept in ``token_packs`` as staff would keep them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.integrations.paddle.fake_paddle import FakePaddle, encode, paddle_signature
from tests.site import conftest as site_fixtures

# The site's fixtures, shared (the app on its own Redis database, DJs, jobs run in-process).
client = site_fixtures.client
dj_client = site_fixtures.dj_client
make_dj = site_fixtures.make_dj
run_jobs = site_fixtures.run_jobs
site_app = site_fixtures.site_app
site_redis = site_fixtures.site_redis


@dataclass(frozen=True)
class Catalogue:
    """The packs and the plan made for this module: price ids and tokens."""

    small: str  # 10 tokens for 900
    large: str  # 50 tokens for 3900
    plan: str  # 30 tokens a month for 1900
    retired: str  # 5 tokens, taken off sale (still credits)


@pytest.fixture(scope="module")
def catalogue(stack: Any) -> Catalogue:
    """Packs and a plan with price ids of their own (staff create them: the service only reads)."""
    tag = secrets.token_hex(4)
    names = Catalogue(f"pri_small_{tag}", f"pri_large_{tag}", f"pri_plan_{tag}", f"pri_old_{tag}")
    stack.admin.create_items(
        "token_packs",
        [
            {"kind": "pack", "name": f"Small {tag}", "paddle_price_id": names.small, "tokens": 10,
             "price_label": "€9", "active": True},
            {"kind": "pack", "name": f"Large {tag}", "paddle_price_id": names.large, "tokens": 50,
             "price_label": "€39", "active": True},
            {"kind": "plan", "name": f"Monthly {tag}", "paddle_price_id": names.plan, "tokens": 30,
             "price_label": "€19 / month", "active": True},
            {"kind": "pack", "name": f"Retired {tag}", "paddle_price_id": names.retired,
             "tokens": 5, "active": False},
        ],
    )  # fmt: skip
    return names


@pytest.fixture
def paddle(
    site_app: Flask, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakePaddle]:
    """A fake Paddle, and the site configured for it (secrets, client token, API, Paddle.js)."""
    fake = FakePaddle(
        prices={catalogue.small: 900, catalogue.large: 3900, catalogue.plan: 1900},
        plans={catalogue.plan},
    )
    for name, value in {
        "PADDLE_ENV": "sandbox",
        "PADDLE_CLIENT_TOKEN": fake.client_token,
        "PADDLE_WEBHOOK_SECRETS": ",".join(fake.notification_secrets),
        "PADDLE_API_KEY": fake.api_key,
        "PADDLE_API_URL": fake.url,
        "PADDLE_JS_URL": f"{fake.url}/paddle.js",
        "PADDLE_CHECKOUT_ORIGINS": fake.url,
    }.items():
        monkeypatch.setitem(site_app.config, name, value)
    yield fake
    fake.close()


def deliver(
    client: FlaskClient,
    fake: FakePaddle,
    event: dict[str, Any],
    *,
    secrets_: list[str] | None = None,
    timestamp: int | None = None,
    body: bytes | None = None,
) -> Any:
    """POST an event to the in-process site's /hooks/paddle exactly as Paddle (the fake) signs it."""
    raw = encode(event)
    header = paddle_signature(raw, secrets_ or fake.notification_secrets, timestamp)
    return client.post(
        "/hooks/paddle",
        data=raw if body is None else body,
        headers={"Paddle-Signature": header, "Content-Type": "application/json"},
    )
