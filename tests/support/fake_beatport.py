"""A fake Beatport API v4 on 127.0.0.1, speaking the wire format in FACTS.md.

What it does like Beatport: every path ends in ``/`` (without it: 301 to the slashed path); lists are
``{count, next, previous, page: "1/3", per_page, results}`` with absolute ``next`` links; search answers
``{"tracks": [...]}``; bearer tokens expire (``token_ttl_s``) and are refreshed at
``/v4/auth/o/token/`` (authorization code with PKCE S256, or refresh token; refresh tokens rotate);
errors are ``{"detail": …}`` or ``{"error": …}``. ``/v4/auth/o/authorize/`` stands in for the login
page: it approves at once and redirects back with ``code`` and ``state``.

Faults are scripted: ``server.fail(429, retry_after="1")`` or ``server.fail(500)`` make the next
matching request(s) fail, so the client's retry rules run against real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

API = "/v4"


def catalog_track(
    track_id: int,
    name: str,
    artists: list[str],
    *,
    mix_name: str = "Original Mix",
    remixers: list[str] | None = None,
    bpm: int | None = 124,
    key: tuple[int, str, str] | None = (8, "A", "A Minor"),
    genre: str = "Tech House",
    label: str = "Fake Records",
    isrc: str | None = None,
    length_ms: int | None = 372_000,
) -> dict[str, Any]:
    """A track object shaped like Beatport's (the label under ``release``)."""
    seconds = (length_ms or 0) // 1000
    return {
        "id": track_id,
        "name": name,
        "mix_name": mix_name,
        "slug": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"),
        "artists": [{"id": 1000 + i, "name": a, "slug": a.lower()} for i, a in enumerate(artists)],
        "remixers": [
            {"id": 2000 + i, "name": r, "slug": r.lower()} for i, r in enumerate(remixers or [])
        ],
        "bpm": bpm,
        "key": {"name": key[2], "camelot_number": key[0], "camelot_letter": key[1]}
        if key
        else None,
        "genre": {"id": 11, "name": genre},
        "sub_genre": None,
        "isrc": isrc,
        "length": f"{seconds // 60}:{seconds % 60:02d}" if length_ms else None,
        "length_ms": length_ms,
        "publish_date": "2024-05-17",
        "release": {"id": 5000 + track_id, "name": name, "label": {"id": 77, "name": label}},
        "sample_url": f"https://geo-samples.beatport.com/track/{track_id}.LOFI.mp3",
    }


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in plain if not unicodedata.combining(c))


@dataclass
class Fault:
    status: int
    retry_after: str | None
    path_prefix: str
    times: int


