"""Values the Directus client hands back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuthTokens:
    """A user's session as Directus issues it (JSON mode)."""

    access_token: str
    refresh_token: str
    expires_ms: int
