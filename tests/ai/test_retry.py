"""Retries are bounded, back off exponentially, and honour a server's hint up to a cap."""

from __future__ import annotations

import pytest

from service.ai import AIUnavailable
from service.ai.retry import Retryable, RetryPolicy, call_with_retries


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=5, backoff_s=1.0, max_delay_s=5.0)

    assert [policy.delay(n, None) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_server_hint_lengthens_the_wait_but_never_past_the_cap() -> None:
    policy = RetryPolicy(max_retries=2, backoff_s=1.0, max_delay_s=10.0)

    assert policy.delay(0, 3.0) == 3.0
    assert policy.delay(0, 13.0) == 10.0
    assert policy.delay(2, 0.5) == 4.0


def test_a_call_that_keeps_failing_is_tried_a_bounded_number_of_times() -> None:
    calls: list[int] = []
    waits: list[float] = []

    def failing() -> str:
        calls.append(1)
        raise Retryable("gemini answered HTTP 503 UNAVAILABLE")

    with pytest.raises(AIUnavailable, match=r"HTTP 503 UNAVAILABLE \(gave up after 3 attempts\)"):
        call_with_retries(failing, RetryPolicy(2, 0.25, 1.0), "gemini", sleep=waits.append)

    assert len(calls) == 3
    assert waits == [0.25, 0.5]


def test_a_call_that_recovers_returns_its_value() -> None:
    outcomes = iter([Retryable("429"), "answer"])

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retries(flaky, RetryPolicy(1, 0.0, 0.0), "x", sleep=lambda _: None) == "answer"


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def broken() -> str:
        calls.append(1)
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        call_with_retries(broken, RetryPolicy(3, 0.0, 0.0), "x", sleep=lambda _: None)
    assert len(calls) == 1


def test_a_gemini_429_asks_for_the_delay_in_its_retry_info() -> None:
    from google.genai import errors

    from service.ai.gemini import retry_delay_s

    from .fake_servers import load_fixture

    exc = errors.ClientError(429, load_fixture("gemini_error_429.json"))

    assert retry_delay_s(exc) == 13.0
    assert retry_delay_s(errors.ServerError(500, load_fixture("gemini_error_500.json"))) is None


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after-ms": "120"}, 0.12),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "Fri, 27 Nov 2026 05:00:00 GMT"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_an_openai_429_asks_for_the_delay_in_its_headers(headers: object, wait: float) -> None:
    from service.ai.litellm_backend import retry_after_s

    assert retry_after_s(headers) == wait
