"""A DJ's Beatport link: tokens encrypted at rest, a client that keeps them fresh, catalog values.

The integration is on when ``BEATPORT_CLIENT_ID``, ``BEATPORT_CLIENT_SECRET`` and
``BEATPORT_REDIRECT_URI`` are set. Tokens live in ``beatport_links`` (one row per DJ, deleted with the
account by the relation's CASCADE) as one Fernet token of ``{access_token, refresh_token, expires_at,
scope}``. The keys come from ``BEATPORT_TOKEN_KEYS`` (comma-separated, newest first): the first
encrypts, every key decrypts (``MultiFernet``), and a row read under an older key is re-encrypted under
the newest, so rotating is "prepend a key, wait, drop the old one". Refreshing is done under a per-DJ Redis lock, re-reading the
stored tokens first: Beatport rotates refresh tokens, so two workers refreshing at once would leave one
with a dead token.

Catalog values fill only what a track lacks, and never a field whose source is the DJ's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import redis
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.integrations.beatport import BeatportClient, BeatportError, Tokens
from service.integrations.directus import DirectusClient

log = logging.getLogger(__name__)

COLLECTION = "beatport_links"
REQUIRED_SETTINGS = ("BEATPORT_CLIENT_ID", "BEATPORT_CLIENT_SECRET", "BEATPORT_REDIRECT_URI")
REFRESH_MARGIN_S = 300.0
SOURCE = "beatport"
# Track columns a catalog match may fill, and how each is read from a candidate summary.
FILLABLE = ("bpm", "key", "genre", "label", "isrc", "duration_s")


class NotConnected(RuntimeError):
    """The DJ has no Beatport link (or the integration is off)."""


def configured(config: Mapping[str, Any]) -> bool:
    """Whether the integration is on: partner credentials and the redirect URI are set."""
    return all(config.get(name) for name in REQUIRED_SETTINGS)


def _keys(config: Mapping[str, Any]) -> list[Fernet]:
    """The token keys, newest first.

    Production refuses to start without ``BEATPORT_TOKEN_KEYS`` (service/config.py). Elsewhere (a dev
    or test stack) a key is derived from the site's secret key when none is given, so setting the
    three partner settings is enough to try the integration locally.
    """
    raw = [k.strip() for k in str(config.get("BEATPORT_TOKEN_KEYS") or "").split(",") if k.strip()]
    if not raw and config.get("AIDJ_ENV") != "production" and config.get("SECRET_KEY"):
        digest = hashlib.sha256(b"aidj-beatport-tokens:" + str(config["SECRET_KEY"]).encode())
        raw = [base64.urlsafe_b64encode(digest.digest()).decode()]
    if not raw:
        raise NotConnected("BEATPORT_TOKEN_KEYS is not set")
    return [Fernet(k.encode()) for k in raw]


def encrypt_tokens(config: Mapping[str, Any], tokens: Tokens) -> str:
    """The stored form of ``tokens``, under the newest key."""
    return _keys(config)[0].encrypt(json.dumps(tokens.to_json()).encode()).decode()


def decrypt_tokens(config: Mapping[str, Any], stored: str) -> tuple[Tokens, bool]:
    """The tokens from their stored form, and whether they were under an older key."""
    keys = _keys(config)
    try:
        return Tokens.from_json(json.loads(keys[0].decrypt(stored.encode()))), False
    except InvalidToken:
        data = MultiFernet(keys).decrypt(stored.encode())  # raises InvalidToken for unknown keys
        return Tokens.from_json(json.loads(data)), True


def api_client(
    config: Mapping[str, Any],
    connection: redis.Redis | None,
    tokens: Tokens | None = None,
    **kw: Any,
) -> BeatportClient:
    """A Beatport client from the configuration (cache and throttle on ``connection``)."""
    return BeatportClient(
        str(config["BEATPORT_API_URL"]),
        client_id=str(config.get("BEATPORT_CLIENT_ID") or ""),
        client_secret=str(config.get("BEATPORT_CLIENT_SECRET") or ""),
        tokens=tokens,
        connection=connection,
        cache_ttl_s=int(config["BEATPORT_CACHE_TTL_S"]),
        rate_per_s=float(config["BEATPORT_RATE_PER_S"]),
        burst=int(config["BEATPORT_BURST"]),
        refresh_margin_s=REFRESH_MARGIN_S,
        timeout=(3.05, float(config["HTTP_TIMEOUT_S"])),
        **kw,
    )


def get_link(directus: DirectusClient, user_id: str) -> dict[str, Any] | None:
    """The DJ's link row, or None."""
    rows = directus.list_items(
        COLLECTION,
        filter={"user": {"_eq": user_id}},
        fields=["id", "tokens", "expires_at", "scope", "date_created"],
        limit=1,
    )
    return rows[0] if rows else None


