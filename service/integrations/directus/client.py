"""Directus REST over our HTTP base: items CRUD with query options, paging, files, auth passthrough."""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import requests

from service.integrations.directus.errors import DIRECTUS_ERRORS
from service.integrations.directus.types import AuthTokens
from service.integrations.http import HttpClient

# mimetypes misses or misnames several formats DJs upload; Directus stores what we send.
_MIME_TYPES = {
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".wav": "audio/wav",
    ".m3u": "audio/x-mpegurl",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".xml": "application/xml",
    ".nml": "application/xml",
    ".csv": "text/csv",
}


#: The log-in payload field the aidj-guard extension checks (extensions/aidj-guard).
LOGIN_PROOF_FIELD = "aidj_login_proof"


def login_proof(secret: str, timestamp: int, email: str) -> str:
    """``<timestamp>.<hex>``: HMAC-SHA256 over ``login.<timestamp>.<email lower-cased>``."""
    message = f"login.{timestamp}.{email.lower()}".encode()
    return f"{timestamp}.{hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}"


def mime_type_for(filename: str) -> str:
    """The MIME type to store an upload under, judged by its name."""
    suffix = Path(filename).suffix.lower()
    return (
        _MIME_TYPES.get(suffix) or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )


def _query(
    *,
    filter: Mapping[str, Any] | None = None,
    fields: Sequence[str] | None = None,
    sort: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    search: str | None = None,
    aggregate: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if filter:
        params["filter"] = json.dumps(filter, separators=(",", ":"))
    if fields:
        params["fields"] = ",".join(fields)
    if sort:
        params["sort"] = ",".join(sort)
    if limit is not None:
        params["limit"] = limit
    if offset:
        params["offset"] = offset
    if search:
        params["search"] = search
    for func, field in (aggregate or {}).items():
        params[f"aggregate[{func}]"] = field
    return params


class DirectusClient(HttpClient):
    """Talks to one Directus with one token (the service's, a user's, or none)."""

    errors = DIRECTUS_ERRORS
    service_name = "Directus"

    def __init__(self, base_url: str, token: str | None = None, **options: Any) -> None:
        super().__init__(base_url, **options)
        self.token = token
        self._options = options

    def with_token(self, token: str | None) -> DirectusClient:
        """The same Directus, seen with another token (e.g. a DJ's access token)."""
        return DirectusClient(self.base_url, token, **self._options)

    def auth_headers(self) -> Mapping[str, str]:
        """Bearer token, when the client has one."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def error_details(self, response: requests.Response) -> tuple[str, str | None]:
        """Directus answers ``{"errors": [{"message", "extensions": {"code"}}]}``."""
        try:
            first = response.json()["errors"][0]
            return first.get("message") or response.reason, first.get("extensions", {}).get("code")
        except (ValueError, KeyError, IndexError, TypeError):
            return super().error_details(response)

    # -- plumbing ---------------------------------------------------------------------------------
    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the ``data`` member of the answer (None for 204)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        body = response.json()
        return body.get("data") if isinstance(body, dict) and "data" in body else body

    def ping(self) -> bool:
        """True when Directus answers ``/server/ping`` (no auth needed)."""
        return self.request("GET", "/server/ping", authenticated=False).text.strip() == "pong"

    # -- items ------------------------------------------------------------------------------------
    def _items_path(self, collection: str) -> str:
        # System collections have their own routes: directus_users → /users.
        if collection.startswith("directus_"):
            return "/" + collection.removeprefix("directus_")
        return f"/items/{collection}"

    def list_items(self, collection: str, **query: Any) -> list[dict[str, Any]]:
        """Items matching ``filter``, with ``fields``, ``sort``, ``limit``, ``offset``, ``search``."""
        return self.call("GET", self._items_path(collection), params=_query(**query))

    def iter_items(
        self, collection: str, *, page_size: int = 200, **query: Any
    ) -> Iterator[dict[str, Any]]:
        """Every matching item, fetched a page at a time (sort by a unique field for stable pages)."""
        query.setdefault("sort", ["id"])
        offset = 0
        while True:
            page = self.list_items(collection, limit=page_size, offset=offset, **query)
            yield from page
            if len(page) < page_size:
                return
            offset += page_size

    def count(self, collection: str, filter: Mapping[str, Any] | None = None) -> int:
        """How many items match ``filter``."""
        data = self.call(
            "GET",
            self._items_path(collection),
            params=_query(filter=filter, aggregate={"count": "*"}),
        )
        return int(data[0]["count"]) if data else 0

    def get_item(
        self, collection: str, key: str | int, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """One item by primary key; DirectusForbidden or DirectusNotFound when it is not there."""
        return self.call(
            "GET", f"{self._items_path(collection)}/{key}", params=_query(fields=fields)
        )

    def create_item(self, collection: str, item: Mapping[str, Any]) -> dict[str, Any]:
        """Create one item and return it as stored."""
        return self.call("POST", self._items_path(collection), json=dict(item))

    def create_items(
        self, collection: str, items: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Create many items in one request (one transaction in Directus)."""
        batch = [dict(item) for item in items]
        if not batch:
            return []
        return self.call("POST", self._items_path(collection), json=batch)

    def update_item(
        self, collection: str, key: str | int, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change fields of one item and return it as stored."""
        return self.call("PATCH", f"{self._items_path(collection)}/{key}", json=dict(changes))

    def update_items(
        self, collection: str, keys: Sequence[str | int], changes: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Apply the same changes to many items in one request."""
        if not keys:
            return []
        return self.call(
            "PATCH", self._items_path(collection), json={"keys": list(keys), "data": dict(changes)}
        )

    def update_batch(
        self, collection: str, items: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Apply per-item changes (each with its primary key) in one request."""
        batch = [dict(item) for item in items]
        if not batch:
            return []
        return self.call("PATCH", self._items_path(collection), json=batch)

    def delete_item(self, collection: str, key: str | int) -> None:
        """Delete one item."""
        self.call("DELETE", f"{self._items_path(collection)}/{key}")

    def delete_items(self, collection: str, keys: Sequence[str | int]) -> None:
        """Delete many items in one request."""
        if keys:
            self.call("DELETE", self._items_path(collection), json=list(keys))

    def get_singleton(self, collection: str) -> dict[str, Any]:
        """A singleton collection's one item."""
        return self.call("GET", f"/items/{collection}")

    def update_singleton(self, collection: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a singleton collection's item (created on first write)."""
        return self.call("PATCH", f"/items/{collection}", json=dict(changes))

    # -- files ------------------------------------------------------------------------------------
    def upload_file(
        self,
        content: bytes | IO[bytes] | Path,
        filename: str,
        *,
        mime_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Upload a file with its real MIME type; metadata fields go before the file part."""
        mime = mime_type or mime_type_for(filename)
        fields = {"title": Path(filename).stem, **(metadata or {})}
        parts: list[tuple[str, tuple[str | None, Any] | tuple[str, Any, str]]] = [
            (name, (None, value if isinstance(value, str) else json.dumps(value)))
            for name, value in fields.items()
        ]
        if isinstance(content, Path):
            with content.open("rb") as handle:
                parts.append(("file", (filename, handle, mime)))
                return self.call("POST", "/files", files=parts)
        parts.append(("file", (filename, content, mime)))
        return self.call("POST", "/files", files=parts)

    def folder(self, name: str) -> str:
        """The id of the top-level file folder ``name``, made on first use."""
        found = self.list_items("directus_folders", filter={"name": {"_eq": name}, "parent": {"_null": True}},
                                fields=["id"], limit=1)  # fmt: skip
        if found:
            return str(found[0]["id"])
        return str(self.call("POST", "/folders", json={"name": name})["id"])

    def download_file(self, file_id: str, destination: Path | None = None) -> bytes | Path:
        """A file's bytes, or written to ``destination`` in chunks when one is given."""
        response = self.request("GET", f"/assets/{file_id}", params={"download": ""}, stream=True)
        if destination is None:
            return response.content
        with destination.open("wb") as out:
            for chunk in response.iter_content(chunk_size=1 << 16):
                out.write(chunk)
        return destination

    # -- users' own auth flows (the site passes these through; no service token) -----------------
    def login(
        self, email: str, password: str, *, proof_secret: str | None = None, otp: str | None = None
    ) -> AuthTokens:
        """Exchange credentials for tokens; DirectusAuthError when they are wrong.

        ``proof_secret`` (the hook secret) adds the proof without which the aidj-guard
        extension refuses a log-in to a DJ account: only the service can log DJs in.
        """
        body = {"email": email, "password": password, "mode": "json"}
        if otp:
            body["otp"] = otp  # a two-factor code, for accounts that set one up
        if proof_secret:
            body[LOGIN_PROOF_FIELD] = login_proof(proof_secret, int(time.time()), email)
        data = self.call("POST", "/auth/login", json=body, authenticated=False)
        return AuthTokens(data["access_token"], data["refresh_token"], int(data["expires"]))

    def refresh(self, refresh_token: str) -> AuthTokens:
        """New tokens from a refresh token (the old refresh token stops working)."""
        data = self.call(
            "POST",
            "/auth/refresh",
            json={"refresh_token": refresh_token, "mode": "json"},
            authenticated=False,
        )
        return AuthTokens(data["access_token"], data["refresh_token"], int(data["expires"]))

    def logout(self, refresh_token: str) -> None:
        """End the session that the refresh token belongs to."""
        self.call(
            "POST",
            "/auth/logout",
            json={"refresh_token": refresh_token, "mode": "json"},
            authenticated=False,
        )

    def request_password_reset(self, email: str, reset_url: str) -> None:
        """Mail a reset link (Directus stays silent about unknown emails)."""
        self.call(
            "POST",
            "/auth/password/request",
            json={"email": email, "reset_url": reset_url},
            authenticated=False,
        )

    def reset_password(self, token: str, password: str) -> None:
        """Set a new password with the token from the reset mail."""
        self.call(
            "POST",
            "/auth/password/reset",
            json={"token": token, "password": password},
            authenticated=False,
        )

    def me(self, *, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """The user this client's token belongs to."""
        return self.call("GET", "/users/me", params=_query(fields=fields))
