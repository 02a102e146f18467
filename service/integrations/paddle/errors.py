"""What can go wrong talking to Paddle's API, by what the caller should do next."""

from __future__ import annotations

from service.integrations.http import ApiError, ErrorClasses


class PaddleError(ApiError):
    """Paddle refused the request; the message says why (Paddle's ``error.detail``)."""


class PaddleAuthError(PaddleError):
    """The API key is wrong, revoked or for the other environment (sandbox vs production)."""


class PaddleForbidden(PaddleError):
    """The API key lacks the permission this call needs."""


class PaddleNotFound(PaddleError):
    """No such customer, subscription or transaction in this Paddle environment."""


class PaddleInvalid(PaddleError):
    """The request itself is wrong (a 4xx other than 401/403/404)."""


class PaddleUnavailable(PaddleError):
    """Paddle is unreachable, rate-limiting us or failing (429, 5xx, timeouts): retry later."""


PADDLE_ERRORS = ErrorClasses(
    base=PaddleError,
    auth=PaddleAuthError,
    forbidden=PaddleForbidden,
    not_found=PaddleNotFound,
    invalid=PaddleInvalid,
    unavailable=PaddleUnavailable,
)
