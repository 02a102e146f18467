"""Every webhook route refuses what its sender did not sign, before doing anything with it.

Generated from the URL map: a new ``/hooks/*`` route is covered without editing this. Each sender's
own signature scheme (rotation, replay, stale timestamps) is tested with its route's tests.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from flask import Flask

from service.web.app import create_app

REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('AIDJ_HOOK_TEST_REDIS_DB', '10')}"

FORGERIES = {
    "no signature": {},
    "garbage signature": {
        "X-AIDJ-Timestamp": str(int(time.time())),
        "X-AIDJ-Signature": "v1=" + "0" * 64,
        "Paddle-Signature": f"ts={int(time.time())};h1={'0' * 64}",
    },
    "a signature from the year 2000": {
        "X-AIDJ-Timestamp": "946684800",
        "X-AIDJ-Signature": "v1=" + "0" * 64,
        "Paddle-Signature": f"ts=946684800;h1={'0' * 64}",
    },
}


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app(
        {
            "REDIS_URL": REDIS_URL,
            "HOOK_SECRET": "hook-secret",
            "DIRECTUS_URL": "http://127.0.0.1:9",
            "SECRET_KEY": "x",
            "PADDLE_WEBHOOK_SECRETS": "pdl_ntfset_secret",
        }
    )


def _hook_routes(app: Flask) -> list[str]:
    return [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/hooks/")]


def test_there_are_hooks_to_check(app) -> None:
    assert "/hooks/directus" in _hook_routes(app)


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_an_unsigned_or_forged_delivery_is_refused_by_every_hook(app, forgery, caplog) -> None:
    body = json.dumps({"event_id": "evt_1", "event_type": "transaction.completed", "id": "e1"})
    for route in _hook_routes(app):
        response = app.test_client().post(
            route, data=body, headers={"Content-Type": "application/json", **FORGERIES[forgery]}
        )
        assert response.status_code == 401, f"{route} answered {response.status_code}"
    assert "rejected" in caplog.text.lower() or "refused" in caplog.text.lower()
