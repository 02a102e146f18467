"""Beatport lookup: fill a playlist's tracks from the catalog (the push is in ``beatport_push``).

``enrich(playlist_id)`` runs after ingest when the DJ has connected Beatport. Every track of the
playlist without a ``beatport_id`` is looked up: by ISRC first, then by "artist title" search. The
candidates are scored by :mod:`service.dj.catalog_match`; an accepted match stores ``beatport_id`` and
fills the values the track lacks (source ``beatport``; a tag, playlist, analysis or DJ value is never
overwritten); otherwise the candidates above the floor are kept in ``tracks.beatport_match`` for the DJ
to confirm on the playlist page. Each track is written as soon as it is decided, and a track already
decided is skipped, so a retry after Beatport was unavailable carries on where it stopped.
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
