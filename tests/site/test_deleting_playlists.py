"""Deleting a playlist, even a failed one, with its uploaded files, after a confirmation page
(issue 20, item 6)."""

from __future__ import annotations

import io

import pytest

from tests.site.conftest import csrf, make_done_set, make_library

pytestmark = pytest.mark.stack


def _uploaded_playlist(stack, owner: str, status: str = "failed") -> dict:
    folder = stack.service.call("POST", "/folders", json={"name": "upload test"})
    audio = stack.service.upload_file(
        io.BytesIO(b""), "Empty.wav", metadata={"folder": folder["id"]}
    )
    source = stack.service.upload_file(
        io.BytesIO(b"Shopping list\n"), "notes.m3u8", metadata={"folder": folder["id"]}
    )
    playlist = stack.service.create_item(
        "playlists",
        {"owner": owner, "name": "Notes", "status": status, "error": "No usable track.",
         "source_file": source["id"], "upload_folder": folder["id"]},
    )  # fmt: skip
    return {
        "playlist": playlist["id"],
        "files": [audio["id"], source["id"]],
        "folder": folder["id"],
    }


def test_a_failed_playlist_is_deleted_with_its_files_after_confirming(stack, dj_client) -> None:
    dj, browser = dj_client
    made = _uploaded_playlist(stack, dj.id)
    page = browser.get(f"/playlists/{made['playlist']}").text
    assert f'action="/playlists/{made["playlist"]}/delete"' in page

    ask = browser.post(f"/playlists/{made['playlist']}/delete", data={"csrf_token": csrf(browser)})
    assert ask.status_code == 200 and "Delete this playlist?" in ask.text
    assert stack.service.count("playlists", {"id": {"_eq": made["playlist"]}}) == 1

    done = browser.post(
        f"/playlists/{made['playlist']}/delete",
        data={"csrf_token": csrf(browser), "confirm": "delete"},
    )
    assert done.status_code == 303 and done.headers["Location"] == "/dashboard"
    assert stack.service.count("playlists", {"id": {"_eq": made["playlist"]}}) == 0
    assert stack.service.count("directus_files", {"id": {"_in": made["files"]}}) == 0
    assert stack.service.count("directus_folders", {"id": {"_eq": made["folder"]}}) == 0


def test_deleting_a_playlist_keeps_the_tracks_its_sets_still_play(stack, dj_client) -> None:
    dj, browser = dj_client
    library = make_library(stack.service, dj.id)
    set_id = make_done_set(stack.service, dj.id, library)
    response = browser.post(
        f"/playlists/{library['playlist']}/delete",
        data={"csrf_token": csrf(browser), "confirm": "delete"},
    )
    assert response.status_code == 303
    assert stack.service.count("set_tracks", {"set": {"_eq": set_id}}) == 4
    assert browser.get(f"/sets/{set_id}").status_code == 200


def test_tracks_only_the_deleted_playlist_brought_are_deleted(stack, dj_client) -> None:
    dj, browser = dj_client
    library = make_library(stack.service, dj.id)
    browser.post(
        f"/playlists/{library['playlist']}/delete",
        data={"csrf_token": csrf(browser), "confirm": "delete"},
    )
    assert stack.service.count("tracks", {"id": {"_in": library["tracks"]}}) == 0
