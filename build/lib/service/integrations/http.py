"""One HTTP base for every outside API: timeouts, TLS verification, safe retries, one error type.

Retries are limited to answers that mean "try again" (429, 502, 503, 504 and connection failures), and
to idempotent methods, because a POST may have been applied before the connection broke; a 429 is the
exception: it refused the request before handling it, so any method is sent again. A ``Retry-After``
header is honoured, up to a cap, so a busy server sets the pace.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "AIDJSets/0.1 (+https://aidjsets.example)"


class ApiError(Exception):
    """An outside API refused or failed a request; carries the HTTP status and the service's code."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}{', ' + self.code if self.code else ''})")
        return " ".join(parts)


@dataclass(frozen=True)
class ErrorClasses:
    """Which exception each kind of failure raises, so callers can catch one service's errors."""

    base: type[ApiError]
    auth: type[ApiError]  # 401: refresh once, then fail
    forbidden: type[ApiError]  # 403
    not_found: type[ApiError]  # 404
    invalid: type[ApiError]  # 400 and other 4xx: the request itself is wrong
    unavailable: type[ApiError]  # 429, 5xx, timeouts, connection refused: retry later

    def for_status(self, status: int) -> type[ApiError]:
        """The exception class for an HTTP error status."""
        if status == 401:
            return self.auth
        if status == 403:
            return self.forbidden
        if status == 404:
            return self.not_found
        if status in RETRYABLE_STATUSES or status >= 500:
            return self.unavailable
        return self.invalid


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpClient:
    """A ``requests.Session`` with the house rules; subclasses name their errors and parse bodies."""

    errors: ClassVar[ErrorClasses]
    service_name: ClassVar[str] = "service"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | tuple[float, float] = (3.05, 30.0),
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        max_retry_after_s: float = 30.0,
        verify: bool | str = True,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.session = session or requests.Session()
        self.session.verify = verify
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    # -- overridable ---------------------------------------------------------------------------
    def error_details(self, response: requests.Response) -> tuple[str, str | None]:
        """Message and machine code from an error body; subclasses know their service's shape."""
        return (response.text[:300] or response.reason or "request failed"), None

    def auth_headers(self) -> Mapping[str, str]:
        """Headers that authenticate a request (none by default)."""
        return {}

    # -- the one way to send -------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        stream: bool = False,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send a request, retrying only when that is safe; raise the service's error on failure."""
        method = method.upper()
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        merged = dict(self.auth_headers()) if authenticated else {}
        merged.update(headers or {})
        may_retry = method in IDEMPOTENT_METHODS if idempotent is None else idempotent

        def send() -> requests.Response:
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    files=files,
                    headers=merged,
                    timeout=self.timeout,
                    stream=stream,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise self.errors.unavailable(
                    f"{self.service_name} could not be reached: {exc.__class__.__name__}"
                ) from exc
            if response.status_code >= 400:
                raise self._error_for(response)
            return response

        def worth_another_try(exc: BaseException) -> bool:
            if not isinstance(exc, self.errors.unavailable):
                return False
            # A 429 refused the request before it was handled, so even a POST can be sent again.
            return may_retry or getattr(exc, "status", None) == 429

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(worth_another_try),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "%s %s %s failed (%s); retrying",
                self.service_name,
                method,
                path,
                state.outcome.exception() if state.outcome else "?",
            ),
        )
        return retrying(send)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        # Exponential backoff with full jitter keeps many workers from retrying in step.
        return random.uniform(0, self.backoff_s * 2 ** (state.attempt_number - 1))

    def _error_for(self, response: requests.Response) -> ApiError:
        message, code = self.error_details(response)
        cls = self.errors.for_status(response.status_code)
        return cls(
            message,
            status=response.status_code,
            code=code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
