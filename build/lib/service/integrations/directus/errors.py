"""What can go wrong talking to Directus, by what the caller should do next."""

from __future__ import annotations

from service.integrations.http import ApiError, ErrorClasses


class DirectusError(ApiError):
    """Directus refused the request; the message says why (mark the item failed)."""


class DirectusAuthError(DirectusError):
    """Not authenticated: a wrong or expired token, or wrong credentials."""


class DirectusForbidden(DirectusError):
    """Authenticated but not allowed (Directus also answers 403 for items that do not exist)."""


class DirectusNotFound(DirectusError):
    """The route or item does not exist."""


class DirectusInvalid(DirectusError):
    """The request itself is wrong (validation, a unique value taken, a URL not allowed)."""


class DirectusUnavailable(DirectusError):
    """Directus is down, overloaded or rate limiting: retry later."""


DIRECTUS_ERRORS = ErrorClasses(
    base=DirectusError,
    auth=DirectusAuthError,
    forbidden=DirectusForbidden,
    not_found=DirectusNotFound,
    invalid=DirectusInvalid,
    unavailable=DirectusUnavailable,
)
