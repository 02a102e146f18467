"""Beatport pipelines: fill a playlist's tracks from the catalog, push a set as a Beatport playlist.

``enrich(playlist_id)`` runs after ingest when the DJ has connected Beatport. Every track of the
playlist without a ``beatport_id`` is looked up: by ISRC first, then by "artist title" search. The
candidates are scored by :mod:`service.dj.catalog_match`; an accepted match stores ``beatport_id`` and
fills the values the track lacks (source ``beatport``; a tag, playlist, analysis or DJ value is never
overwritten); otherwise the candidates above the floor are kept in ``tracks.beatport_match`` for the DJ
to confirm on the playlist page. Each track is written as soon as it is decided, and a track already
decided is skipped, so a retry after Beatport was unavailable carries on where it stopped.

``push(set_id)`` writes the set's matched tracks, in set order, to one Beatport playlist named after
the set: created on the first push (its id kept in ``sets.beatport_playlist_id`` before any track is
added, so a retry cannot create a second one), renamed and refilled on the next. Tracks without a
match are listed in ``sets.beatport_push.unmatched``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from service import beatport
from service.config import load_config
from service.dj.catalog_match import CatalogEntry, MatchDecision, Wanted, decide
from service.integrations.beatport import (
    BeatportAuthError,
    BeatportClient,
    BeatportError,
    BeatportNotFound,
    BeatportTrack,
    BeatportUnavailable,
)
from service.integrations.directus import DirectusClient, DirectusForbidden, DirectusNotFound
from service.jobs import state
from service.jobs.queue import enqueue, redis_connection

log = logging.getLogger(__name__)

# A track whose lookup ended in one of these is not looked up again (the DJ decides from here on).
DECIDED = ("matched", "candidates", "none", "confirmed", "rejected")
TRACK_FIELDS = (
    "id",
    "title",
    "artist",
    "isrc",
    "duration_s",
    "bpm",
    "key",
    "genre",
    "label",
    "sources",
    "beatport_id",
    "beatport_match",
)
BULK = 100


def _entry(track: BeatportTrack) -> CatalogEntry:
    return CatalogEntry(
        track.id,
        track.name,
        track.mix_name,
        track.artists,
        track.remixers,
        track.duration_s,
        track.isrc,
    )


def lookup(
    client: BeatportClient, row: Mapping[str, Any]
) -> tuple[MatchDecision, str, dict[int, BeatportTrack]]:
    """Decide a track's match: ISRC hits first, then search results; returns how it was found."""
    wanted = Wanted(
        str(row.get("title") or ""),
        row.get("artist"),
        float(row["duration_s"]) if row.get("duration_s") else None,
        row.get("isrc"),
    )
    found: dict[int, BeatportTrack] = {}
    if row.get("isrc"):
        found.update((t.id, t) for t in client.tracks_by_isrc(str(row["isrc"])))
        decision = decide(wanted, [_entry(t) for t in found.values()])
        if decision.accepted is not None:
            return decision, "isrc", found
    query = " ".join(filter(None, [row.get("artist"), row.get("title")]))
    found.update((t.id, t) for t in client.search_tracks(query) if t.id not in found)
    return decide(wanted, [_entry(t) for t in found.values()]), "search", found


def _decision_changes(
    row: Mapping[str, Any], decision: MatchDecision, via: str, found: Mapping[int, BeatportTrack]
) -> dict[str, Any]:
    candidates = [{**found[s.entry.id].summary(), "score": s.score} for s in decision.candidates]
    if decision.accepted is not None:
        summary = found[decision.accepted.entry.id].summary()
        changes = beatport.match_changes(row, summary)
        changes["beatport_match"] = {
            "status": "matched",
            "score": decision.accepted.score,
            "via": via,
            "candidates": [],
            "checked_at": state.now_iso(),
        }
        return changes
    return {
        "beatport_match": {
            "status": "candidates" if candidates else "none",
            "score": None,
            "via": via,
            "candidates": candidates,
            "checked_at": state.now_iso(),
        }
    }


def _playlist_tracks(directus: DirectusClient, playlist_id: str) -> list[dict[str, Any]]:
    links = directus.list_items(
        "playlist_tracks",
        filter={"playlist": {"_eq": playlist_id}},
        fields=["track"],
        sort=["position"],
        limit=-1,
    )
    ids = list(dict.fromkeys(str(link["track"]) for link in links if link.get("track")))
    if not ids:
        return []
    return directus.list_items(
        "tracks", filter={"id": {"_in": ids}}, fields=list(TRACK_FIELDS), limit=-1
    )


def enrich(playlist_id: str) -> str:
    """RQ entry point: look up the playlist's unmatched tracks on Beatport and store what is found."""
    state.job_logging()
    config = load_config()
    connection = redis_connection(config)
    directus = state.directus_client(config)
    try:
        playlist = directus.get_item("playlists", playlist_id, fields=["id", "owner", "status"])
    except (DirectusNotFound, DirectusForbidden):
        return "gone"
    if playlist.get("status") != "done":
        return "not ingested"
    try:
        client = beatport.client_for(directus, config, connection, str(playlist["owner"]))
    except beatport.NotConnected as exc:
        log.info("playlist %s: no Beatport lookup (%s)", playlist_id, exc)
        return "not connected"
    except BeatportAuthError:
        log.warning("playlist %s: the DJ's Beatport grant is gone; reconnect needed", playlist_id)
        return "reconnect"
    counts = {"matched": 0, "candidates": 0, "none": 0, "skipped": 0}
    for row in _playlist_tracks(directus, playlist_id):
        done = (row.get("beatport_match") or {}).get("status") in DECIDED
        if row.get("beatport_id") or done or not row.get("title"):
            counts["skipped"] += 1
            continue
        try:
            decision, via, found = lookup(client, row)
        except BeatportAuthError:
            log.warning(
                "playlist %s: Beatport refused the DJ's token; reconnect needed", playlist_id
            )
            return "reconnect"
        except BeatportUnavailable:
            raise  # RQ retries; decided tracks are skipped next time
        except BeatportError as exc:
            log.warning("track %s: Beatport lookup failed: %s", row["id"], exc)
            continue
        changes = _decision_changes(row, decision, via, found)
        directus.update_item("tracks", row["id"], changes)
        counts[changes["beatport_match"]["status"]] += 1
    log.info("playlist %s: Beatport %s", playlist_id, counts)
    return "done"


def after_ingest(playlist_id: str) -> None:
    """Start the lookup for an ingested playlist if Beatport is on and its DJ has connected."""
    config = load_config()
    if not beatport.configured(config):
        return
    directus = state.directus_client(config)
    try:
        owner = directus.get_item("playlists", playlist_id, fields=["owner"]).get("owner")
        if owner and beatport.get_link(directus, str(owner)) is not None:
            enqueue("beatport_enrich", playlist_id, connection=redis_connection(config))
    except Exception:  # the ingest itself succeeded: a missed lookup must not fail it
        log.exception("could not start the Beatport lookup of playlist %s", playlist_id)


# -- push ------------------------------------------------------------------------------------------
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


def push(set_id: str) -> str:
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
