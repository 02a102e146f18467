"""Beatport on the site: off without credentials; connect with PKCE and state; disconnect; confirm a
candidate; push a set — against the fake Beatport, with real Directus, Redis and an RQ worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from flask import Flask
from rq import Queue, SimpleWorker

from service import beatport
from service.web.app import create_app
from tests.site.conftest import (
    csrf,
    log_in,
    make_done_set,
    make_library,
    new_client,
    site_config,
    worker_environment,
)
from tests.support.fake_beatport import FakeBeatport, catalog_track, fake_beatport

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBeatport]:
    with fake_beatport() as server:
        server.add(
            catalog_track(1, "First Light", ["Lumen Drift"], length_ms=360_000),
            catalog_track(2, "Harbour Lights", ["Kasa Mori"], length_ms=360_000),
            catalog_track(3, "Static Bloom", ["Rhea Kallio"], length_ms=360_000),
            catalog_track(4, "Static Bloom", ["Rhea Kallio"], mix_name="Extended Mix",
                          length_ms=420_000, bpm=131, label="Bloom Records"),
        )  # fmt: skip
        yield server


@pytest.fixture(scope="module")
def bp_app(stack, fake) -> Flask:
    """The site with Beatport on, pointed at the fake."""
    return create_app(site_config(
        stack,
        BEATPORT_CLIENT_ID=fake.client_id,
        BEATPORT_CLIENT_SECRET=fake.client_secret,
        BEATPORT_REDIRECT_URI="http://127.0.0.1:5000/beatport/callback",
        BEATPORT_TOKEN_KEYS=Fernet.generate_key().decode(),
        BEATPORT_API_URL=fake.url + "/v4",
        BEATPORT_CACHE_TTL_S=0,
    ))  # fmt: skip


@pytest.fixture
def bp_dj(bp_app, make_dj):
    dj = make_dj()
    return dj, log_in(new_client(bp_app), dj)


def _connect(browser, fake: FakeBeatport) -> requests.Response:
    """Press Connect, approve at the fake Beatport, come back: the callback's response."""
    start = browser.post("/beatport/connect", data={"csrf_token": csrf(browser)})
    assert start.status_code == 302
    authorize = start.headers["Location"]
    approved = requests.get(authorize, allow_redirects=False, timeout=5)
    back = urlsplit(approved.headers["Location"])
    return browser.get(f"{back.path}?{back.query}")


def _run_jobs(app: Flask, monkeypatch) -> None:
    for name, value in worker_environment(app).items():
        monkeypatch.setenv(name, value)
    connection = app.extensions["redis"]
    SimpleWorker([Queue("default", connection=connection)], connection=connection).work(burst=True)


def test_without_credentials_the_site_says_the_integration_is_off(stack, dj_client) -> None:
    dj, browser = dj_client
    assert "The Beatport integration is off" in browser.get("/beatport").text
    library = make_library(stack.service, dj.id)
    assert (
        "The Beatport integration is off" in browser.get(f"/playlists/{library['playlist']}").text
    )
    assert browser.post("/beatport/connect", data={"csrf_token": csrf(browser)}).status_code == 404


def test_connect_uses_pkce_and_state_and_stores_the_tokens_encrypted(
    stack, bp_app, bp_dj, fake
) -> None:
    dj, browser = bp_dj
    start = browser.post("/beatport/connect", data={"csrf_token": csrf(browser)})
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert start.headers["Location"].startswith(fake.url + "/v4/auth/o/authorize/?")
    assert query["code_challenge_method"] == ["S256"] and len(query["state"][0]) >= 32
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/beatport/callback"]

    back = _connect(browser, fake)
    assert back.status_code == 302 and back.headers["Location"].endswith("/beatport")
    link = beatport.get_link(stack.service, dj.id)
    assert link is not None
    tokens, _ = beatport.decrypt_tokens(bp_app.config, link["tokens"])
    assert tokens.access_token in fake.access and tokens.access_token not in link["tokens"]
    assert "Your Beatport account is connected" in browser.get("/beatport").text


def test_a_callback_with_an_unknown_reused_or_foreign_state_connects_nothing(
    stack, bp_app, bp_dj, make_dj, fake
) -> None:
    dj, browser = bp_dj
    assert browser.get("/beatport/callback?code=x&state=forged").status_code == 302
    start = browser.post("/beatport/connect", data={"csrf_token": csrf(browser)})
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(approved.headers["Location"])
    other = make_dj()
    intruder = log_in(new_client(bp_app), other)
    intruder.get(f"{back.path}?{back.query}")  # someone else's state: refused, and now used up
    assert beatport.get_link(stack.service, other.id) is None
    browser.get(f"{back.path}?{back.query}")
    assert beatport.get_link(stack.service, dj.id) is None
    denied = browser.post("/beatport/connect", data={"csrf_token": csrf(browser)})
    state = parse_qs(urlsplit(denied.headers["Location"]).query)["state"][0]
    browser.get(f"/beatport/callback?error=access_denied&state={state}")
    assert beatport.get_link(stack.service, dj.id) is None


