"""Helpers for pipeline tests: DJs, uploads and libraries made through Directus REST, and waiting."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from service import ledger
from service.integrations.directus import DirectusClient
from service.stack.access import role_id
from service.web.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.dj.audio import tag_id3, write_audio

T = TypeVar("T")

KEYS = ["8A", "9A", "9B", "10A", "10B", "11A", "12A", "1A", "12B", "8B", "7A", "6A"]


def wait_for(
    check: Callable[[], T | None], timeout_s: float = 30.0, what: str = "the condition"
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def wait_for_status(
    directus: DirectusClient, collection: str, item_id: str, statuses: tuple[str, ...],
    timeout_s: float = 30.0,
) -> dict[str, Any]:  # fmt: skip
    """The item once its status is one of ``statuses``."""

    def check() -> dict[str, Any] | None:
        item = directus.get_item(collection, item_id)
        return item if item["status"] in statuses else None

    return wait_for(check, timeout_s, f"{collection}/{item_id} to reach {'/'.join(statuses)}")


def wait_for_job_to_settle(connection: Any, job_id: str, timeout_s: float = 10.0) -> None:
    """Wait until RQ no longer shows the job as waiting or running (it finished or failed)."""
    from rq.job import Job, JobStatus

    def settled() -> bool:
        if not Job.exists(job_id, connection=connection):
            return True
        status = Job.fetch(job_id, connection=connection).get_status()
        return status not in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED)

    wait_for(settled, timeout_s, f"job {job_id} to settle")


def make_dj(directus: DirectusClient, grant: int | None = None) -> str:
    """A new DJ account; its sign-up grant is written here too (idempotent with the hook's job)."""
    user = directus.create_item(
        "directus_users",
        {
            "email": f"dj-{secrets.token_hex(5)}@example.com",
            "role": role_id("DJ"),
            "status": "active",
            "email_verified_at": "2026-01-01T00:00:00Z",
        },
    )
    amount = ledger.signup_grant_amount(directus) if grant is None else grant
    ledger.grant(directus, user["id"], amount, ledger.signup_reference(user["id"]))
    return user["id"]


def tagged_wav(folder: Path, name: str, **values: str) -> Path:
    """A short real WAV file tagged the way DJ software writes ID3."""
    path = write_audio(folder / name, "wav", seconds=0.2)
    tag_id3(path, values)
    return path


def upload_playlist(
    directus: DirectusClient,
    owner: str,
    playlist_file: Path,
    audio: list[Path],
    *,
    name: str = "Friday",
) -> dict[str, Any]:
    """Upload audio and a playlist into a fresh folder and create the ``playlists`` row (queued)."""
    folder = directus.call("POST", "/folders", json={"name": f"upload {uuid.uuid4().hex[:8]}"})
    for path in audio:
        directus.upload_file(path, path.name, metadata={"folder": folder["id"]})
    source = directus.upload_file(
        playlist_file, playlist_file.name, metadata={"folder": folder["id"]}
    )
    return directus.create_item(
        "playlists",
        {
            "owner": owner,
            "name": name,
            "source_file": source["id"],
            "upload_folder": folder["id"],
            "status": "queued",
        },
    )


def make_library(directus: DirectusClient, owner: str, n: int, *, seed: int = 7) -> str:
    """``n`` tagged tracks of the owner in an imported (done) playlist; returns the playlist id."""
    import random

    rng = random.Random(seed)
    rows = [
        {
            "owner": owner,
            "title": f"Track {i:03d}",
            "artist": f"Artist {i % 37:02d}",
            "bpm": round(rng.uniform(118, 130), 1),
            "key": rng.choice(KEYS),
            "energy": rng.randint(2, 9),
            "duration_s": rng.uniform(300, 420),
            "genre": "House",
        }
        for i in range(n)
    ]
    tracks = directus.create_items("tracks", rows)
    playlist = directus.create_item(
        "playlists",
        {"owner": owner, "name": f"Library of {n}", "status": "done", "progress": 100},
    )
    directus.create_items(
        "playlist_tracks",
        [
            {"playlist": playlist["id"], "track": t["id"], "position": k}
            for k, t in enumerate(tracks, start=1)
        ],
    )
    return playlist["id"]


def signed_post(
    url: str, secret: str, event: dict[str, Any], *, timestamp: int | None = None
) -> requests.Response:
    """POST an event to /hooks/directus signed as the extension signs it."""
    body = json.dumps(event).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return requests.post(
        f"{url}/hooks/directus",
        data=body,
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(secret, ts, body),
        },
        timeout=5,
    )


def charges(directus: DirectusClient, set_id: str) -> list[dict[str, Any]]:
    """Ledger entries that charged or refunded the set."""
    return directus.list_items(
        "token_ledger",
        filter={"reference": {"_in": [f"set:{set_id}", f"refund:set:{set_id}"]}},
        limit=-1,
    )
