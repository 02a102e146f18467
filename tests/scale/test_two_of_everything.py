"""Two of everything on shared storage: two Directus instances behind a round-robin proxy on one
PostgreSQL and one Redis, files in one S3 bucket, two web processes and two workers.

Nothing may assume one process or one disk: a file stored through one instance is served by the
other, a change made through one is seen by the other, every event is forwarded once, every set is
built and charged once, the sweep runs once per interval, and losing an instance loses nothing."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from service.config import load_config
from service.jobs.sweep import SWEEP_CLAIM_KEY
from service.jobs.sweep import run as sweep_run
from tests.pipelines.helpers import (
    charges,
    make_dj,
    make_library,
    tagged_wav,
    upload_playlist,
    wait_for,
    wait_for_status,
)
from tests.support.scaled import ScaledStack, build_scaled_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def scaled() -> Iterator[ScaledStack]:
    stack = build_scaled_stack()
    try:
        yield stack
    finally:
        stack.close()


def _upstream(url: str) -> str:
    return requests.get(url, timeout=10).headers["X-Upstream"]


def test_the_proxy_shares_requests_between_both_instances(scaled) -> None:
    seen = {_upstream(f"{scaled.settings.directus_url}/server/ping") for _ in range(4)}
    assert seen == {f"127.0.0.1:{i.directus_port}" for i in scaled.instances}
    webs = {_upstream(f"{scaled.settings.site_url}/healthz") for _ in range(4)}
    assert len(webs) == 2


def test_a_file_stored_through_one_instance_is_served_by_the_other_from_the_bucket(
    scaled, tmp_path
) -> None:
    path = tmp_path / "one.bin"
    path.write_bytes(uuid.uuid4().bytes * 1000)
    stored = scaled.service_at(0).upload_file(path, path.name)

    assert scaled.service_at(1).download_file(stored["id"]) == path.read_bytes()
    assert scaled.admin_at(1).get_item("directus_files", stored["id"])["storage"] == "s3"
    assert stored["filename_disk"] in scaled.s3.object_keys()
    for instance in scaled.instances:  # nothing on a local disk
        assert not any(p.is_file() for p in instance.uploads_dir.rglob("*"))


def test_a_playlist_uploaded_through_one_instance_is_ingested_through_the_proxy(
    scaled, tmp_path
) -> None:
    owner = make_dj(scaled.service, grant=3)
    audio = [
        tagged_wav(tmp_path, f"Artist {n} - Track {n}.wav", artist=f"Artist {n}",
                   title=f"Track {n}", bpm=str(120 + n), key=f"{n + 1}A")
        for n in range(4)
    ]  # fmt: skip
    playlist_file = tmp_path / "night.m3u8"
    playlist_file.write_text("#EXTM3U\n" + "".join(f"{path.name}\n" for path in audio))
    created = upload_playlist(scaled.service_at(0), owner, playlist_file, audio)

    done = wait_for_status(scaled.service, "playlists", created["id"], ("done", "failed"), 120)

    assert done["status"] == "done", done.get("error")
    assert done["matched_count"] == len(audio)
    assert len(scaled.s3.object_keys()) >= len(audio) + 1


def test_a_schema_and_a_permission_change_through_one_instance_are_seen_by_the_other(
    scaled,
) -> None:
    name = f"probe_{uuid.uuid4().hex[:8]}"
    first, second = scaled.admin_at(0), scaled.admin_at(1)
    second.call("GET", "/collections")  # the second instance has its schema in memory
    first.call("POST", "/collections", json={"collection": name, "schema": {}, "meta": {}})
    first.call("POST", f"/fields/{name}", json={"field": "label", "type": "string"})

    item = wait_for(
        lambda: _created_or_none(second, name, {"label": "seen"}), 15, "the new collection"
    )
    assert item["label"] == "seen"

    token = uuid.uuid4().hex
    policy = first.call("POST", "/policies", json={"name": f"{name} reader", "app_access": False})
    reader = first.create_item("directus_users", {"email": f"{name}@example.com",
                                                  "token": token, "status": "active"})  # fmt: skip
    first.call("POST", "/access", json={"user": reader["id"], "policy": policy["id"]})
    reading = second.with_token(token)
    assert _status(reading, f"/items/{name}") == 403
    first.call("POST", "/permissions", json={"policy": policy["id"], "collection": name,
                                             "action": "read", "fields": ["*"]})  # fmt: skip
    wait_for(lambda: _status(reading, f"/items/{name}") == 200, 15, "the new permission")


def _created_or_none(client, collection: str, item: dict):
    try:
        return client.create_item(collection, item)
    except Exception:  # not there yet on this instance
        return None


def _status(client, path: str) -> int:
    try:
        client.call("GET", path)
    except Exception as exc:
        return getattr(exc, "status", 0) or 0
    return 200


def test_a_write_through_one_instance_is_read_fresh_through_the_other(scaled) -> None:
    owner = make_dj(scaled.service, grant=1)
    library = make_library(scaled.service, owner, 4)
    reader, writer = scaled.service_at(1), scaled.service_at(0)
    assert reader.get_item("playlists", library)["name"]  # cached on the reader now

    writer.update_item("playlists", library, {"name": "Renamed on the other instance"})

    assert reader.get_item("playlists", library)["name"] == "Renamed on the other instance"


def test_every_event_is_forwarded_once_and_every_set_built_and_charged_once(scaled) -> None:
    owner = make_dj(scaled.service, grant=8)
    playlist = make_library(scaled.service, owner, 30)
    created = [
        scaled.service_at(n % 2).create_item(
            "sets", {"owner": owner, "playlist": playlist, "parameters": {"time_budget_s": 0.3}}
        )
        for n in range(6)
    ]
    for item in created:
        done = wait_for_status(scaled.service, "sets", item["id"], ("done", "failed"), 90)
        assert done["status"] == "done", done["error"]
        assert [e["delta"] for e in charges(scaled.service, item["id"])] == [-1]
    time.sleep(1.0)  # the workers' last lines reach their logs
    web_logs, worker_logs = scaled.web_logs(), scaled.worker_logs()
    for item in created:
        forwarded = re.findall(rf"items\.create on sets \['{item['id']}'\]", web_logs)
        assert len(forwarded) == 1
        started = re.findall(rf"default: generate sets/{item['id']} ", worker_logs)
        assert len(started) == 1


def test_the_sweep_runs_once_per_interval_across_schedulers(scaled) -> None:
    config = load_config(scaled.service_env())
    scaled.redis.delete(SWEEP_CLAIM_KEY)

    first, second = sweep_run(config), sweep_run(config)

    assert "skipped" not in first
    assert second == {"skipped": ["swept this interval"]}


def test_losing_one_directus_instance_mid_flow_loses_nothing(scaled) -> None:
    owner = make_dj(scaled.service, grant=8)
    playlist = make_library(scaled.service, owner, 30)
    parameters = {"time_budget_s": 0.5}
    created = [
        scaled.service.create_item(
            "sets", {"owner": owner, "playlist": playlist, "parameters": parameters}
        )
        for _ in range(3)
    ]
    scaled.kill_directus(1)
    created += [
        scaled.service.create_item(
            "sets", {"owner": owner, "playlist": playlist, "parameters": parameters}
        )
        for _ in range(3)
    ]

    for item in created:
        done = wait_for_status(scaled.service, "sets", item["id"], ("done", "failed"), 120)
        assert done["status"] == "done", done["error"]
        assert [e["delta"] for e in charges(scaled.service, item["id"])] == [-1]
