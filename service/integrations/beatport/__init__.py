"""Beatport API v4: catalog lookups and the DJ's playlists, on the house HTTP base."""

from service.integrations.beatport.client import BeatportClient, pkce_pair, with_slash
from service.integrations.beatport.errors import (
    BeatportAuthError,
    BeatportError,
    BeatportForbidden,
    BeatportInvalid,
    BeatportNotConfigured,
    BeatportNotFound,
    BeatportUnavailable,
)
from service.integrations.beatport.types import BeatportTrack, Tokens

__all__ = [
    "BeatportAuthError",
    "BeatportClient",
    "BeatportError",
    "BeatportForbidden",
    "BeatportInvalid",
    "BeatportNotConfigured",
    "BeatportNotFound",
    "BeatportTrack",
    "BeatportUnavailable",
    "Tokens",
    "pkce_pair",
    "with_slash",
]