def test_disconnect_revokes_and_deletes(stack, bp_app, bp_dj, fake) -> None:
    dj, browser = bp_dj
    _connect(browser, fake)
    tokens, _ = beatport.decrypt_tokens(
        bp_app.config, beatport.get_link(stack.service, dj.id)["tokens"]
    )
    response = browser.post("/beatport/disconnect", data={"csrf_token": csrf(browser)})
    assert response.status_code == 302
    assert beatport.get_link(stack.service, dj.id) is None
    assert tokens.refresh_token in fake.revoked
    assert "Not connected" in browser.get("/beatport").text


def test_lookup_then_confirm_a_candidate_on_the_playlist_page(
    stack, bp_app, bp_dj, fake, monkeypatch
) -> None:
    dj, browser = bp_dj
    _connect(browser, fake)
    library = make_library(stack.service, dj.id)
    stack.service.update_item("tracks", library["tracks"][2], {"duration_s": None, "label": None})
    page = browser.get(f"/playlists/{library['playlist']}").text
    assert "Look these tracks up on Beatport" in page
    response = browser.post(f"/playlists/{library['playlist']}/beatport",
                            data={"csrf_token": csrf(browser)})  # fmt: skip
    assert response.status_code == 302
    _run_jobs(bp_app, monkeypatch)

    first = stack.service.get_item("tracks", library["tracks"][0])
    assert int(first["beatport_id"]) == 1 and first["bpm"] == 122  # the DJ's value is kept
    unsure = stack.service.get_item("tracks", library["tracks"][2])
    assert unsure["beatport_match"]["status"] == "candidates"
    page = browser.get(f"/playlists/{library['playlist']}").text
    assert "Beatport matches to confirm" in page and "Extended Mix" in page

    url = f"/playlists/{library['playlist']}/tracks/{library['tracks'][2]}/beatport"
    assert (
        browser.post(url, data={"csrf_token": csrf(browser), "beatport_id": "999"}).status_code
        == 400
    )
    assert (
        browser.post(url, data={"csrf_token": csrf(browser), "beatport_id": "4"}).status_code == 302
    )
    chosen = stack.service.get_item("tracks", library["tracks"][2])
    assert int(chosen["beatport_id"]) == 4 and chosen["label"] == "Bloom Records"
    assert chosen["sources"]["label"] == "beatport" and chosen["bpm"] == 130.5
    assert chosen["beatport_match"]["status"] == "confirmed"

    stranger = log_in(new_client(bp_app), stack_dj := _other(stack, bp_app))
    assert stack_dj
    assert (
        stranger.post(url, data={"csrf_token": csrf(stranger), "beatport_id": "4"}).status_code
        == 404
    )


def _other(stack, app) -> Any:
    import secrets

    from service.stack.access import role_id
    from tests.site.conftest import DJ

    email, password = f"dj-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(12)
    user = stack.service.create_item("directus_users", {
        "email": email, "password": password, "role": role_id("DJ"), "status": "active",
        "email_verified_at": "2026-01-01T00:00:00Z"})  # fmt: skip
    return DJ(user["id"], email, password)


def test_push_a_set_then_push_again_to_the_same_playlist(
    stack, bp_app, bp_dj, fake, monkeypatch
) -> None:
    dj, browser = bp_dj
    _connect(browser, fake)
    library = make_library(stack.service, dj.id)
    stack.service.update_item("tracks", library["tracks"][0], {"beatport_id": 1})
    stack.service.update_item("tracks", library["tracks"][1], {"beatport_id": 2})
    set_id = make_done_set(stack.service, dj.id, library)
    assert "Push to Beatport as a playlist" in browser.get(f"/sets/{set_id}").text

    queue = Queue("default", connection=bp_app.extensions["redis"])
    assert (
        browser.post(f"/sets/{set_id}/beatport", data={"csrf_token": csrf(browser)}).status_code
        == 302
    )
    assert stack.service.get_item("sets", set_id)["beatport_push"]["status"] == "queued"
    assert f"set-beatport-push-{set_id}" in queue.job_ids
    _run_jobs(bp_app, monkeypatch)

    item = stack.service.get_item("sets", set_id)
    playlist_id = int(item["beatport_playlist_id"])
    assert fake.playlist_track_ids(playlist_id) == [1, 2]
    assert fake.playlists[playlist_id]["name"] == "Harbour to Pressure"
    page = browser.get(f"/sets/{set_id}").text
    assert "2 tracks on your Beatport playlist" in page
    assert "Static Bloom" in page and "Pressure Point" in page  # reported unmatched
    assert "Update the Beatport playlist" in page

    count = len(fake.playlists)
    browser.post(f"/sets/{set_id}/beatport", data={"csrf_token": csrf(browser)})
    _run_jobs(bp_app, monkeypatch)
    assert len(fake.playlists) == count
    assert int(stack.service.get_item("sets", set_id)["beatport_playlist_id"]) == playlist_id
