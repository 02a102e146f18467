"""POST /hooks/directus: verify, dedupe, enqueue, answer — with real HMAC and a real Redis."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid

import pytest
import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from service.web.app import create_app
from service.web.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('AIDJ_HOOK_TEST_REDIS_DB', '10')}"
SECRET = "the-shared-hook-secret"


# Item keys of the events made by the running test: other runs may share this Redis database, so
# assertions look at these jobs only and nothing is flushed.
_KEYS: set[str] = set()


@pytest.fixture
def connection():
    conn = redis.Redis.from_url(REDIS_URL)
    _KEYS.clear()
    yield conn
    for key in _KEYS:
        with contextlib.suppress(NoSuchJobError):
            Job.fetch(f"set-generate-{key}", connection=conn).delete()


@pytest.fixture
def client(connection):
    app = create_app(
        {
            "REDIS_URL": REDIS_URL,
            "HOOK_SECRET": SECRET,
            "HOOK_SECRET_PREVIOUS": None,
            "DIRECTUS_URL": "http://127.0.0.1:9",
            "SECRET_KEY": "x",
        }
    )
    return app.test_client()


def event(**changes) -> dict:
    base = {
        "id": str(uuid.uuid4()),
        "event": "items.create",
        "collection": "sets",
        "keys": [str(uuid.uuid4())],
        "user": None,
        "ts": time.time(),
    }
    made = {**base, **changes}
    if isinstance(made["keys"], list):
        _KEYS.update(str(k) for k in made["keys"])
    return made


def post(client, body: bytes, *, secret: str = SECRET, ts: int | None = None, signature=None):
    stamp = str(int(time.time()) if ts is None else ts)
    return client.post(
        "/hooks/directus",
        data=body,
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature if signature is not None else sign(secret, stamp, body),
        },
    )


def queued(connection) -> list[str]:
    """Jobs waiting in the queue for this test's events."""
    mine = {f"set-generate-{key}" for key in _KEYS}
    return [job_id for job_id in Queue("default", connection=connection).job_ids if job_id in mine]


def test_a_valid_event_is_accepted_with_202_and_starts_its_job(client, connection) -> None:
    e = event()
    response = post(client, json.dumps(e).encode())
    assert response.status_code == 202
    assert response.json["jobs"] == [f"set-generate-{e['keys'][0]}"]
    assert queued(connection) == [f"set-generate-{e['keys'][0]}"]


def test_a_tampered_body_is_refused_and_starts_nothing(client, connection) -> None:
    e = event()
    body = json.dumps(e).encode()
    stamp = str(int(time.time()))
    signature = sign(SECRET, stamp, body)
    tampered = body.replace(e["keys"][0].encode(), str(uuid.uuid4()).encode())
    response = post(client, tampered, ts=int(stamp), signature=signature)
    assert response.status_code == 401
    assert queued(connection) == []


def test_a_wrong_secret_is_refused(client, connection) -> None:
    response = post(client, json.dumps(event()).encode(), secret="not-the-secret")
    assert response.status_code == 401
    assert queued(connection) == []


def test_missing_signature_headers_are_refused(client, connection) -> None:
    response = client.post("/hooks/directus", data=json.dumps(event()))
    assert response.status_code == 401
    assert queued(connection) == []


@pytest.mark.parametrize("age_s", [301, -301, 3600])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(client, connection, age_s) -> None:
    response = post(client, json.dumps(event()).encode(), ts=int(time.time()) - age_s)
    assert response.status_code == 401
    assert queued(connection) == []


def test_a_timestamp_inside_the_window_is_accepted(client, connection) -> None:
    response = post(client, json.dumps(event()).encode(), ts=int(time.time()) - 240)
    assert response.status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps(event(keys=[])).encode(),
        json.dumps(event(keys="abc")).encode(),
        json.dumps(event(id="short")).encode(),
        json.dumps(event(event=None)).encode(),
        json.dumps(event(keys=["../../x"])).encode(),
        '{"id": "\udcff"}'.encode("utf-8", "surrogatepass"),
    ],
    ids=[
        "text",
        "array",
        "no-keys",
        "keys-not-list",
        "short-id",
        "no-event",
        "unsafe-key",
        "bad-utf8",
    ],
)
def test_a_malformed_but_signed_body_gets_400_and_starts_nothing(client, connection, body) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert queued(connection) == []


def test_a_non_numeric_timestamp_gets_400(client, connection) -> None:
    body = json.dumps(event()).encode()
    response = client.post(
        "/hooks/directus",
        data=body,
        headers={TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: sign(SECRET, "soon", body)},
    )
    assert response.status_code == 400
    assert queued(connection) == []


def test_the_same_event_delivered_five_times_starts_one_job(client, connection) -> None:
    body = json.dumps(event()).encode()
    answers = [post(client, body) for _ in range(5)]
    assert [a.status_code for a in answers] == [202] * 5
    assert [a.json["status"] for a in answers] == ["accepted"] + ["duplicate"] * 4
    assert len(queued(connection)) == 1


def test_two_events_for_one_item_still_start_one_job(client, connection) -> None:
    key = str(uuid.uuid4())
    for _ in range(3):
        assert post(client, json.dumps(event(keys=[key])).encode()).status_code == 202
    assert queued(connection) == [f"set-generate-{key}"]


def test_during_rotation_the_previous_secret_and_two_signatures_pass(connection) -> None:
    app = create_app(
        {
            "REDIS_URL": REDIS_URL,
            "HOOK_SECRET": "new-secret",
            "HOOK_SECRET_PREVIOUS": "old-secret",
            "DIRECTUS_URL": "http://127.0.0.1:9",
            "SECRET_KEY": "x",
        }
    )
    client = app.test_client()
    assert post(client, json.dumps(event()).encode(), secret="old-secret").status_code == 202
    body = json.dumps(event()).encode()
    stamp = str(int(time.time()))
    both = f"{sign('other', stamp, body)},{sign('new-secret', stamp, body)}"
    assert post(client, body, ts=int(stamp), signature=both).status_code == 202
    assert post(client, json.dumps(event()).encode(), secret="older").status_code == 401
    assert len(queued(connection)) == 2


def test_an_event_outside_the_map_is_acknowledged_and_starts_nothing(client, connection) -> None:
    response = post(client, json.dumps(event(collection="consent_records")).encode())
    assert response.status_code == 202
    assert response.json["status"] == "ignored"
    assert queued(connection) == []


def test_a_body_over_the_limit_is_refused(client, connection) -> None:
    response = post(client, b"{" + b" " * 70_000 + b"}")
    assert response.status_code == 413
    assert queued(connection) == []


def test_without_a_configured_secret_nothing_is_accepted(connection) -> None:
    app = create_app({"REDIS_URL": REDIS_URL, "HOOK_SECRET": None, "SECRET_KEY": "x"})
    response = post(app.test_client(), json.dumps(event()).encode())
    assert response.status_code == 503
    assert queued(connection) == []
