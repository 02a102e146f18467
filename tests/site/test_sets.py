"""New sets (price first, intent recorded, one job) and the set page: order, badges, energy chart,
notes, every download, delete."""

from __future__ import annotations

import csv
import html
import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from rq import Queue

from service.dj.scorecard import score_order
from service.jobs.queue import job_id
from service.web.site.filters import badge, explain
from tests.engine.factories import track
from tests.site.conftest import TRACKS, csrf, make_done_set, make_library

pytestmark = pytest.mark.stack


@pytest.fixture
def library(stack, dj_client):
    dj, _ = dj_client
    return make_library(stack.service, dj.id)


def test_the_new_set_page_shows_the_price_before_confirming(stack, dj_client, library) -> None:
    _, browser = dj_client
    stack.admin.update_singleton("app_settings", {"set_price_tokens": 2})
    try:
        page = browser.get(f"/sets/new?playlist={library['playlist']}").text
    finally:
        stack.admin.update_singleton("app_settings", {"set_price_tokens": 1})
    assert "This set costs <strong>2</strong> tokens. Your balance: 3." in page
    assert "Build the set for 2 tokens" in page
    for title, *_ in TRACKS:
        assert title in page  # offered as first and last track


def test_creating_a_set_records_intent_and_enqueues_one_job(
    stack, site_redis, dj_client, library
) -> None:
    dj, browser = dj_client
    first, last = library["tracks"][0], library["tracks"][-1]
    response = browser.post(
        "/sets",
        data={
            "csrf_token": csrf(browser),
            "step": "build",
            "playlist": library["playlist"],
            "duration_min": "60",
            "arc": "peak-time",
            "first": first,
            "last": last,
            "bpm_min": "120",
            "bpm_max": "132",
            "brief": "Warm and deep, then up",
        },
    )
    assert response.status_code == 303
    set_id = response.headers["Location"].rsplit("/", 1)[1]
    item = stack.service.get_item("sets", set_id)
    assert item["owner"] == dj.id and item["playlist"] == library["playlist"]
    assert item["brief"] == "Warm and deep, then up"
    assert item["parameters"] == {
        "duration_min": 60, "arc": "peak-time", "first": first, "last": last,
        "bpm_min": 120.0, "bpm_max": 132.0,
    }  # fmt: skip
    assert item["status"] == "queued"
    assert Queue("default", connection=site_redis).job_ids.count(job_id("generate", set_id)) == 1
    page = browser.get(f"/sets/{set_id}")
    assert (
        "You asked for: peak-time arc, about 60 minutes, 120–132 BPM, a chosen first track, "
        "a chosen last track." in page.text
    )
    assert "<progress" in page.text and f'data-status-url="/sets/{set_id}/status"' in page.text
    assert browser.get(f"/sets/{set_id}/status").json == {
        "status": "queued", "progress": 0, "error": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bpm_min": "130", "bpm_max": "120"}, "lowest BPM is above the highest"),
        ({"duration_min": "2"}, "Target length must be between 5 and 720"),
        ({"arc": "sideways"}, "Choose one of the energy arcs"),
        ({"first": "same", "last": "same"}, "must differ"),
        ({"first": "00000000-0000-0000-0000-000000000000"}, "must be one of this playlist"),
        ({"brief": "x" * 1001}, "Keep the brief under 1000"),
    ],
)
def test_a_wrong_set_request_is_explained_and_not_recorded(
    stack, dj_client, library, fields, message
) -> None:
    dj, browser = dj_client
    if fields.get("first") == "same":
        fields = {"first": library["tracks"][0], "last": library["tracks"][0]}
    response = browser.post(
        "/sets", data={"csrf_token": csrf(browser), "playlist": library["playlist"], **fields}
    )
    assert response.status_code == 400
    assert message in response.text
    assert stack.service.count("sets", {"owner": {"_eq": dj.id}}) == 0