def save_tokens(
    directus: DirectusClient, config: Mapping[str, Any], user_id: str, tokens: Tokens
) -> None:
    """Store (or replace) the DJ's tokens, encrypted."""
    values = {
        "tokens": encrypt_tokens(config, tokens),
        "expires_at": datetime.fromtimestamp(tokens.expires_at, UTC).isoformat(timespec="seconds"),
        "scope": (tokens.scope or "")[:255] or None,
    }
    existing = get_link(directus, user_id)
    if existing is None:
        directus.create_item(COLLECTION, {"user": user_id, **values})
    else:
        directus.update_item(COLLECTION, existing["id"], values)


def client_for(
    directus: DirectusClient, config: Mapping[str, Any], connection: redis.Redis, user_id: str
) -> BeatportClient:
    """A client acting as the DJ (NotConnected if none); it refreshes the tokens before a request when
    they expire within ``REFRESH_MARGIN_S``, or after a 401, one process at a time, and stores them."""
    if not configured(config):
        raise NotConnected("the Beatport integration is off")
    link = get_link(directus, user_id)
    if link is None:
        raise NotConnected("this DJ has not connected Beatport")
    tokens, old_key = decrypt_tokens(config, link["tokens"])

    def store(fresh: Tokens) -> None:
        save_tokens(directus, config, user_id, fresh)

    def stored() -> Tokens | None:
        current = get_link(directus, user_id)
        if current is None:
            raise NotConnected("this DJ disconnected Beatport")
        return decrypt_tokens(config, current["tokens"])[0]

    if old_key:
        store(tokens)  # rotation: re-encrypt under the newest key
    # One refresh at a time per DJ, across processes (see BeatportClient.refresh).
    return api_client(
        config,
        connection,
        tokens,
        on_tokens=store,
        refresh_guard=lambda: connection.lock(
            f"aidj:beatport:refresh:{user_id}", timeout=60, blocking_timeout=60
        ),
        stored_tokens=stored,
    )


def disconnect(
    directus: DirectusClient,
    config: Mapping[str, Any],
    connection: redis.Redis | None,
    user_id: str,
) -> bool:
    """Revoke the DJ's tokens at Beatport (best effort) and delete them; False if none were there."""
    link = get_link(directus, user_id)
    if link is None:
        return False
    try:
        tokens, _ = decrypt_tokens(config, link["tokens"])
        api_client(config, connection, tokens).revoke()
    except (BeatportError, InvalidToken, NotConnected) as exc:
        # The tokens go either way: a DJ who disconnects must not stay connected because Beatport
        # was down or a key was dropped.
        log.warning("could not revoke a Beatport grant (%s); deleting the tokens anyway", exc)
    directus.delete_item(COLLECTION, link["id"])
    return True


def match_changes(track: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The track changes a catalog entry brings: ``beatport_id`` and each missing value.

    A value already on the track from its tags, the playlist or the DJ is kept, and a field the DJ
    has set (source ``dj``) is never touched even if empty: that was the DJ's choice. A value the
    audio analysis guessed gives way to the catalog's, which the label published.
    """
    sources = dict(track.get("sources") or {})
    offered: dict[str, Any] = {
        "bpm": summary.get("bpm"),
        "key": summary.get("key"),
        "genre": summary.get("genre"),
        "label": summary.get("label"),
        "isrc": summary.get("isrc"),
        "duration_s": (summary["length_ms"] / 1000) if summary.get("length_ms") else None,
    }
    changes: dict[str, Any] = {"beatport_id": int(summary["id"])}
    for name in FILLABLE:
        value = offered[name]
        guessed = sources.get(name) == "analysis"
        present = track.get(name) not in (None, "") and not guessed
        if value in (None, "") or present or sources.get(name) == "dj":
            continue
        changes[name] = value
        sources[name] = SOURCE
    if sources != (track.get("sources") or {}):
        changes["sources"] = sources
    return changes
