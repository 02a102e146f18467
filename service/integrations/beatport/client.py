"""Our Beatport API v4 client: catalog lookups (cached, throttled) and the DJ's playlists.

Wire contract (FACTS.md): base ``https://api.beatport.com/v4``; every path ends in ``/`` (without it
Beatport answers 301, and a client following that redirect turns a POST into a GET), so paths are
given their slash here. Lists are ``{count, next, previous, page, per_page, results}`` and are followed
through ``next`` until it is null; search answers ``{"tracks": [...]}``. Errors are ``{"detail": …}``
or OAuth's ``{"error": …, "error_description": …}``. Tokens come from ``/auth/o/token/``
(authorization code with PKCE, or refresh); an access token about to expire is refreshed before the
request, and a 401 is answered by one refresh and one more try. Refreshed tokens are handed to
``on_tokens`` so the caller stores them (encrypted) before they are used.

The house HTTP base retries 429/5xx and connection failures on idempotent calls, honouring
``Retry-After``; every attempt first takes a slot from a token bucket in Redis shared by all processes.
Catalog answers are cached in Redis for ``cache_ttl_s``; the DJ's own data (``/my/…``) never is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import redis
import requests

from service.integrations.beatport.errors import (
    BEATPORT_ERRORS,
    BeatportAuthError,
    BeatportInvalid,
    BeatportNotConfigured,
)
from service.integrations.beatport.throttle import TokenBucket
from service.integrations.beatport.types import BeatportTrack, Tokens
from service.integrations.http import HttpClient

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.beatport.com/v4"
CACHE_PREFIX = "aidj:beatport:cache:"
THROTTLE_KEY = "aidj:beatport:throttle"
# A list is followed at most this many pages: a runaway ``next`` chain must end.
MAX_PAGES = 50


def with_slash(path: str) -> str:
    """``path`` with the trailing slash Beatport requires (query string kept)."""
    parts = urlsplit(path)
    if parts.path.endswith("/"):
        return path
    return urlunsplit(parts._replace(path=parts.path + "/"))


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` and its S256 ``code_challenge`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _ThrottledSession(requests.Session):
    """A session that takes a slot from the shared bucket before every attempt (retries included)."""

    def __init__(self, bucket: TokenBucket | None) -> None:
        super().__init__()
        self.bucket = bucket

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.bucket is not None:
            self.bucket.acquire()
        # Never follow redirects: a 301 means a path lost its slash, and following it drops a POST body.
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)


class BeatportClient(HttpClient):
    """Beatport v4 for one account (or none, for the token endpoint alone)."""

    errors = BEATPORT_ERRORS
    service_name = "Beatport"

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        client_id: str,
        client_secret: str,
        tokens: Tokens | None = None,
        on_tokens: Callable[[Tokens], None] | None = None,
        refresh_guard: Callable[[], AbstractContextManager[Any]] | None = None,
        stored_tokens: Callable[[], Tokens | None] | None = None,
        connection: redis.Redis | None = None,
        cache_ttl_s: int = 24 * 3600,
        rate_per_s: float = 5.0,
        burst: int = 10,
        refresh_margin_s: float = 300.0,
        **http_options: Any,
    ) -> None:
        if not (client_id and client_secret):
            raise BeatportNotConfigured("Beatport partner credentials are not configured")
        bucket = (
            TokenBucket(connection, THROTTLE_KEY, rate=rate_per_s, burst=burst)
            if connection is not None and rate_per_s > 0
            else None
        )
        super().__init__(base_url, session=_ThrottledSession(bucket), **http_options)
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens = tokens
        self.on_tokens = on_tokens
        self.refresh_guard = refresh_guard
        self.stored_tokens = stored_tokens
        self.connection = connection
        self.cache_ttl_s = cache_ttl_s
        self.refresh_margin_s = refresh_margin_s

    # -- house rules -----------------------------------------------------------------------------
    def error_details(self, response: requests.Response) -> tuple[str, str | None]:
        """Beatport's ``{"detail": …}`` or OAuth's ``{"error": …, "error_description": …}``."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code in (301, 302, 307, 308):
            return f"Beatport redirected to {response.headers.get('Location')}", "redirect"
        if isinstance(body, Mapping):
            if "error" in body:
                return str(body.get("error_description") or body["error"]), str(body["error"])
            if "detail" in body:
                return str(body["detail"]), None
        return super().error_details(response)

    def auth_headers(self) -> Mapping[str, str]:
        """The bearer token of the connected account."""
        if self.tokens is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens.access_token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with a slash-terminated path; refresh before expiry and once after a 401."""
        path = with_slash(path)
        authenticated = kwargs.get("authenticated", True)
        can_refresh = bool(authenticated and self.tokens and self.tokens.refresh_token)
        if can_refresh and self.tokens and self.tokens.expires_within(self.refresh_margin_s):
            self.refresh()
        try:
            response = super().request(method, path, **kwargs)
        except BeatportAuthError:
            if not can_refresh:
                raise
            log.info("Beatport answered 401; refreshing the token once")
            self.refresh()
            response = super().request(method, path, **kwargs)
        if 300 <= response.status_code < 400:
            raise BeatportInvalid(*self.error_details(response)[:1], status=response.status_code)
        return response

    # -- OAuth -----------------------------------------------------------------------------------
    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        """Where to send the DJ to grant access (authorization code with PKCE, S256)."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.base_url}/auth/o/authorize/?{query}"

    def _token(self, form: Mapping[str, str]) -> Tokens:
        body = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        try:
            data = self.request("POST", "/auth/o/token/", data=body, authenticated=False).json()
        except BeatportInvalid as exc:
            if exc.code in ("invalid_grant", "invalid_client", "unauthorized_client"):
                raise BeatportAuthError(exc.message, status=exc.status, code=exc.code) from exc
            raise
        tokens = Tokens.from_response(data)
        self.tokens = tokens
        if self.on_tokens is not None:
            self.on_tokens(tokens)
        return tokens

    def exchange_code(self, code: str, *, code_verifier: str, redirect_uri: str) -> Tokens:
        """Trade an authorization code (and its PKCE verifier) for tokens."""
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": redirect_uri,
            }
        )

    def refresh(self) -> Tokens:
        """New tokens from the refresh token; BeatportAuthError when the grant is gone.

        Beatport rotates refresh tokens, so two processes refreshing one account at once would leave
        one of them with a dead token. With ``refresh_guard`` (a lock shared by every process) and
        ``stored_tokens`` (the account's tokens as last stored), a refresh first looks whether another
        process has just refreshed, and uses those tokens instead.
        """
        guard = self.refresh_guard() if self.refresh_guard is not None else nullcontext()
        with guard:
            if self.stored_tokens is not None:
                stored = self.stored_tokens()
                if (
                    stored is not None
                    and self.tokens is not None
                    and stored.access_token != self.tokens.access_token
                    and not stored.expires_within(self.refresh_margin_s)
                ):
                    self.tokens = stored
                    return stored
            if self.tokens is None or not self.tokens.refresh_token:
                raise BeatportAuthError("not connected to Beatport")
            return self._token(
                {"grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token}
            )

    def revoke(self) -> None:
        """Revoke the refresh and access tokens (best effort: an unknown token is fine)."""
        if self.tokens is None:
            return
        for token, hint in (
            (self.tokens.refresh_token, "refresh_token"),
            (self.tokens.access_token, "access_token"),
        ):
            if not token:
                continue
            self.request(
                "POST",
                "/auth/o/revoke_token/",
                data={
                    "token": token,
                    "token_type_hint": hint,
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
                authenticated=False,
                idempotent=True,  # revoking twice is harmless
            )

    # -- reading, cached ------------------------------------------------------------------------
    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, cache: bool = True
    ) -> Any:
        """GET a JSON document, from the Redis cache when allowed and present."""
        key = None
        if cache and self.connection is not None and self.cache_ttl_s > 0:
            ident = json.dumps([with_slash(path), sorted((params or {}).items())], default=str)
            key = CACHE_PREFIX + hashlib.sha256(ident.encode()).hexdigest()
            hit = self.connection.get(key)
            if hit is not None:
                return json.loads(hit)
        data = self.request("GET", path, params=params).json()
        if key is not None:
            self.connection.set(key, json.dumps(data), ex=self.cache_ttl_s)  # type: ignore[union-attr]
        return data

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, cache: bool = True
    ) -> Iterator[Mapping[str, Any]]:
        """Every result of a list, following ``next`` until it is null."""
        page = self.get_json(path, params, cache=cache)
        for _ in range(MAX_PAGES):
            yield from page.get("results") or []
            following = page.get("next")
            if not following:
                return
            page = self.get_json(following, None, cache=cache)
        log.warning("Beatport list %s stopped after %d pages", path, MAX_PAGES)

    # -- catalog ---------------------------------------------------------------------------------
    def search_tracks(self, query: str, *, per_page: int = 10) -> list[BeatportTrack]:
        """Catalog search for tracks (the answer is ``{"tracks": [...]}``)."""
        data = self.get_json(
            "/catalog/search/", {"q": query, "type": "tracks", "per_page": per_page}
        )
        return [BeatportTrack.from_json(t) for t in (data.get("tracks") or [])]

    def tracks_by_isrc(self, isrc: str) -> list[BeatportTrack]:
        """Catalog tracks carrying an ISRC (several releases may share one recording)."""
        return [
            BeatportTrack.from_json(t)
            for t in self.paginate("/catalog/tracks/", {"isrc": isrc, "per_page": 25})
        ]

    def track(self, track_id: int) -> BeatportTrack:
        """One catalog track by id."""
        return BeatportTrack.from_json(self.get_json(f"/catalog/tracks/{int(track_id)}/"))

    # -- the DJ's playlists (never cached) ------------------------------------------------------
    def create_playlist(self, name: str) -> int:
        """Create a playlist in the connected account; returns its id."""
        return int(self.request("POST", "/my/playlists/", json={"name": name}).json()["id"])

    def rename_playlist(self, playlist_id: int, name: str) -> None:
        """Give a playlist a new name (idempotent)."""
        self.request(
            "PATCH", f"/my/playlists/{int(playlist_id)}/", json={"name": name}, idempotent=True
        )

    def playlist_items(self, playlist_id: int) -> list[Mapping[str, Any]]:
        """The playlist's items (``{id, position, track}``) in order."""
        return list(
            self.paginate(
                f"/my/playlists/{int(playlist_id)}/tracks/", {"per_page": 100}, cache=False
            )
        )

    def remove_playlist_items(self, playlist_id: int, item_ids: list[int]) -> None:
        """Remove items by playlist item id (not track id)."""
        if item_ids:
            self.request(
                "DELETE",
                f"/my/playlists/{int(playlist_id)}/tracks/bulk/",
                json={"item_ids": [int(i) for i in item_ids]},
            )

    def add_playlist_tracks(self, playlist_id: int, track_ids: list[int]) -> None:
        """Append catalog tracks, in order."""
        if track_ids:
            self.request(
                "POST",
                f"/my/playlists/{int(playlist_id)}/tracks/bulk/",
                json={"track_ids": [int(t) for t in track_ids]},
            )