def test_without_enough_tokens_no_set_is_recorded(stack, site_app, make_dj) -> None:
    from tests.site.conftest import log_in, new_client

    dj = make_dj(tokens=0)
    library = make_library(stack.service, dj.id)
    browser = log_in(new_client(site_app), dj)
    page = browser.get(f"/sets/new?playlist={library['playlist']}").text
    assert "You do not have enough tokens" in page
    response = browser.post(
        "/sets", data={"csrf_token": csrf(browser), "playlist": library["playlist"]}
    )
    assert response.status_code == 402
    assert "your balance is 0" in response.text
    assert stack.service.count("sets", {"owner": {"_eq": dj.id}}) == 0


def test_a_playlist_still_importing_cannot_be_built_from(stack, dj_client) -> None:
    dj, browser = dj_client
    playlist = stack.service.create_item(
        "playlists", {"owner": dj.id, "name": "Busy", "status": "running"}
    )
    response = browser.post("/sets", data={"csrf_token": csrf(browser), "playlist": playlist["id"]})
    assert response.status_code == 400
    assert "still being imported" in response.text


def test_a_finished_set_shows_order_badges_tips_chart_and_notes(stack, dj_client, library) -> None:
    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, library)
    html = browser.get(f"/sets/{set_id}").text
    assert "<h1>Harbour to Pressure</h1>" in html
    assert "From deep to peak in four steps." in html
    positions = [html.index(title) for title, *_ in TRACKS]
    assert positions == sorted(positions)  # play order
    assert "8A · Am" in html and "8B · C" in html and "3A · Bbm" in html
    assert html.count("badge badge-green") == 2 and html.count("badge badge-red") == 1
    assert "key: relative · pitch +0.8 % · energy +1" in html
    assert "Tip: Long blend over 32 bars." in html
    assert "Lifts the mood without a bump." in html
    assert '<svg class="energy-chart"' in html
    assert html.count('<polyline class="played"') == 1 and '<polyline class="target"' in html
    assert html.count('<circle class="point"') == 4
    assert "build (4 → 8)" in html
    for fmt in ("rekordbox", "nml", "m3u8", "csv", "json"):
        assert f'href="/sets/{set_id}/download/{fmt}"' in html


def test_a_set_the_generate_job_wrote_renders_its_own_badges_and_notes(
    stack, dj_client, library, run_jobs
) -> None:
    _, browser = dj_client
    response = browser.post(
        "/sets",
        data={"csrf_token": csrf(browser), "playlist": library["playlist"], "arc": "build",
              "step": "build"},
    )  # fmt: skip
    set_id = response.headers["Location"].rsplit("/", 1)[1]
    run_jobs()  # the real job, in this process, against the same Directus and the site's Redis

    assert stack.service.get_item("sets", set_id)["status"] == "done"
    rows = stack.service.list_items(
        "set_tracks", filter={"set": {"_eq": set_id}}, sort=["position"], limit=-1
    )
    page = browser.get(f"/sets/{set_id}").text
    transitions = [row["transition"] for row in rows[1:]]
    assert page.count('class="badge badge-') == len(transitions) == len(TRACKS) - 1
    for transition in transitions:
        assert f"badge badge-{badge(transition)[0]}" in page
        assert html.escape(explain(transition)) in page
        assert html.escape(transition["note"]) in page


def _engine_transition(key_a: str, bpm_a: float, key_b: str, bpm_b: float) -> dict[str, Any]:
    """The transition A → B exactly as the generate job stores it: the engine's report."""
    played = [track("a", key=key_a, bpm=bpm_a), track("b", key=key_b, bpm=bpm_b)]
    return score_order(played).transitions[0].to_json()


@pytest.mark.parametrize(
    ("key_a", "bpm_a", "key_b", "bpm_b", "colour"),
    [
        ("8A", 124.0, "9A", 127.5, "green"),  # one step, 2.7 % apart
        ("8A", 124.0, "9A", 129.5, "red"),  # 4.2 % apart: heard a semitone lower, it clashes
        ("8A", 124.0, "9B", 124.0, "amber"),  # a diagonal
        ("8A", 124.0, "6A", 124.0, "red"),  # two steps down: the engine's clash
        ("8A", 124.0, "2B", 124.0, "red"),  # a clash
        ("8A", 124.0, "8A", 116.0, "red"),  # same key, but 6.9 % apart
        ("8A", 124.0, None, 124.0, "amber"),  # a key unknown
    ],
)
def test_badges_follow_the_engines_relation_and_tempo(
    key_a: str, bpm_a: float, key_b: str | None, bpm_b: float, colour: str
) -> None:
    assert badge(_engine_transition(key_a, bpm_a, key_b, bpm_b))[0] == colour