@dataclass
class FakeBeatport:
    """The server's state: catalog, OAuth grants, playlists, scripted faults, requests seen."""

    client_id: str = "fake-client"
    client_secret: str = "fake-secret"
    token_ttl_s: float = 36000
    tracks: dict[int, dict[str, Any]] = field(default_factory=dict)
    url: str = ""
    seen: list[tuple[str, str]] = field(default_factory=list)
    access: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (user, expiry)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> user
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    playlists: dict[int, dict[str, Any]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    user: str = "dj-on-beatport"  # who approves at the fake authorize page
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(9001))

    # -- scripting ---------------------------------------------------------------------------
    def add(self, *tracks: dict[str, Any]) -> None:
        """Put tracks in the catalog."""
        for t in tracks:
            self.tracks[int(t["id"])] = t

    def fail(
        self, status: int, *, retry_after: str | None = None, path: str = API, times: int = 1
    ) -> None:
        """The next ``times`` requests under ``path`` answer ``status``."""
        self.faults.append(Fault(status, retry_after, path, times))

    def issue_tokens(
        self, user: str | None = None, *, ttl_s: float | None = None
    ) -> dict[str, Any]:
        """Mint tokens as the token endpoint would (for tests that skip the browser step)."""
        user = user or self.user
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        ttl = self.token_ttl_s if ttl_s is None else ttl_s
        self.access[access] = (user, time.time() + ttl)
        self.refresh[refresh] = user
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ttl,
            "token_type": "Bearer",
            "scope": "app:locker user:dj",
        }

    def expire_all_access_tokens(self) -> None:
        """Every access token stops working (refresh tokens still do)."""
        for token, (user, _) in list(self.access.items()):
            self.access[token] = (user, 0.0)

    def count(self, method: str, prefix: str) -> int:
        """How many requests of ``method`` went to paths starting with ``prefix``."""
        return sum(1 for m, p in self.seen if m == method and p.startswith(prefix))

    # -- answering ---------------------------------------------------------------------------
    def _fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _page(self, items: list[Any], query: dict[str, str], path: str) -> dict[str, Any]:
        per_page = max(1, int(query.get("per_page", 10)))
        page = max(1, int(query.get("page", 1)))
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(n: int) -> str | None:
            if n < 1 or n > pages:
                return None
            return f"{self.url}{path}?{urlencode({**query, 'page': n})}"

        return {
            "count": len(items),
            "next": link(page + 1),
            "previous": link(page - 1),
            "page": f"{page}/{pages}",
            "per_page": per_page,
            "results": chunk,
        }

    def _user(self, headers: Any) -> str | None:
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return None
        user, expiry = self.access.get(auth[7:], (None, 0.0))
        return user if expiry > time.time() else None

    def _token(self, form: dict[str, str]) -> tuple[int, Any]:
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            grant_data = self.codes.pop(form.get("code", ""), None)
            if grant_data is None or grant_data["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "Invalid code"}
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != grant_data["code_challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "Code verifier failed"}
            return 200, self.issue_tokens(grant_data["user"])
        if grant == "refresh_token":
            user = self.refresh.pop(form.get("refresh_token", ""), None)  # rotates
            if user is None:
                return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
            return 200, self.issue_tokens(user)
        return 400, {"error": "unsupported_grant_type"}

    def _search(self, query: dict[str, str]) -> list[dict[str, Any]]:
        words = [w for w in re.split(r"\W+", _fold(query.get("q", ""))) if w]
        hits = []
        for t in self.tracks.values():
            text = _fold(
                " ".join(
                    [
                        t["name"],
                        t.get("mix_name") or "",
                        *(a["name"] for a in t["artists"]),
                        *(r["name"] for r in t["remixers"]),
                    ]
                )
            )
            score = sum(1 for w in words if w in text)
            if score >= max(1, len(words) // 2):
                hits.append((-score, t["id"], t))
        return [t for _, _, t in sorted(hits)][: int(query.get("per_page", 10))]

    def answer(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, Any, dict]:
        """Status, JSON body and extra headers for one request."""
        parts = urlsplit(raw_path)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.seen.append((method, path))
        if not path.endswith("/"):
            return (
                301,
                {"detail": "Moved"},
                {"Location": f"{self.url}{path}/" + (f"?{parts.query}" if parts.query else "")},
            )
        fault = self._fault(path)
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return (
                fault.status,
                {"detail": "Request was throttled." if fault.status == 429 else "Server Error"},
                extra,
            )
        if path == f"{API}/auth/o/authorize/":
            code = secrets.token_urlsafe(12)
            self.codes[code] = {
                "user": self.user,
                "redirect_uri": query.get("redirect_uri", ""),
                "code_challenge": query.get("code_challenge", ""),
            }
            back = (
                query.get("redirect_uri", "")
                + "?"
                + urlencode({"code": code, "state": query.get("state", "")})
            )
            return 302, {}, {"Location": back}
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()} if body else {}
        if path == f"{API}/auth/o/token/" and method == "POST":
            status, data = self._token(form)
            return status, data, {}
        if path == f"{API}/auth/o/revoke_token/" and method == "POST":
            token = form.get("token", "")
            self.revoked.append(token)
            self.access.pop(token, None)
            self.refresh.pop(token, None)
            return 200, {}, {}
        user = self._user(headers)
        if user is None:
            return 401, {"detail": "Authentication credentials were not provided."}, {}
        payload = (
            json.loads(body)
            if body and headers.get("Content-Type", "").startswith("application/json")
            else {}
        )
        if path == f"{API}/catalog/search/" and method == "GET":
            return 200, {"tracks": self._search(query)}, {}
        if path == f"{API}/catalog/tracks/" and method == "GET":
            items = [
                t
                for t in self.tracks.values()
                if not query.get("isrc") or t.get("isrc") == query["isrc"]
            ]
            return (
                200,
                self._page(
                    items,
                    {k: v for k, v in query.items() if k != "page"}
                    | ({"page": query["page"]} if "page" in query else {}),
                    path,
                ),
                {},
            )
        m = re.fullmatch(rf"{API}/catalog/tracks/(\d+)/", path)
        if m and method == "GET":
            track = self.tracks.get(int(m[1]))
            return (200, track, {}) if track else (404, {"detail": "Not found."}, {})
        return self._my(method, path, query, payload, user)

    def _my(
        self, method: str, path: str, query: dict[str, str], payload: Any, user: str
    ) -> tuple[int, Any, dict]:
        if path == f"{API}/my/playlists/" and method == "POST":
            if not payload.get("name"):
                return 400, {"name": ["This field is required."]}, {}
            pid = next(self._ids)
            self.playlists[pid] = {"id": pid, "name": payload["name"], "owner": user, "items": []}
            return 201, {"id": pid, "name": payload["name"], "track_count": 0}, {}
        m = re.fullmatch(rf"{API}/my/playlists/(\d+)/(tracks/(bulk/)?)?", path)
        playlist = self.playlists.get(int(m[1])) if m else None
        if playlist is None or playlist["owner"] != user:
            return 404, {"detail": "Not found."}, {}
        if not m[2]:
            if method == "GET":
                return (
                    200,
                    {
                        "id": playlist["id"],
                        "name": playlist["name"],
                        "track_count": len(playlist["items"]),
                    },
                    {},
                )
            if method == "PATCH":
                playlist["name"] = payload.get("name", playlist["name"])
                return 200, {"id": playlist["id"], "name": playlist["name"]}, {}
            if method == "DELETE":
                del self.playlists[playlist["id"]]
                return 204, None, {}
        if m[2] and not m[3] and method == "GET":
            items = [
                {"id": item_id, "position": n, "track": self.tracks.get(tid, {"id": tid})}
                for n, (item_id, tid) in enumerate(playlist["items"], start=1)
            ]
            return 200, self._page(items, query, path), {}
        if m[3] and method == "POST":
            ids = payload.get("track_ids") or []
            unknown = [t for t in ids if int(t) not in self.tracks]
            if unknown:
                return 400, {"detail": f"Unknown track ids: {unknown}"}, {}
            playlist["items"] += [(next(self._ids), int(t)) for t in ids]
            return (
                201,
                {"items": [{"id": i, "track_id": t} for i, t in playlist["items"][-len(ids) :]]},
                {},
            )
        if m[3] and method == "DELETE":
            drop = {int(i) for i in payload.get("item_ids") or []}
            playlist["items"] = [(i, t) for i, t in playlist["items"] if i not in drop]
            return 204, None, {}
        return 405, {"detail": f'Method "{method}" not allowed.'}, {}

    def playlist_track_ids(self, playlist_id: int) -> list[int]:
        """Track ids in a playlist, in order."""
        return [t for _, t in self.playlists[playlist_id]["items"]]


@contextmanager
def fake_beatport(**options: Any) -> Iterator[FakeBeatport]:
    """Run the fake on 127.0.0.1 for the duration of the block; ``.url`` ends in ``/v4``'s parent."""
    fake = FakeBeatport(**options)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, data, extra = fake.answer(self.command, self.path, self.headers, body)
            payload = b"" if data is None else json.dumps(data).encode()
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
