"""The site against the real stack: an app per test session on its own Redis database, DJs and
their items made through Directus REST, and logged-in test clients."""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker

from service import ledger
from service.config import DEFAULTS
from service.integrations.directus import DirectusClient
from service.jobs.queue import QUEUES
from service.legal import publish_legal_documents
from service.stack.access import role_id
from service.web.app import create_app

# The site's own Redis database: its sessions, rate-limit counters and enqueued jobs stay apart from
# the workers other test modules may start on the stack's database. A second run on the same
# machine takes another one with AIDJ_TEST_SITE_REDIS_DB.
SITE_REDIS_DB = int(os.environ.get("AIDJ_TEST_SITE_REDIS_DB", "12"))
_addresses = itertools.count(1)


@dataclass
class DJ:
    """A DJ account made for a test."""

    id: str
    email: str
    password: str


def site_config(stack: Any, **overrides: Any) -> dict[str, Any]:
    """The app configuration for the test stack, with generous rate limits unless overridden."""
    base_redis = stack.settings.redis_url.rsplit("/", 1)[0]
    return {
        **stack.settings.service_env(),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "REDIS_URL": f"{base_redis}/{SITE_REDIS_DB}",
        "RATE_LIMIT_LOGIN": 1000,
        "RATE_LIMIT_SIGNUP": 1000,
        "RATE_LIMIT_RESET": 1000,
        "RATE_LIMIT_RESEND": 1000,
        **overrides,
    }


@pytest.fixture(scope="session")
def site_app(stack: Any) -> Iterator[Flask]:
    """The site wired to the test stack, with the legal documents published."""
    publish_legal_documents(stack.service)
    app = create_app(site_config(stack))
    connection: redis.Redis = app.extensions["redis"]
    connection.flushdb()
    yield app
    connection.flushdb()


@pytest.fixture
def site_redis(site_app: Flask) -> redis.Redis:
    """The Redis database the site writes sessions, limits and jobs to."""
    return site_app.extensions["redis"]


def worker_environment(app: Flask) -> dict[str, str]:
    """The environment a worker for ``app`` runs with: the same Directus, Redis and secrets."""
    environment = {name: str(app.config[name]) for name in DEFAULTS if app.config.get(name)}
    environment["FLASK_SECRET_KEY"] = str(app.config["SECRET_KEY"])
    return environment