def test_every_download_is_the_set_in_play_order(stack, dj_client, library) -> None:
    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, library)
    titles = [title for title, *_ in TRACKS]

    rekordbox = browser.get(f"/sets/{set_id}/download/rekordbox")
    assert rekordbox.status_code == 200
    assert (
        rekordbox.headers["Content-Disposition"] == 'attachment; filename="Harbour-to-Pressure.xml"'
    )
    root = ET.fromstring(rekordbox.data)
    assert root.tag == "DJ_PLAYLISTS"
    by_id = {t.get("TrackID"): t for t in root.iter("TRACK") if t.get("TrackID")}
    order = [by_id[t.get("Key")].get("Name") for t in root.find("PLAYLISTS").iter("TRACK")]
    assert order == titles
    assert by_id[root.find("PLAYLISTS").iter("TRACK").__next__().get("Key")].get("Location") == (
        "file://localhost/Users/dj/Music/Lumen%20Drift%20-%20First%20Light.mp3"
    )

    nml = ET.fromstring(browser.get(f"/sets/{set_id}/download/nml").data)
    assert [e.get("TITLE") for e in nml.find("COLLECTION")] == titles

    m3u8 = browser.get(f"/sets/{set_id}/download/m3u8").text
    assert m3u8.startswith("#EXTM3U") and m3u8.index("First Light") < m3u8.index("Pressure Point")

    rows = list(csv.DictReader(io.StringIO(browser.get(f"/sets/{set_id}/download/csv").text)))
    assert [r["title"] for r in rows] == titles

    payload = json.loads(browser.get(f"/sets/{set_id}/download/json").data)
    assert [t["title"] for t in payload["tracks"]] == titles
    assert payload["title"] == "Harbour to Pressure"

    crate = browser.get(f"/sets/{set_id}/download/serato")
    assert crate.status_code == 200 and crate.data.startswith(b"vrsn")
    first, last = ("First Light".encode("utf-16-be"), "Pressure Point".encode("utf-16-be"))
    assert crate.data.index(first) < crate.data.index(last)  # play order
    assert browser.get(f"/sets/{set_id}/download/wav").status_code == 404


def test_a_set_not_finished_has_no_downloads(stack, dj_client, library) -> None:
    dj, browser = dj_client
    item = stack.service.create_item(
        "sets", {"owner": dj.id, "playlist": library["playlist"], "status": "running"}
    )
    assert browser.get(f"/sets/{item['id']}/download/rekordbox").status_code == 404


def test_a_failed_set_says_why(stack, dj_client, library) -> None:
    dj, browser = dj_client
    item = stack.service.create_item(
        "sets",
        {"owner": dj.id, "playlist": library["playlist"], "status": "failed",
         "error": "This set costs 1 token and your balance is 0."},
    )  # fmt: skip
    assert "your balance is 0" in browser.get(f"/sets/{item['id']}").text


def test_deleting_a_set_removes_it_and_its_order(stack, dj_client, library) -> None:
    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, library)
    response = browser.post(
        f"/sets/{set_id}/delete", data={"csrf_token": csrf(browser), "confirm": "delete"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard"
    assert stack.service.count("sets", {"id": {"_eq": set_id}}) == 0
    assert stack.service.count("set_tracks", {"set": {"_eq": set_id}}) == 0
    assert browser.get(f"/sets/{set_id}").status_code == 404


def test_a_download_is_counted_without_naming_the_dj(stack, site_app, dj_client, library) -> None:
    from service import usage

    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, library)
    assert browser.get(f"/sets/{set_id}/download/nml").status_code == 200

    actor = usage.actor(site_app.config["SECRET_KEY"], dj.id)
    events = stack.service.list_items("usage_events", filter={"actor": {"_eq": actor}})
    assert [(e["kind"], e["detail"], e["value"]) for e in events] == [
        ("export_downloaded", "nml", len(library["tracks"]))
    ]
    assert dj.id not in str(events) and dj.email not in str(events)


def test_the_new_set_page_says_how_long_a_set_the_playlist_can_give(dj_client, library) -> None:
    _, browser = dj_client
    page = browser.get(f"/sets/new?playlist={library['playlist']}").text
    # four 6-minute tracks, each of the last three coming in over 45 s of the one before
    assert "(4 tracks, 21 minutes mixed end to end:" in page


def test_deleting_a_set_asks_first_and_deletes_nothing_until_confirmed(
    stack, dj_client, library
) -> None:
    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, library)
    page = browser.post(f"/sets/{set_id}/delete", data={"csrf_token": csrf(browser)})
    assert page.status_code == 200
    assert "Delete this set?" in page.text and 'name="confirm" value="delete"' in page.text
    assert "<script" not in page.text  # confirmed by a page, not by inline script
    assert stack.service.count("sets", {"id": {"_eq": set_id}}) == 1


