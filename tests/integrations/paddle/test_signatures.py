"""Paddle-Signature, with real crypto: signed by the fake exactly as Paddle signs, checked by the SDK."""

from __future__ import annotations

import time

import pytest

from service.integrations.paddle import sign, verify
from tests.integrations.paddle.fake_paddle import encode, paddle_signature, transaction_completed

SECRET = "pdl_ntfset_01hv_current_secret"
OLD_SECRET = "pdl_ntfset_01hu_previous_secret"
TOLERANCE = 60


@pytest.fixture
def body() -> bytes:
    return encode(
        transaction_completed("6f1c2d3e-0000-4000-8000-000000000001", [("pri_1", 1, 900)])
    )


def test_a_delivery_signed_as_paddle_signs_it_is_accepted(body) -> None:
    assert verify(paddle_signature(body, [SECRET]), body, [SECRET], TOLERANCE) is None


def test_a_tampered_body_is_refused(body) -> None:
    header = paddle_signature(body, [SECRET])
    tampered = body.replace(b'"quantity":1', b'"quantity":9')
    assert tampered != body
    assert verify(header, tampered, [SECRET], TOLERANCE) == "signature does not match"


def test_a_signature_made_with_another_secret_is_refused(body) -> None:
    header = paddle_signature(body, ["pdl_ntfset_someone_else"])
    assert verify(header, body, [SECRET], TOLERANCE) == "signature does not match"


def test_a_stale_timestamp_is_refused_even_when_the_signature_matches(body) -> None:
    old = int(time.time()) - TOLERANCE - 5
    assert verify(paddle_signature(body, [SECRET], old), body, [SECRET], TOLERANCE) == (
        "timestamp outside the accepted window"
    )


def test_a_timestamp_from_the_future_is_refused(body) -> None:
    ahead = int(time.time()) + TOLERANCE + 5
    assert verify(paddle_signature(body, [SECRET], ahead), body, [SECRET], TOLERANCE) is not None


def test_the_sdk_test_mode_variable_cannot_switch_off_the_time_check(body, monkeypatch) -> None:
    monkeypatch.setenv("TEST_MODE", "1")  # the SDK skips its own drift check when this is set
    old = int(time.time()) - 3600
    assert verify(paddle_signature(body, [SECRET], old), body, [SECRET], TOLERANCE) is not None


def test_a_missing_header_is_refused(body) -> None:
    assert verify(None, body, [SECRET], TOLERANCE) == "missing Paddle-Signature header"
    assert verify("", body, [SECRET], TOLERANCE) == "missing Paddle-Signature header"


@pytest.mark.parametrize(
    "header",
    ["h1=abc", "ts=;h1=abc", "ts=abc;h1=abc", "ts=1;h2=abc", "garbage", "ts=1=2;h1=x"],
)
def test_a_malformed_header_is_refused_not_raised(body, header) -> None:
    assert verify(header.replace("ts=1", f"ts={int(time.time())}"), body, [SECRET], TOLERANCE)


def test_during_rotation_either_secret_passes(body) -> None:
    both = [SECRET, OLD_SECRET]
    # Paddle sends one h1 per active secret while a secret is being rotated.
    assert verify(paddle_signature(body, [OLD_SECRET, SECRET]), body, both, TOLERANCE) is None
    # A sender that knows only the old secret, or only the new one, passes too.
    assert verify(paddle_signature(body, [OLD_SECRET]), body, both, TOLERANCE) is None
    assert verify(paddle_signature(body, [SECRET]), body, both, TOLERANCE) is None
    # Once the old secret is dropped from the configuration, it no longer opens the door.
    assert verify(paddle_signature(body, [OLD_SECRET]), body, [SECRET], TOLERANCE) is not None


def test_a_body_that_is_not_utf8_is_refused(body) -> None:
    raw = b"\xff\xfe" + body
    assert verify(paddle_signature(raw, [SECRET]), raw, [SECRET], TOLERANCE) is not None


def test_the_services_own_signer_agrees_with_paddles_format(body) -> None:
    ts = int(time.time())
    assert sign(SECRET, body, ts) == paddle_signature(body, [SECRET], ts)
    assert sign([SECRET, OLD_SECRET], body, ts) == paddle_signature(body, [SECRET, OLD_SECRET], ts)


def test_no_secret_configured_refuses_everything(body) -> None:
    assert verify(paddle_signature(body, [SECRET]), body, [], TOLERANCE) is not None
