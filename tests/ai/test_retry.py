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
