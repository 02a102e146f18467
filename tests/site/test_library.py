"""The dashboard, the upload (files into their own folder, a queued playlist, one ingest job) and the
import page with its problem report in plain words."""

from __future__ import annotations

import io

import pytest
from rq import Queue
from rq.job import Job

from service import ledger
from service.jobs.queue import job_id
from service.stack.demo import DEMO_TRACKS, write_demo_library
from tests.site.conftest import csrf, make_library

pytestmark = pytest.mark.stack


def test_the_dashboard_shows_the_balance_with_history_playlists_and_sets(stack, dj_client) -> None:
    dj, browser = dj_client
    ledger.record(stack.service, dj.id, -1, "set_charge", f"set:test-{dj.id}")
    make_library(stack.service, dj.id)
    page = browser.get("/dashboard")
    assert page.status_code == 200
    assert 'data-testid="balance">2<' in page.text
    assert "signup grant" in page.text and "set charge" in page.text
    assert "+3" in page.text and "-1" in page.text
    assert "Friday" in page.text


def test_uploading_a_playlist_with_its_audio_records_a_queued_import(
    stack, site_redis, dj_client, tmp_path
) -> None:
    dj, browser = dj_client
    audio, playlist_file = write_demo_library(tmp_path)
    files = [(path.open("rb"), path.name) for path in audio]
    response = browser.post(
        "/playlists",
        data={
            "csrf_token": csrf(browser),
            "name": "Demo night",
            "music_folder": "/Users/dj/Gigs/Demo",
            "playlist": (playlist_file.open("rb"), playlist_file.name),
            "audio": files,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    playlist_id = response.headers["Location"].rsplit("/", 1)[1]
    item = stack.service.get_item("playlists", playlist_id)
    assert item["owner"] == dj.id
    assert item["name"] == "Demo night"
    assert item["music_folder"] == "/Users/dj/Gigs/Demo"
    assert item["source_format"] == "m3u8"
    stored = stack.service.list_items(
        "directus_files",
        filter={"folder": {"_eq": item["upload_folder"]}},
        fields=["id", "filename_download", "type"],
        limit=-1,
    )
    names = {f["filename_download"] for f in stored}
    assert names == {t.filename for t in DEMO_TRACKS} | {"demo.m3u8"}
    assert item["source_file"] in {f["id"] for f in stored}
    assert all(f["type"] == "audio/wav" for f in stored if f["filename_download"].endswith(".wav"))

    jobs = Queue("default", connection=site_redis).job_ids
    assert jobs.count(job_id("ingest", playlist_id)) == 1
    assert Job.fetch(job_id("ingest", playlist_id), connection=site_redis).args == (playlist_id,)

    page = browser.get(f"/playlists/{playlist_id}")
    assert page.status_code == 200
    assert 'data-status-url="/playlists/' in page.text and "<progress" in page.text
    status = browser.get(f"/playlists/{playlist_id}/status")
    assert status.json["status"] in ("queued", "running", "done")


def test_an_upload_from_the_progress_script_gets_json_back(stack, dj_client, tmp_path) -> None:
    _, browser = dj_client
    response = browser.post(
        "/playlists",
        data={
            "csrf_token": csrf(browser),
            "playlist": (io.BytesIO(b"#EXTM3U\nmissing.mp3\n"), "set.m3u8"),
        },
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"},
    )
    assert response.status_code == 201
    assert response.json["redirect"].startswith("/playlists/")


def test_a_file_that_is_not_a_playlist_is_refused_and_nothing_is_recorded(stack, dj_client) -> None:
    dj, browser = dj_client
    response = browser.post(
        "/playlists",
        data={"csrf_token": csrf(browser), "playlist": (io.BytesIO(b"MZ"), "setup.exe")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "is not a playlist file we read" in response.text
    assert stack.service.count("playlists", {"owner": {"_eq": dj.id}}) == 0


def test_the_import_problems_read_as_plain_sentences(stack, dj_client) -> None:
    dj, browser = dj_client
    library = make_library(stack.service, dj.id)
    stack.service.update_item(
        "playlists",
        library["playlist"],
        {
            "entry_count": 6,
            "problems": [
                {"line": 7, "reason": "no uploaded file matches this entry", "path": "Lost.mp3"},
                {"line": None, "reason": "the file is not audio we can read."},
            ],
        },
    )
    page = browser.get(f"/playlists/{library['playlist']}").text
    assert "Line 7 (file Lost.mp3): no uploaded file matches this entry." in page
    assert "An entry: the file is not audio we can read." in page
    assert "4 of 6 entries became tracks from the playlist's own values" in page
    assert "8A · Am" in page and "122" in page


def test_a_failed_import_says_why(stack, dj_client) -> None:
    dj, browser = dj_client
    playlist = stack.service.create_item(
        "playlists",
        {"owner": dj.id, "name": "Broken", "status": "failed", "error": "The playlist is empty."},
    )
    page = browser.get(f"/playlists/{playlist['id']}").text
    assert "The playlist is empty." in page


def test_a_playlist_with_no_usable_track_quotes_its_entries_and_offers_no_set(
    stack, dj_client
) -> None:
    dj, browser = dj_client
    playlist = stack.service.create_item(
        "playlists",
        {"owner": dj.id, "name": "Notes", "status": "failed", "entry_count": 2,
         "error": "None of the 2 entries of notes.m3u8 could be used.",
         "problems": [
             {"line": 1, "entry": "Shopping list", "reason": "this is not a track"},
             {"line": 2, "entry": "milk", "reason": "this is not a track"},
         ]},
    )  # fmt: skip
    page = browser.get(f"/playlists/{playlist['id']}").text
    assert "None of the 2 entries of notes.m3u8 could be used." in page
    assert "Line 1 “Shopping list”: this is not a track." in page
    assert "Build a set" not in page


def test_an_upload_over_the_size_limit_is_refused_before_anything_is_stored(stack, make_dj) -> None:
    from service.web.app import create_app
    from tests.site.conftest import log_in, new_client, site_config

    app = create_app(site_config(stack, MAX_UPLOAD_BYTES=10_000))
    dj = make_dj()
    browser = log_in(new_client(app), dj)
    response = browser.post(
        "/playlists",
        data={
            "csrf_token": csrf(browser),
            "playlist": (io.BytesIO(b"#EXTM3U\n" + b"a.mp3\n" * 5000), "big.m3u8"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "Upload too large" in response.text
    assert stack.service.count("playlists", {"owner": {"_eq": dj.id}}) == 0


def test_the_upload_form_and_the_studio_know_every_format_the_reader_reads() -> None:
    import yaml

    from service.dj.playlists.detection import FORMATS
    from service.stack.settings import SNAPSHOT_FILE
    from service.web.site.library import PLAYLIST_FORMATS

    field = next(
        f for f in yaml.safe_load(SNAPSHOT_FILE.read_text())["fields"]
        if (f["collection"], f["field"]) == ("playlists", "source_format")
    )  # fmt: skip
    choices = {c["value"] for c in field["meta"]["options"]["choices"]}
    assert set(FORMATS) <= choices
    assert set(FORMATS) <= set(PLAYLIST_FORMATS.values()) | {"m3u"}


def test_an_upload_whose_music_folder_is_no_full_path_is_refused(stack, dj_client) -> None:
    dj, browser = dj_client
    response = browser.post(
        "/playlists",
        data={"csrf_token": csrf(browser), "music_folder": "Music",
              "playlist": (io.BytesIO(b"#EXTM3U\nx.wav\n"), "set.m3u8")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 400 and "not a full path" in response.text
    assert stack.service.count("playlists", {"owner": {"_eq": dj.id}}) == 0


def test_the_playlist_page_shows_the_audio_analysis_and_its_progress(stack, dj_client) -> None:
    dj, browser = dj_client
    library = make_library(stack.service, dj.id)
    playlist_id = library["playlist"]
    stack.service.update_item(
        "playlists", playlist_id, {"analysis_status": "running", "analysis_progress": 40}
    )
    page = browser.get(f"/playlists/{playlist_id}")
    assert page.status_code == 200
    assert "Audio analysis" in page.text and 'id="analysis-progress"' in page.text
    assert f'data-status-url="/playlists/{playlist_id}/analysis-status"' in page.text
    status = browser.get(f"/playlists/{playlist_id}/analysis-status")
    assert status.json == {"status": "running", "progress": 40}
    someone_else = make_library(stack.service, stack.service.create_item(
        "directus_users", {"email": f"other-{playlist_id}@example.com"})["id"])  # fmt: skip
    assert browser.get(f"/playlists/{someone_else['playlist']}/analysis-status").status_code == 404
