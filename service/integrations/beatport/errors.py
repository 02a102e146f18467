"""What can go wrong talking to Beatport, by what the caller should do next."""

from __future__ import annotations

from service.integrations.http import ApiError, ErrorClasses


class BeatportError(ApiError):
    """Beatport refused the request; the message says why (mark the item failed)."""


class BeatportAuthError(BeatportError):
    """Not authenticated: the token expired and could not be refreshed, or the grant was revoked."""


class BeatportForbidden(BeatportError):
    """Authenticated but not allowed (e.g. the partner credentials lack this scope)."""


class BeatportNotFound(BeatportError):
    """The route or object does not exist."""


class BeatportInvalid(BeatportError):
    """The request itself is wrong (a bad parameter, an unknown track id, a code already used)."""


class BeatportUnavailable(BeatportError):
    """Beatport is down, overloaded or rate limiting: retry later."""


class BeatportNotConfigured(BeatportError):
    """No partner credentials (BEATPORT_CLIENT_ID/SECRET): the integration is off."""


BEATPORT_ERRORS = ErrorClasses(
    base=BeatportError,
    auth=BeatportAuthError,
    forbidden=BeatportForbidden,
    not_found=BeatportNotFound,
    invalid=BeatportInvalid,
    unavailable=BeatportUnavailable,
)
