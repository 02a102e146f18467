"""The DJ's music folder: set once in the profile (or per upload), used by every download, and the
set page names the tracks DJ software will ask to relocate when no folder is known (issue 20, 2)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.site.conftest import csrf, make_done_set, make_library

pytestmark = pytest.mark.stack


@pytest.fixture
def relative_set(stack, dj_client):
    """A finished set whose tracks were named by bare or climbing relative paths."""
    dj, browser = dj_client
    library = make_library(stack.service, dj.id)
    for n, track_id in enumerate(library["tracks"]):
        path = f"../Music/track {n}.wav" if n % 2 else f"track {n}.wav"
        stack.service.update_item("tracks", track_id, {"path": path})
    return dj, browser, library, make_done_set(stack.service, dj.id, library)


def _locations(xml_text: str) -> list[str]:
    root = ET.fromstring(xml_text)
    return [t.get("Location") for t in root.find("COLLECTION").iter("TRACK")]


def test_without_a_music_folder_the_set_page_lists_the_tracks_to_relocate(relative_set) -> None:
    _, browser, _, set_id = relative_set
    page = browser.get(f"/sets/{set_id}").text
    assert "4 tracks of this set" in page and "relocate them" in page
    assert "Lumen Drift – First Light" in page.replace("&ndash;", "–")


def test_the_profile_music_folder_makes_every_download_absolute(stack, relative_set) -> None:
    dj, browser, _, set_id = relative_set
    response = browser.post(
        "/profile",
        data={"csrf_token": csrf(browser), "music_folder_macos": "/Users/dj/Music",
              "music_folder_windows": ""},
    )  # fmt: skip
    assert response.status_code == 303
    stored = stack.service.get_item("directus_users", dj.id, fields=["music_folder_macos"])
    assert stored["music_folder_macos"] == "/Users/dj/Music"
    locations = _locations(browser.get(f"/sets/{set_id}/download/rekordbox").text)
    assert locations == [f"file://localhost/Users/dj/Music/track%20{n}.wav" for n in range(4)]
    m3u = browser.get(f"/sets/{set_id}/download/m3u8").text
    assert "/Users/dj/Music/track 1.wav" in m3u and "../" not in m3u
    crate = browser.get(f"/sets/{set_id}/download/serato")
    assert crate.headers["Content-Disposition"].endswith('.crate"')
    assert "Users/dj/Music/track 1.wav".encode("utf-16-be") in crate.data
    for fmt in ("nml", "csv", "json"):
        text = browser.get(f"/sets/{set_id}/download/{fmt}").text
        assert "Music/track 1.wav" in text.replace("/:", "/") and "../" not in text, fmt
    page = browser.get(f"/sets/{set_id}").text
    assert "relocate" not in page and "/Users/dj/Music" in page


def test_a_folder_per_computer_gives_downloads_per_computer(relative_set) -> None:
    _, browser, _, set_id = relative_set
    browser.post(
        "/profile",
        data={"csrf_token": csrf(browser), "music_folder_macos": "/Users/dj/Music",
              "music_folder_windows": r"C:\Users\dj\Music"},
    )  # fmt: skip
    page = browser.get(f"/sets/{set_id}").text
    assert "os=windows" in page and "os=macos" in page
    locations = _locations(browser.get(f"/sets/{set_id}/download/rekordbox?os=windows").text)
    assert locations[0] == "file://localhost/C:/Users/dj/Music/track%200.wav"


def test_a_folder_that_is_no_full_path_is_refused_and_nothing_is_stored(
    stack, relative_set
) -> None:
    dj, browser, _, _ = relative_set
    response = browser.post(
        "/profile",
        data={"csrf_token": csrf(browser), "music_folder_macos": "Music",
              "music_folder_windows": r"C:\Users\dj\Music"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "not a full path" in response.text
    stored = stack.service.get_item("directus_users", dj.id, fields=["music_folder_windows"])
    assert stored["music_folder_windows"] is None


def test_an_upload_s_own_folder_wins_over_the_profile(stack, relative_set) -> None:
    _, browser, library, set_id = relative_set
    browser.post(
        "/profile",
        data={"csrf_token": csrf(browser), "music_folder_macos": "/Users/dj/Music",
              "music_folder_windows": ""},
    )  # fmt: skip
    stack.service.update_item(
        "playlists", library["playlist"], {"music_folder": "/Volumes/USB/Gig"}
    )
    locations = _locations(browser.get(f"/sets/{set_id}/download/rekordbox").text)
    assert locations[0] == "file://localhost/Volumes/USB/Gig/track%200.wav"
    assert locations[1] == "file://localhost/Volumes/USB/Gig/Music/track%201.wav"
