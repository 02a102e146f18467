"""Our thin Directus client: items, files, users' auth flows; nothing hidden, nothing cached."""

from service.integrations.directus.client import DirectusClient, mime_type_for
from service.integrations.directus.errors import (
    DirectusAuthError,
    DirectusError,
    DirectusForbidden,
    DirectusInvalid,
    DirectusNotFound,
    DirectusUnavailable,
)
from service.integrations.directus.types import AuthTokens

__all__ = [
    "AuthTokens",
    "DirectusAuthError",
    "DirectusClient",
    "DirectusError",
    "DirectusForbidden",
    "DirectusInvalid",
    "DirectusNotFound",
    "DirectusUnavailable",
    "mime_type_for",
]
