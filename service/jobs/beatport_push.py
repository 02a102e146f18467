"""Push a set to Beatport: one playlist named after the set, its matched tracks in set order.

Created on the first push (its id kept in ``sets.beatport_playlist_id`` before any track is added, so
a retry cannot create a second one), renamed and refilled on the next; a playlist the DJ deleted on
Beatport is made again. Tracks without a match are listed in ``sets.beatport_push.unmatched``. The
push's state lives in ``sets.beatport_push`` (``queued``, ``running``, ``done``, ``failed`` with a
sentence for the DJ), apart from the set's own ``status``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from service import beatport
from service.config import load_config
from service.integrations.beatport import (
    BeatportAuthError,
    BeatportClient,
    BeatportError,
    BeatportNotFound,
    BeatportUnavailable,
)
from service.integrations.directus import DirectusClient, DirectusForbidden, DirectusNotFound
from service.jobs import state
from service.jobs.queue import redis_connection

log = logging.getLogger(__name__)

BULK = 100


def _set_push(directus: DirectusClient, set_id: str, **report: Any) -> None:
    directus.update_item("sets", set_id, {"beatport_push": {**report, "at": state.now_iso()}})


def terminal_failure(set_id: str, message: str) -> None:
    """Mark the push failed from outside its job (timeout, dead worker, last retry)."""
    _set_push(state.directus_client(), set_id, status="failed", error=message)


def _sync_playlist(
    client: BeatportClient, directus: DirectusClient, item: Mapping[str, Any], track_ids: list[int]
) -> int:
    name = str(item.get("title") or "AIDJSets set")[:100]
    playlist_id = item.get("beatport_playlist_id")
    if playlist_id:
        try:
            client.rename_playlist(int(playlist_id), name)
        except BeatportNotFound:
            playlist_id = None  # the DJ deleted it on Beatport: make a new one
    if not playlist_id:
        playlist_id = client.create_playlist(name)
        directus.update_item("sets", item["id"], {"beatport_playlist_id": playlist_id})
    items = client.playlist_items(int(playlist_id))
    if [int((i.get("track") or {}).get("id", 0)) for i in items] != track_ids:
        client.remove_playlist_items(int(playlist_id), [int(i["id"]) for i in items])
        for start in range(0, len(track_ids), BULK):
            client.add_playlist_tracks(int(playlist_id), track_ids[start : start + BULK])
    return int(playlist_id)


def run(set_id: str) -> str:
    """RQ entry point: push the set to its Beatport playlist and report the unmatched tracks."""
    state.job_logging()
    config = load_config()
    connection = redis_connection(config)
    directus = state.directus_client(config)
    try:
        item = directus.get_item(
            "sets",
            set_id,
            fields=["id", "owner", "title", "status", "beatport_playlist_id", "beatport_push"],
        )
    except (DirectusNotFound, DirectusForbidden):
        return "gone"
    if (item.get("beatport_push") or {}).get("status") not in ("queued", "running"):
        return "not asked"
    _set_push(directus, set_id, status="running")
    rows = directus.list_items(
        "set_tracks",
        filter={"set": {"_eq": set_id}},
        sort=["position"],
        fields=["position", "track.id", "track.title", "track.artist", "track.beatport_id"],
        limit=-1,
    )
    ids: list[int] = []
    unmatched: list[dict[str, Any]] = []
    for row in rows:
        track = row.get("track") or {}
        if track.get("beatport_id"):
            ids.append(int(track["beatport_id"]))
        else:
            unmatched.append(
                {
                    "position": row.get("position"),
                    "title": track.get("title"),
                    "artist": track.get("artist"),
                }
            )
    try:
        client = beatport.client_for(directus, config, connection, str(item["owner"]))
        playlist_id = _sync_playlist(client, directus, item, ids)
    except beatport.NotConnected:
        _set_push(directus, set_id, status="failed", error="Connect your Beatport account first.")
        return "failed"
    except BeatportAuthError:
        _set_push(
            directus,
            set_id,
            status="failed",
            error="Beatport no longer accepts your connection: disconnect and connect again.",
        )
        return "failed"
    except BeatportUnavailable:
        if state.attempts_left() > 0:
            raise
        _set_push(
            directus,
            set_id,
            status="failed",
            error="Beatport was unavailable; please push again in a few minutes.",
        )
        return "failed"
    except BeatportError as exc:
        _set_push(
            directus, set_id, status="failed", error=f"Beatport refused the playlist: {exc.message}"
        )
        return "failed"
    _set_push(
        directus,
        set_id,
        status="done",
        playlist_id=playlist_id,
        pushed=len(ids),
        unmatched=unmatched,
    )
    log.info(
        "set %s pushed to Beatport playlist %s: %d tracks, %d unmatched",
        set_id,
        playlist_id,
        len(ids),
        len(unmatched),
    )
    return "done"
