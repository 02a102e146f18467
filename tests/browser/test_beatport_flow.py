"""Connect Beatport → look a playlist up → confirm a match → push a set, in a real browser, against the
fake Beatport: the web service is a real gunicorn process configured with the fake's address.

The web process and the jobs use the site test Redis database (AIDJ_TEST_SITE_REDIS_DB), so no other
test's worker picks these jobs up; they are run here with an RQ worker in burst mode at each step.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator

import pytest
import redis
from cryptography.fernet import Fernet
from rq import Queue, SimpleWorker

from service import beatport
from service.stack.access import role_id
from service.stack.settings import free_port
from tests.browser.conftest import screenshot
from tests.site.conftest import SITE_REDIS_DB, make_done_set, make_library
from tests.support.fake_beatport import FakeBeatport, catalog_track, fake_beatport
from tests.support.stack import ServiceProcesses

pytestmark = [pytest.mark.stack, pytest.mark.browser]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBeatport]:
    with fake_beatport() as server:
        server.add(
            catalog_track(1, "First Light", ["Lumen Drift"], length_ms=360_000, label="Dawn Records"),
            catalog_track(2, "Harbour Lights", ["Kasa Mori"], length_ms=360_000),
            catalog_track(3, "Static Bloom", ["Rhea Kallio"], length_ms=360_000),
            catalog_track(4, "Static Bloom", ["Rhea Kallio"], mix_name="Extended Mix",
                          length_ms=420_000),
        )  # fmt: skip
        yield server


@pytest.fixture(scope="module")
def beatport_site(stack, fake) -> Iterator[tuple[str, dict[str, str]]]:
    """A gunicorn web process with Beatport on, on a port of its own; its URL and environment."""
    from service.legal import publish_legal_documents

    publish_legal_documents(stack.service)
    settings = dataclasses.replace(stack.settings, web_port=free_port())
    own = dataclasses.replace(stack, settings=settings, _cleanups=[])
    redis_url = f"{stack.settings.redis_url.rsplit('/', 1)[0]}/{SITE_REDIS_DB}"
    extra = {
        "REDIS_URL": redis_url,
        "BEATPORT_CLIENT_ID": fake.client_id,
        "BEATPORT_CLIENT_SECRET": fake.client_secret,
        "BEATPORT_REDIRECT_URI": f"{settings.site_url}/beatport/callback",
        "BEATPORT_TOKEN_KEYS": Fernet.generate_key().decode(),
        "BEATPORT_API_URL": fake.url + "/v4",
        "BEATPORT_CACHE_TTL_S": "0",
    }
    processes = ServiceProcesses(own, settings.var_dir / "beatport-logs", extra_env=extra)
    processes.log_dir.mkdir(parents=True, exist_ok=True)
    redis.Redis.from_url(redis_url).flushdb()
    try:
        processes.start_web()
        yield settings.site_url, processes.env()
    finally:
        processes.close()
        redis.Redis.from_url(redis_url).flushdb()


def _work(env: dict[str, str], monkeypatch) -> None:
    """Run the jobs the site enqueued, as a worker with the web process's environment would."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    connection = redis.Redis.from_url(env["REDIS_URL"])
    SimpleWorker([Queue("default", connection=connection)], connection=connection).work(burst=True)


def _dj(stack) -> tuple[str, str, str]:
    email, password = f"bp-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    user = stack.service.create_item("directus_users", {
        "email": email, "password": password, "role": role_id("DJ"), "status": "active",
        "display_name": "Crate Digger", "email_verified_at": "2026-01-01T00:00:00Z"})  # fmt: skip
    return user["id"], email, password


def test_connect_enrich_confirm_and_push(stack, beatport_site, fake, page, monkeypatch) -> None:
    site_url, env = beatport_site
    user_id, email, password = _dj(stack)
    page.goto(f"{site_url}/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site_url}/dashboard")

    page.get_by_role("link", name="Beatport").click()
    page.get_by_text("Not connected.").wait_for()
    screenshot(page, "beatport-01-not-connected")
    page.get_by_role("button", name="Connect Beatport").click()  # → fake Beatport → callback
    page.get_by_text("Your Beatport account is connected").wait_for()
    assert page.url == f"{site_url}/beatport"
    screenshot(page, "beatport-02-connected")
    assert beatport.get_link(stack.service, user_id) is not None

    library = make_library(stack.service, user_id)
    stack.service.update_item("tracks", library["tracks"][0], {"bpm": None})
    stack.service.update_item("tracks", library["tracks"][2], {"duration_s": None})
    page.goto(f"{site_url}/playlists/{library['playlist']}")
    page.get_by_role("button", name="Look these tracks up on Beatport").click()
    _work(env, monkeypatch)
    page.reload()
    page.get_by_role("heading", name="Beatport matches to confirm").wait_for()
    screenshot(page, "beatport-03-review")
    first = stack.service.get_item("tracks", library["tracks"][0])
    assert (
        int(first["beatport_id"]) == 1 and first["bpm"] == 124 and first["label"] == "Dawn Records"
    )
    assert first["sources"]["bpm"] == "beatport"
    page.get_by_label("Rhea Kallio – Static Bloom (Extended Mix)", exact=False).check()
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Matched to the Beatport track you chose.").wait_for()
    assert int(stack.service.get_item("tracks", library["tracks"][2])["beatport_id"]) == 4

    set_id = make_done_set(stack.service, user_id, library)
    page.goto(f"{site_url}/sets/{set_id}")
    page.get_by_role("button", name="Push to Beatport as a playlist").click()
    _work(env, monkeypatch)
    page.reload()
    page.get_by_text("3 tracks on your Beatport playlist").wait_for()
    assert page.get_by_role("list").filter(has_text="Pressure Point").count() >= 1
    screenshot(page, "beatport-04-pushed")
    playlist_id = int(stack.service.get_item("sets", set_id)["beatport_playlist_id"])
    assert fake.playlist_track_ids(playlist_id) == [1, 2, 4]

    page.get_by_role("button", name="Update the Beatport playlist").click()
    _work(env, monkeypatch)
    assert len([p for p in fake.playlists.values() if p["name"] == "Harbour to Pressure"]) == 1

    page.goto(f"{site_url}/beatport")
    page.get_by_role("button", name="Disconnect Beatport").click()
    page.get_by_text("Not connected.").wait_for()
    assert beatport.get_link(stack.service, user_id) is None
