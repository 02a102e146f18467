"""The Directus client maps every failure to a clear error and retries only what is safe."""

from __future__ import annotations

import secrets
import time

import pytest

from service.integrations.directus import (
    DirectusAuthError,
    DirectusClient,
    DirectusForbidden,
    DirectusInvalid,
    DirectusNotFound,
    DirectusUnavailable,
    mime_type_for,
)
from service.integrations.http import parse_retry_after
from tests.support.scripted_http import Reply, scripted_server

BUSY = Reply(
    503,
    {"errors": [{"message": "Service Unavailable", "extensions": {"code": "SERVICE_UNAVAILABLE"}}]},
)
LIMITED = Reply(
    429,
    {"errors": [{"message": "Too many requests", "extensions": {"code": "REQUESTS_EXCEEDED"}}]},
    {"Retry-After": "0"},
)
OK = Reply(200, {"data": [{"id": 1}]})


def _client(url: str, **options) -> DirectusClient:
    return DirectusClient(url, "token", backoff_s=0.01, **options)


def test_a_read_is_retried_after_503_and_succeeds() -> None:
    with scripted_server(BUSY, BUSY, OK) as server:
        assert _client(server.url).list_items("tracks") == [{"id": 1}]
    assert len(server.seen) == 3


def test_a_read_honours_retry_after_on_429() -> None:
    with scripted_server(Reply(429, {}, {"Retry-After": "1"}), OK) as server:
        started = time.monotonic()
        _client(server.url).list_items("tracks")
        assert time.monotonic() - started >= 0.9
    assert len(server.seen) == 2


def test_a_read_gives_up_after_its_attempts_with_unavailable() -> None:
    with scripted_server(BUSY) as server, pytest.raises(DirectusUnavailable) as failure:
        _client(server.url, max_attempts=3).list_items("tracks")
    assert len(server.seen) == 3
    assert failure.value.status == 503
    assert failure.value.code == "SERVICE_UNAVAILABLE"


def test_a_create_is_not_retried_after_a_server_failure() -> None:
    # The first POST may have been applied before the answer was lost: retrying could duplicate it.
    with scripted_server(BUSY, OK) as server, pytest.raises(DirectusUnavailable):
        _client(server.url).create_item("tracks", {"title": "x"})
    assert len(server.seen) == 1


def test_a_create_refused_by_a_rate_limit_is_sent_again() -> None:
    # A 429 refuses the request before it is handled: sending it again cannot duplicate anything.
    with scripted_server(LIMITED, OK) as server:
        _client(server.url).create_item("tracks", {"title": "x"})
    assert len(server.seen) == 2


def test_a_refused_connection_is_unavailable() -> None:
    with scripted_server(OK) as server:
        url = server.url
    with pytest.raises(DirectusUnavailable):
        _client(url, max_attempts=2, timeout=1).list_items("tracks")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, DirectusInvalid),
        (401, DirectusAuthError),
        (403, DirectusForbidden),
        (404, DirectusNotFound),
    ],
)
def test_client_errors_are_not_retried(status, error) -> None:
    with (
        scripted_server(
            Reply(status, {"errors": [{"message": "no", "extensions": {"code": "X"}}]})
        ) as server,
        pytest.raises(error),
    ):
        _client(server.url).list_items("tracks")
    assert len(server.seen) == 1


def test_queries_are_sent_as_directus_expects() -> None:
    with scripted_server(OK) as server:
        _client(server.url).list_items(
            "tracks",
            filter={"owner": {"_eq": "u1"}},
            fields=["id", "title"],
            sort=["-bpm"],
            limit=5,
        )
    path = server.seen[0].path
    assert path.startswith("/items/tracks?")
    assert "filter=%7B%22owner%22%3A%7B%22_eq%22%3A%22u1%22%7D%7D" in path
    assert "fields=id%2Ctitle" in path
    assert "sort=-bpm" in path
    assert "limit=5" in path
    assert server.seen[0].headers["Authorization"] == "Bearer token"


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert parse_retry_after("soon") is None


def test_audio_uploads_get_audio_mime_types() -> None:
    assert mime_type_for("Track One.MP3") == "audio/mpeg"
    assert mime_type_for("a.flac") == "audio/flac"
    assert mime_type_for("set.m3u8") == "application/vnd.apple.mpegurl"
    assert mime_type_for("mystery.bin") == "application/octet-stream"


# -- against the real Directus --------------------------------------------------------------------


@pytest.mark.stack
def test_a_wrong_token_is_an_auth_error(stack) -> None:
    with pytest.raises(DirectusAuthError) as failure:
        stack.admin.with_token("not-a-token").list_items("tracks")
    assert failure.value.status == 401


@pytest.mark.stack
def test_wrong_credentials_are_an_auth_error(stack) -> None:
    with pytest.raises(DirectusAuthError):
        stack.admin.login("nobody@example.com", "wrong-password")


@pytest.mark.stack
def test_an_unknown_route_is_not_found(stack) -> None:
    with pytest.raises(DirectusNotFound):
        stack.service.call("GET", "/no-such-route")


@pytest.mark.stack
def test_an_invalid_item_is_invalid(stack) -> None:
    with pytest.raises(DirectusInvalid) as failure:
        stack.admin.create_item("legal_documents", {"slug": "privacy"})
    assert failure.value.status == 400


@pytest.mark.stack
def test_paging_returns_every_item_once(stack) -> None:
    owner = stack.service.create_item(
        "directus_users", {"email": f"pager-{secrets.token_hex(3)}@example.com"}
    )
    stack.service.create_items(
        "tracks", [{"owner": owner["id"], "title": f"T{i:03}"} for i in range(23)]
    )
    titles = [
        t["title"]
        for t in stack.service.iter_items(
            "tracks", page_size=5, filter={"owner": {"_eq": owner["id"]}}, fields=["id", "title"]
        )
    ]
    assert sorted(titles) == [f"T{i:03}" for i in range(23)]


@pytest.mark.stack
def test_an_uploaded_audio_file_keeps_its_type_and_bytes(stack) -> None:
    payload = b"ID3" + secrets.token_bytes(2048)
    stored = stack.service.upload_file(
        payload, "Opening Track.mp3", metadata={"description": "demo"}
    )
    assert stored["type"] == "audio/mpeg"
    assert stored["filename_download"] == "Opening Track.mp3"
    assert stack.service.download_file(stored["id"]) == payload


@pytest.mark.stack
def test_a_user_session_can_be_refreshed_and_ended(stack) -> None:
    email, password = f"dj-{secrets.token_hex(3)}@example.com", secrets.token_urlsafe(12)
    stack.admin.create_item(
        "directus_users", {"email": email, "password": password, "status": "active"}
    )
    tokens = stack.admin.login(email, password)
    renewed = stack.admin.refresh(tokens.refresh_token)
    assert renewed.access_token
    stack.admin.logout(renewed.refresh_token)
    with pytest.raises((DirectusAuthError, DirectusInvalid)):
        stack.admin.refresh(renewed.refresh_token)
