"""Bounded retries with exponential backoff for model calls (429 and 5xx only), on tenacity.

Model calls are idempotent (asking again costs tokens, changes nothing), so retrying is safe; it is
bounded because a set job is waiting and the local provider is always there to fall back on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from service.ai.errors import AIUnavailable

__all__ = ["RetryPolicy", "Retryable", "call_with_retries"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Retryable(AIUnavailable):
    """A transient failure (429, 5xx, connection refused) worth another attempt."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: ``max_retries`` after the first attempt."""

    max_retries: int = 2
    backoff_s: float = 1.0  # first wait; doubles each time
    max_delay_s: float = 10.0  # no single wait is longer, whatever the server asks for

    def delay(self, retry_number: int, retry_after_s: float | None) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based), honouring a server hint."""
        wait = self.backoff_s * (2**retry_number)
        if retry_after_s is not None:
            wait = max(wait, retry_after_s)
        return min(wait, self.max_delay_s)


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    provider: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``, retrying on ``Retryable`` up to the policy's bound, then raise AIUnavailable."""
    attempts = policy.max_retries + 1
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=lambda state: policy.delay(
            state.attempt_number - 1, getattr(_exception(state), "retry_after_s", None)
        ),
        retry=retry_if_exception_type(Retryable),
        sleep=sleep,
        before_sleep=lambda state: log.warning(
            "%s: %s; retrying in %.2f s",
            provider,
            _exception(state),
            state.next_action.sleep if state.next_action else 0.0,
        ),
        reraise=True,
    )
    try:
        return retrying(call)
    except Retryable as exc:
        plural = "s" if attempts > 1 else ""
        raise AIUnavailable(f"{exc} (gave up after {attempts} attempt{plural})") from exc


def _exception(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None
