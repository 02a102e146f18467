"""Beatport pipelines against the real stack and the fake Beatport: enrichment, push, tokens at rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from service import beatport
from service.config import load_config
from service.integrations.beatport import Tokens
from service.jobs import beatport as jobs
from service.jobs import beatport_push
from service.jobs.queue import job_queue, redis_connection
from service.stack.access import role_id
from tests.support.fake_beatport import FakeBeatport, catalog_track, fake_beatport

pytestmark = pytest.mark.stack


@pytest.fixture
def fake() -> Iterator[FakeBeatport]:
    with fake_beatport() as server:
        server.add(
            catalog_track(1, "Losing It", ["FISHER"], isrc="AUUM71800541", length_ms=370_000),
            catalog_track(
                2,
                "Losing It",
                ["FISHER"],
                mix_name="Radio Edit",
                length_ms=190_000,
                isrc="AUUM71800541",
            ),
            catalog_track(
                10,
                "Cola",
                ["CamelPhat", "Elderbrook"],
                bpm=122,
                key=(9, "A", "E Minor"),
                genre="House",
                label="Defected",
                length_ms=368_000,
            ),
            catalog_track(
                11,
                "Cola",
                ["CamelPhat", "Elderbrook"],
                mix_name="Robert Hood Remix",
                remixers=["Robert Hood"],
                length_ms=400_000,
            ),
            catalog_track(20, "Atmosphere", ["Kaskade"], length_ms=405_000),
            catalog_track(
                21, "Atmosphere", ["Kaskade"], mix_name="Extended Mix", length_ms=460_000
            ),
            catalog_track(30, "Rosé", ["Kölsch"], key=(6, "B", "B-flat Major"), length_ms=421_000),
        )
        yield server


@pytest.fixture
def config(stack, fake, monkeypatch) -> dict[str, Any]:
    """The service's configuration with Beatport on, pointed at the fake (jobs read the env)."""
    env = {
        **stack.settings.service_env(),
        "BEATPORT_CLIENT_ID": fake.client_id,
        "BEATPORT_CLIENT_SECRET": fake.client_secret,
        "BEATPORT_REDIRECT_URI": "http://127.0.0.1:5000/beatport/callback",
        "BEATPORT_TOKEN_KEYS": Fernet.generate_key().decode(),
        "BEATPORT_API_URL": fake.url + "/v4",
        "BEATPORT_CACHE_TTL_S": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_config()


def _dj(directus) -> str:
    import secrets

    return directus.create_item(
        "directus_users",
        {
            "email": f"bp-{secrets.token_hex(5)}@example.com",
            "role": role_id("DJ"),
            "status": "active",
        },
    )["id"]


def _connect(stack, config, fake, owner: str, **token_options: Any) -> Tokens:
    tokens = Tokens.from_response(fake.issue_tokens(**token_options))
    beatport.save_tokens(stack.service, config, owner, tokens)
    return tokens


def _playlist(directus, owner: str, rows: list[dict[str, Any]]) -> tuple[str, list[str]]:
    tracks = directus.create_items("tracks", [{"owner": owner, **r} for r in rows])
    by_title = {t["title"]: t["id"] for t in tracks}  # titles are unique within a test
    ids = [by_title[r["title"]] for r in rows]
    playlist = directus.create_item(
        "playlists", {"owner": owner, "name": "Friday", "status": "done", "progress": 100}
    )
    directus.create_items(
        "playlist_tracks",
        [
            {"playlist": playlist["id"], "track": t, "position": n}
            for n, t in enumerate(ids, start=1)
        ],
    )
    return playlist["id"], ids


def _track(directus, track_id: str) -> dict[str, Any]:
    row = directus.get_item("tracks", track_id)
    if row.get("beatport_id") is not None:  # bigInteger: PostgreSQL's driver answers a string
        row["beatport_id"] = int(row["beatport_id"])
    return row


def test_enrichment_fills_only_missing_values_and_keeps_candidates(stack, config, fake) -> None:
    owner = _dj(stack.service)
    _connect(stack, config, fake, owner)
    playlist_id, ids = _playlist(
        stack.service,
        owner,
        [
            {"title": "Losing It", "artist": "FISHER", "isrc": "AUUM71800541", "duration_s": 369.5},
            {
                "title": "Cola (Original Mix)",
                "artist": "CamelPhat & Elderbrook",
                "bpm": 123,
                "sources": {"bpm": "tag:TBPM"},
            },
            {"title": "Atmosphere", "artist": "Kaskade"},
            {"title": "Rose", "artist": "Kolsch", "duration_s": 420.0, "sources": {"key": "dj"}},
            {"title": "Blue Monday", "artist": "New Order"},
        ],
    )

    assert jobs.enrich(playlist_id) == "done"

    by_isrc, searched, ambiguous, dj_key, nothing = (_track(stack.service, i) for i in ids)
    assert by_isrc["beatport_id"] == 1  # the ISRC names two; the duration picks the full length
    assert by_isrc["beatport_match"]["status"] == "matched"
    assert by_isrc["beatport_match"]["via"] == "isrc"
    assert by_isrc["bpm"] == 124 and by_isrc["key"] == "8A" and by_isrc["label"] == "Fake Records"
    assert by_isrc["sources"]["bpm"] == "beatport" and by_isrc["sources"]["key"] == "beatport"
    assert by_isrc["duration_s"] == 369.5  # the tag's value stays

    assert searched["beatport_id"] == 10 and searched["beatport_match"]["via"] == "search"
    assert searched["bpm"] == 123 and searched["sources"]["bpm"] == "tag:TBPM"  # never overwritten
    assert searched["key"] == "9A" and searched["sources"]["key"] == "beatport"
    assert searched["beatport_match"]["score"] >= 0.85

    assert ambiguous["beatport_id"] is None
    assert ambiguous["beatport_match"]["status"] == "candidates"
    assert {c["id"] for c in ambiguous["beatport_match"]["candidates"]} == {20, 21}

    assert dj_key["beatport_id"] == 30 and dj_key["key"] is None  # the DJ cleared it: kept so
    assert nothing["beatport_match"]["status"] == "none" and nothing["beatport_id"] is None

    before = len(fake.seen)
    assert jobs.enrich(playlist_id) == "done"  # a repeat looks nothing up again
    assert len(fake.seen) == before


def test_enrichment_carries_on_after_beatport_was_unavailable(stack, config, fake) -> None:
    from service.integrations.beatport import BeatportUnavailable

    owner = _dj(stack.service)
    _connect(stack, config, fake, owner)
    playlist_id, ids = _playlist(
        stack.service,
        owner,
        [
            {"title": "Losing It", "artist": "FISHER", "duration_s": 370.0},
            {"title": "Cola", "artist": "CamelPhat", "duration_s": 368.0},
        ],
    )
    fake.fail(500, path="/v4/catalog/search/", times=20)
    with pytest.raises(BeatportUnavailable):
        jobs.enrich(playlist_id)
    fake.faults.clear()
    assert jobs.enrich(playlist_id) == "done"
    assert [_track(stack.service, i)["beatport_id"] for i in ids] == [1, 10]


def test_without_a_connection_nothing_is_looked_up(stack, config, fake) -> None:
    owner = _dj(stack.service)
    playlist_id, _ = _playlist(stack.service, owner, [{"title": "Cola", "artist": "CamelPhat"}])
    assert jobs.enrich(playlist_id) == "not connected"
    assert not fake.seen
    connection = redis_connection(config)
    queue = job_queue(connection)
    queue.empty()
    jobs.after_ingest(playlist_id)
    assert queue.count == 0
    _connect(stack, config, fake, owner)
    jobs.after_ingest(playlist_id)
    assert queue.job_ids == [f"playlist-beatport-enrich-{playlist_id}"]
    queue.empty()


def test_tokens_are_encrypted_refreshed_before_expiry_and_rotated(
    stack, config, fake, monkeypatch
) -> None:
    owner = _dj(stack.service)
    old = _connect(stack, config, fake, owner, ttl_s=30)
    stored = beatport.get_link(stack.service, owner)
    assert old.access_token not in stored["tokens"] and old.refresh_token not in stored["tokens"]

    client = beatport.client_for(stack.service, config, redis_connection(config), owner)
    client.search_tracks("cola")
    assert client.tokens.access_token != old.access_token  # refreshed: it expired within 5 min
    assert fake.seen[0] == ("POST", "/v4/auth/o/token/")  # before the request, not after a 401
    fresh, _ = beatport.decrypt_tokens(config, beatport.get_link(stack.service, owner)["tokens"])
    assert fresh == client.tokens and old.refresh_token not in fake.refresh

    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("BEATPORT_TOKEN_KEYS", f"{new_key},{config['BEATPORT_TOKEN_KEYS']}")
    rotated_config = load_config()
    beatport.client_for(stack.service, rotated_config, redis_connection(config), owner)
    stored = beatport.get_link(stack.service, owner)["tokens"]
    assert json.loads(Fernet(new_key.encode()).decrypt(stored.encode()))["access_token"]


def test_disconnect_revokes_and_deletes_and_a_deleted_account_takes_its_tokens(
    stack, config, fake
) -> None:
    owner = _dj(stack.service)
    tokens = _connect(stack, config, fake, owner)
    assert beatport.disconnect(stack.service, config, None, owner) is True
    assert beatport.get_link(stack.service, owner) is None
    assert tokens.refresh_token in fake.revoked and tokens.access_token in fake.revoked
    assert beatport.disconnect(stack.service, config, None, owner) is False

    _connect(stack, config, fake, owner)
    stack.service.delete_item("directus_users", owner)
    assert not stack.service.list_items("beatport_links", filter={"user": {"_eq": owner}})


def _set(directus, owner: str, title: str, track_ids: list[str]) -> str:
    item = directus.create_item(
        "sets",
        {"owner": owner, "title": title, "status": "done", "beatport_push": {"status": "queued"}},
    )
    directus.create_items(
        "set_tracks",
        [{"set": item["id"], "track": t, "position": n} for n, t in enumerate(track_ids, start=1)],
    )
    return item["id"]


def test_push_creates_one_playlist_in_set_order_and_updates_it_on_repush(
    stack, config, fake
) -> None:
    owner = _dj(stack.service)
    _connect(stack, config, fake, owner)
    tracks = stack.service.create_items(
        "tracks",
        [
            {"owner": owner, "title": "Cola", "artist": "CamelPhat", "beatport_id": 10},
            {"owner": owner, "title": "White Label", "artist": "Nobody"},
            {"owner": owner, "title": "Losing It", "artist": "FISHER", "beatport_id": 1},
        ],
    )
    by_title = {t["title"]: t["id"] for t in tracks}
    set_id = _set(
        stack.service,
        owner,
        "Friday peak",
        [by_title["Losing It"], by_title["White Label"], by_title["Cola"]],
    )

    assert beatport_push.run(set_id) == "done"
    item = stack.service.get_item("sets", set_id)
    playlist_id = int(item["beatport_playlist_id"])
    assert fake.playlists[playlist_id]["name"] == "Friday peak"
    assert fake.playlist_track_ids(playlist_id) == [1, 10]
    report = item["beatport_push"]
    assert report["status"] == "done" and report["pushed"] == 2
    assert report["unmatched"] == [{"position": 2, "title": "White Label", "artist": "Nobody"}]

    links = stack.service.list_items(
        "set_tracks", filter={"set": {"_eq": set_id}}, fields=["id", "track"]
    )
    stack.service.update_batch(
        "set_tracks",
        [
            {
                "id": link["id"],
                "position": {by_title["Cola"]: 1, by_title["Losing It"]: 3}.get(link["track"], 2),
            }
            for link in links
        ],
    )
    stack.service.update_item(
        "sets", set_id, {"title": "Friday peak v2", "beatport_push": {"status": "queued"}}
    )
    assert beatport_push.run(set_id) == "done"
    assert list(fake.playlists) == [playlist_id]  # the same playlist, not a second one
    assert fake.playlist_track_ids(playlist_id) == [10, 1]
    assert fake.playlists[playlist_id]["name"] == "Friday peak v2"


def test_push_without_a_connection_says_so(stack, config, fake) -> None:
    owner = _dj(stack.service)
    set_id = _set(stack.service, owner, "Lonely", [])
    assert beatport_push.run(set_id) == "failed"
    assert "Connect" in stack.service.get_item("sets", set_id)["beatport_push"]["error"]


def test_a_token_refused_mid_lookup_is_refreshed_once_and_stored(stack, config, fake) -> None:
    owner = _dj(stack.service)
    first = _connect(stack, config, fake, owner)
    playlist_id, ids = _playlist(stack.service, owner, [{"title": "Cola", "artist": "CamelPhat"}])
    fake.expire_all_access_tokens()  # Beatport says 401 although our clock says it is valid
    assert jobs.enrich(playlist_id) == "done"
    assert _track(stack.service, ids[0])["beatport_id"] == 10
    stored, _ = beatport.decrypt_tokens(config, beatport.get_link(stack.service, owner)["tokens"])
    assert stored.access_token != first.access_token and stored.access_token in fake.access


def test_a_push_that_dies_is_marked_failed_by_its_failure_callback(stack, config, fake) -> None:
    owner = _dj(stack.service)
    set_id = _set(stack.service, owner, "Crashed", [])
    beatport_push.terminal_failure(set_id, "The job stopped unexpectedly.")
    report = stack.service.get_item("sets", set_id)["beatport_push"]
    assert report["status"] == "failed" and report["error"] == "The job stopped unexpectedly."


def test_two_workers_refreshing_one_account_share_one_refresh(stack, config, fake) -> None:
    """Beatport rotates refresh tokens: the second worker must use the first one's new tokens."""
    owner = _dj(stack.service)
    _connect(stack, config, fake, owner)
    connection = redis_connection(config)
    one = beatport.client_for(stack.service, config, connection, owner)
    two = beatport.client_for(stack.service, config, connection, owner)
    fake.expire_all_access_tokens()
    assert one.search_tracks("cola") and two.search_tracks("losing it")
    assert fake.count("POST", "/v4/auth/o/token/") == 1
    assert one.tokens == two.tokens


def test_the_catalog_replaces_what_the_analysis_guessed_but_never_tags_or_the_dj() -> None:
    from service.beatport import match_changes

    track = {
        "bpm": 87.0,
        "key": "5A",
        "genre": "Techno",
        "label": None,
        "sources": {"bpm": "analysis", "key": "tags", "genre": "dj"},
    }
    summary = {"id": 42, "bpm": 174, "key": "6A", "genre": "Drum & Bass", "label": "Hospital"}

    changes = match_changes(track, summary)

    assert changes["bpm"] == 174 and changes["sources"]["bpm"] == "beatport"
    assert "key" not in changes and "genre" not in changes
    assert changes["label"] == "Hospital"