def test_enter_in_the_new_set_form_reviews_and_spends_nothing(stack, dj_client, library) -> None:
    dj, browser = dj_client
    form = browser.get(f"/sets/new?playlist={library['playlist']}").text
    # Enter presses a form's first submit button: it must be the review, not the paid build
    first_button = form[form.index("<button", form.index('action="/sets"')) :]
    assert first_button.startswith('<button type="submit" name="step" value="review"')
    review = browser.post(
        "/sets",
        data={"csrf_token": csrf(browser), "playlist": library["playlist"], "arc": "build",
              "duration_min": "20", "step": "review"},
    )  # fmt: skip
    assert review.status_code == 200
    assert (
        "Build this set?" in review.text and "It costs 1 token; your balance is 3." in review.text
    )
    assert 'name="duration_min" value="20"' in review.text
    assert stack.service.count("sets", {"owner": {"_eq": dj.id}}) == 0
    built = browser.post(
        "/sets",
        data={"csrf_token": csrf(browser), "playlist": library["playlist"], "arc": "build",
              "duration_min": "20", "step": "build"},
    )  # fmt: skip
    assert built.status_code == 303
    assert stack.service.count("sets", {"owner": {"_eq": dj.id}}) == 1


def test_the_energy_chart_names_the_tracks_it_leaves_out_for_unknown_energy(
    stack, dj_client, library
) -> None:
    dj, browser = dj_client
    stack.service.update_item("tracks", library["tracks"][1], {"energy": None})
    set_id = make_done_set(stack.service, dj.id, library)
    html = browser.get(f"/sets/{set_id}").text
    assert html.count('<circle class="point"') == 3
    assert "Left out of the curve, their energy unknown (1 track): 2. Kasa Mori" in html


def test_the_energy_chart_of_pure_helpers_lists_unknown_positions() -> None:
    from service.web.site.sets import energy_chart

    chart = energy_chart([3, None, 7, None], ["a", "b", "c", "d"], None)
    assert [p["position"] for p in chart.points] == [1, 3]
    assert chart.unknown == ["2. b", "4. d"]


def test_a_refunded_set_shows_its_tokens_as_refunded(stack, dj_client, library) -> None:
    from service import ledger

    dj, browser = dj_client
    item = stack.service.create_item(
        "sets",
        {"owner": dj.id, "playlist": library["playlist"], "status": "failed", "tokens_charged": 1,
         "error": "The set could not be planned."},
    )  # fmt: skip
    ledger.charge(stack.service, dj.id, 1, ledger.set_reference(item["id"]))
    assert "· 1 token</p>" in browser.get(f"/sets/{item['id']}").text.replace("\n", "")
    ledger.refund(stack.service, ledger.set_reference(item["id"]))
    page = browser.get(f"/sets/{item['id']}").text
    assert '<span class="refunded">1 token refunded</span>' in page


def test_the_playlist_choice_counts_the_tracks_of_a_collection_imported_without_audio(
    stack, dj_client, library
) -> None:
    _, browser = dj_client
    stack.service.update_item("playlists", library["playlist"], {"matched_count": 0})  # no audio
    page = browser.get("/sets/new").text
    assert f'playlist={library["playlist"]}">Friday</a> (4 tracks)' in page
