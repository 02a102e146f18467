"""Beatport v4 objects as the service uses them, parsed from the wire format (see FACTS.md)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tokens:
    """One account's OAuth tokens; ``expires_at`` is a Unix time."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    scope: str | None = None

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, now: float | None = None) -> Tokens:
        """Tokens from the token endpoint's answer (``expires_in`` seconds from now)."""
        now = time.time() if now is None else now
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=now + float(data.get("expires_in") or 3600),
            scope=data.get("scope"),
        )

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        """Whether the access token is expired or will be within ``seconds``."""
        return self.expires_at - (time.time() if now is None else now) <= seconds

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form (encrypted before it is stored)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tokens:
        """The inverse of :meth:`to_json`."""
        return cls(
            data["access_token"],
            data.get("refresh_token"),
            float(data["expires_at"]),
            data.get("scope"),
        )


def _names(items: Any) -> tuple[str, ...]:
    return tuple(
        str(a.get("name")) for a in (items or []) if isinstance(a, Mapping) and a.get("name")
    )


def _camelot(key: Any) -> str | None:
    if not isinstance(key, Mapping):
        return None
    number, letter = key.get("camelot_number"), key.get("camelot_letter")
    if number and letter:
        return f"{int(number)}{str(letter).upper()}"
    return None


@dataclass(frozen=True)
class BeatportTrack:
    """A catalog track: what matching and enrichment read."""

    id: int
    name: str
    mix_name: str | None = None
    artists: tuple[str, ...] = ()
    remixers: tuple[str, ...] = ()
    bpm: float | None = None
    key: str | None = None  # Camelot, e.g. "8A"
    genre: str | None = None
    label: str | None = None
    isrc: str | None = None
    length_ms: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BeatportTrack:
        """Parse one track object; the label is under ``release``."""
        release = data.get("release") or {}
        genre = data.get("genre") or {}
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            mix_name=data.get("mix_name") or None,
            artists=_names(data.get("artists")),
            remixers=_names(data.get("remixers")),
            bpm=float(data["bpm"]) if data.get("bpm") else None,
            key=_camelot(data.get("key")),
            genre=genre.get("name") if isinstance(genre, Mapping) else None,
            label=((release.get("label") or {}).get("name"))
            if isinstance(release, Mapping)
            else None,
            isrc=data.get("isrc") or None,
            length_ms=int(data["length_ms"]) if data.get("length_ms") else None,
            raw=data,
        )

    @property
    def duration_s(self) -> float | None:
        """Length in seconds, if known."""
        return self.length_ms / 1000 if self.length_ms else None

    def summary(self) -> dict[str, Any]:
        """A short JSON form kept with a candidate match for the DJ to confirm."""
        return {
            "id": self.id,
            "name": self.name,
            "mix_name": self.mix_name,
            "artists": list(self.artists),
            "remixers": list(self.remixers),
            "bpm": self.bpm,
            "key": self.key,
            "genre": self.genre,
            "label": self.label,
            "isrc": self.isrc,
            "length_ms": self.length_ms,
        }