@pytest.fixture
def run_jobs(
    site_app: Flask, site_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """Run every job the site enqueued, here and now, as a real RQ worker would (burst mode)."""

    def run() -> None:
        # Jobs read their configuration from the environment, as in a worker process.
        for name, value in worker_environment(site_app).items():
            monkeypatch.setenv(name, value)
        queues = [Queue(name, connection=site_redis) for name in QUEUES]
        SimpleWorker(queues, connection=site_redis).work(burst=True)

    return run


def new_client(app: Flask) -> FlaskClient:
    """A browser of its own: own cookies and own client address (rate limits count per address)."""
    n = next(_addresses)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.9.{n // 250}.{n % 250 + 1}"
    return client


@pytest.fixture
def client(site_app: Flask) -> FlaskClient:
    """A browser that is not logged in."""
    return new_client(site_app)


def csrf(client: FlaskClient) -> str:
    """The CSRF token of the client's session (created as a page would)."""
    with client.session_transaction() as session:
        token = session.get("csrf") or secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def log_in(client: FlaskClient, dj: DJ) -> FlaskClient:
    """Log the client in through the log-in form."""
    response = client.post(
        "/login", data={"email": dj.email, "password": dj.password, "csrf_token": csrf(client)}
    )
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def make_dj(stack: Any) -> Callable[..., DJ]:
    """Active DJ accounts (as if verified) with their sign-up grant."""

    def make(tokens: int = 3, **fields: Any) -> DJ:
        email = f"dj-{secrets.token_hex(5)}@example.com"
        password = secrets.token_urlsafe(12)
        user = stack.service.create_item(
            "directus_users",
            {
                "email": email,
                "password": password,
                "role": role_id("DJ"),
                "status": "active",
                "email_verified_at": "2026-01-01T00:00:00Z",
                **fields,
            },
        )
        ledger.grant(stack.service, user["id"], tokens, ledger.signup_reference(user["id"]))
        return DJ(user["id"], email, password)

    return make


@pytest.fixture
def dj_client(site_app: Flask, make_dj: Callable[..., DJ]) -> tuple[DJ, FlaskClient]:
    """A DJ and a browser logged in as them."""
    dj = make_dj()
    return dj, log_in(new_client(site_app), dj)


TRACKS = (
    # title, artist, bpm, key, energy
    ("First Light", "Lumen Drift", 122.0, "8A", 3),
    ("Harbour Lights", "Kasa Mori", 123.0, "8B", 4),
    ("Static Bloom", "Rhea Kallio", 130.5, "3A", 9),
    ("Pressure Point", "Delta Sine", 131.0, "3A", 8),
)


def make_library(
    service: DirectusClient, owner: str, titles: tuple[tuple[Any, ...], ...] = TRACKS
) -> dict[str, Any]:
    """An imported (done) playlist of the owner with tracks; returns ids of both."""
    tracks = service.create_items(
        "tracks",
        [
            {
                "owner": owner,
                "title": title,
                "artist": artist,
                "bpm": bpm,
                "key": key,
                "energy": energy,
                "duration_s": 360.0,
                "path": f"/Users/dj/Music/{artist} - {title}.mp3",
            }
            for title, artist, bpm, key, energy in titles
        ],
    )
    # A batch create answers in primary-key order, not in the order sent: put them back in order.
    by_title = {t["title"]: t for t in tracks}
    tracks = [by_title[title] for title, *_ in titles]
    playlist = service.create_item(
        "playlists",
        {"owner": owner, "name": "Friday", "status": "done", "progress": 100,
         "entry_count": len(tracks), "matched_count": len(tracks)},
    )  # fmt: skip
    service.create_items(
        "playlist_tracks",
        [
            {"playlist": playlist["id"], "track": t["id"], "position": k, "raw_entry": t["path"]}
            for k, t in enumerate(tracks, start=1)
        ],
    )
    return {"playlist": playlist["id"], "tracks": [t["id"] for t in tracks]}


def make_done_set(service: DirectusClient, owner: str, library: dict[str, Any]) -> str:
    """A finished set over the library in its order, with transitions as the generate job writes them."""
    tracks = library["tracks"]
    transitions = [
        None,
        {"relation": "relative", "relation_kind": "RELATIVE", "harmonic": True, "tempo_change_pct": 0.82, "energy_change": 1,
         "tip": "Long blend over 32 bars.", "cost": 0.1, "note": "Lifts the mood without a bump."},
        {"relation": "clash", "relation_kind": "CLASH", "harmonic": False, "tempo_change_pct": 6.1, "energy_change": 5,
         "tip": "Cut on the one.", "cost": 2.0, "note": None},
        {"relation": "same key", "relation_kind": "SAME", "harmonic": True, "tempo_change_pct": 0.38, "energy_change": -1,
         "tip": "Blend the basslines.", "cost": 0.02, "note": None},
    ]  # fmt: skip
    item = service.create_item(
        "sets",
        {
            "owner": owner,
            "playlist": library["playlist"],
            "status": "done",
            "progress": 100,
            "title": "Harbour to Pressure",
            "description": "From deep to peak in four steps.",
            "parameters": {"arc": "build"},
            "scorecard": {"arc": "build", "harmonic_ok_pct": 66.7, "mean_tempo_change_pct": 2.4},
            "notes": {"title": "Harbour to Pressure", "tags": ["house", "techno"]},
            "tokens_charged": 1,
        },
    )
    rows = []
    for position, (track, transition) in enumerate(zip(tracks, transitions, strict=False), 1):
        if transition is not None:
            transition = {"from_id": tracks[position - 2], "to_id": track, **transition}
        rows.append({"set": item["id"], "track": track, "position": position,
                     "transition": transition})  # fmt: skip
    service.create_items("set_tracks", rows)
    return item["id"]
