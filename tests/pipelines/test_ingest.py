"""Ingest: a playlist and its audio uploaded through Directus REST become the DJ's tracks, in order."""

from __future__ import annotations

import pytest

from tests.dj.audio import FIXTURES
from tests.pipelines.helpers import make_dj, tagged_wav, upload_playlist, wait_for_status

pytestmark = pytest.mark.stack


def _m3u(path, entries: list[tuple[str, str]]) -> None:
    lines = ["#EXTM3U"]
    for display, file in entries:
        lines += [f"#EXTINF:300,{display}", file]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _playlist_tracks(directus, playlist_id: str) -> list[dict]:
    return directus.list_items(
        "playlist_tracks",
        filter={"playlist": {"_eq": playlist_id}},
        fields=[
            "position",
            "line",
            "track.id",
            "track.title",
            "track.bpm",
            "track.key",
            "track.file",
        ],
        sort=["position"],
        limit=-1,
    )


def test_a_playlist_with_files_is_ingested_in_order_and_problems_are_reported(
    stack, service_processes, tmp_path
) -> None:
    owner = make_dj(stack.service)
    one = tagged_wav(
        tmp_path, "Ada Lux - Aurora.wav", artist="Ada Lux", title="Aurora", bpm="124", key="8A"
    )
    two = tagged_wav(
        tmp_path, "Bo Kay - Basalt.wav", artist="Bo Kay", title="Basalt", bpm="126", key="Am"
    )
    broken = tmp_path / "Cy Dee - Cinder.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + b"\x00" * 64)
    playlist_file = tmp_path / "friday.m3u8"
    _m3u(
        playlist_file,
        [
            ("Bo Kay - Basalt", "Music/Bo Kay - Basalt.wav"),
            ("Ada Lux - Aurora", "Music/Ada Lux - Aurora.wav"),
            ("Cy Dee - Cinder", "Music/Cy Dee - Cinder.wav"),
            ("Dee Eff - Not Uploaded", "Music/Dee Eff - Not Uploaded.wav"),
            ("Bo Kay - Basalt", "Music/Bo Kay - Basalt.wav"),
        ],
    )
    playlist = upload_playlist(stack.service, owner, playlist_file, [one, two, broken])

    done = wait_for_status(stack.service, "playlists", playlist["id"], ("done", "failed"), 30)

    assert done["status"] == "done", done["error"]
    assert done["progress"] == 100
    assert done["source_format"] == "m3u"
    assert done["entry_count"] == 5
    assert done["started_at"] and done["finished_at"]
    rows = _playlist_tracks(stack.service, playlist["id"])
    # matched means playable audio: the damaged file and the missing one give no track
    assert [r["track"]["title"] for r in rows] == ["Basalt", "Aurora"], (rows, done["problems"])
    assert [r["position"] for r in rows] == [1, 2]
    assert done["matched_count"] == 2
    assert rows[0]["track"]["bpm"] == 126 and rows[0]["track"]["key"] == "8A"  # Am is 8A
    assert rows[1]["track"]["file"] == next(
        f["id"]
        for f in stack.service.list_items(
            "directus_files",
            filter={
                "folder": {"_eq": playlist["upload_folder"]},
                "filename_download": {"_eq": one.name},
            },
        )
    )
    reasons = {(p.get("line"), p.get("path")): p["reason"] for p in done["problems"]}
    # each problem once, on the entry as written; the broken file named on the entry naming it
    assert sorted(reasons) == [(7, broken.name), (9, None), (11, None)], done["problems"]
    assert "not playable audio" in reasons[(7, broken.name)]
    assert reasons[(9, None)] == "no uploaded audio file has this name"
    assert "same file as line 3" in reasons[(11, None)]
    entries = {p["line"]: p.get("entry") for p in done["problems"]}
    assert entries[9] == "Music/Dee Eff - Not Uploaded.wav"
    assert stack.service.count("tracks", {"owner": {"_eq": owner}}) == 2


def test_a_text_file_renamed_m3u8_fails_with_the_reason_and_each_line_reported_once(
    stack, service_processes, tmp_path
) -> None:
    owner = make_dj(stack.service)
    notes = tmp_path / "notes.m3u8"
    notes.write_text("Shopping list\nmilk\neggs and bread\n", encoding="utf-8")
    audio = tagged_wav(tmp_path, "Ada Lux - Aurora.wav", artist="Ada Lux", title="Aurora")
    empty = tmp_path / "Empty.wav"
    empty.write_bytes(b"")
    p = upload_playlist(stack.service, owner, notes, [audio, empty])

    failed = wait_for_status(stack.service, "playlists", p["id"], ("done", "failed"), 30)

    assert failed["status"] == "failed"
    assert "notes.m3u8" in failed["error"] and "“Shopping list”" in failed["error"]
    lines = [problem["line"] for problem in failed["problems"] if problem["line"]]
    assert lines == [1, 2, 3]
    assert {problem.get("path") for problem in failed["problems"] if not problem["line"]} == {
        audio.name,
        empty.name,
    }
    assert stack.service.count("playlist_tracks", {"playlist": {"_eq": p["id"]}}) == 0


def test_uploading_the_same_music_again_merges_into_the_same_tracks(
    stack, service_processes, tmp_path
) -> None:
    owner = make_dj(stack.service)
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    same = tagged_wav(first_dir, "Eli - Ember.wav", artist="Eli", title="Ember", bpm="122")
    isrc_a = tagged_wav(
        first_dir, "Fay - Fern.wav", artist="Fay", title="Fern", isrc="GBAYE0601498"
    )
    plain_a = tagged_wav(first_dir, "Gus - Glow.wav", artist="Gus", title="Glow")
    playlist_a = first_dir / "a.m3u8"
    _m3u(playlist_a, [("x", same.name), ("x", isrc_a.name), ("x", plain_a.name)])
    a = upload_playlist(stack.service, owner, playlist_a, [same, isrc_a, plain_a], name="A")
    assert (
        wait_for_status(stack.service, "playlists", a["id"], ("done", "failed"))["status"] == "done"
    )

    # The same bytes; the same ISRC in a re-encoded file; same artist + title + length, new tags.
    same_again = second_dir / same.name
    same_again.write_bytes(same.read_bytes())
    isrc_b = tagged_wav(
        second_dir,
        "Fern (remaster).wav",
        artist="Fay",
        title="Fern (Remaster)",
        isrc="GBAYE0601498",
        bpm="121",
    )
    plain_b = tagged_wav(second_dir, "gus_glow.wav", artist="GUS", title="Glow!", key="5A")
    other = tagged_wav(second_dir, "Hal - Haze.wav", artist="Hal", title="Haze")
    playlist_b = second_dir / "b.m3u8"
    _m3u(playlist_b, [("x", n.name) for n in (same_again, isrc_b, plain_b, other)])
    b = upload_playlist(
        stack.service, owner, playlist_b, [same_again, isrc_b, plain_b, other], name="B"
    )
    assert (
        wait_for_status(stack.service, "playlists", b["id"], ("done", "failed"))["status"] == "done"
    )

    rows_a = _playlist_tracks(stack.service, a["id"])
    rows_b = _playlist_tracks(stack.service, b["id"])
    assert [r["track"]["id"] for r in rows_b[:3]] == [r["track"]["id"] for r in rows_a]
    assert stack.service.count("tracks", {"owner": {"_eq": owner}}) == 4
    # Merging fills what the stored track lacked and keeps what it had.
    assert rows_b[1]["track"]["bpm"] == 121 and rows_b[1]["track"]["title"] == "Fern"
    assert rows_b[2]["track"]["key"] == "5A"


def test_another_djs_identical_upload_gets_their_own_tracks(
    stack, service_processes, tmp_path
) -> None:
    song = tagged_wav(tmp_path, "Ivy - Iris.wav", artist="Ivy", title="Iris")
    playlist_file = tmp_path / "p.m3u8"
    _m3u(playlist_file, [("Ivy - Iris", song.name)])
    owners = [make_dj(stack.service), make_dj(stack.service)]
    for owner in owners:
        p = upload_playlist(stack.service, owner, playlist_file, [song])
        assert (
            wait_for_status(stack.service, "playlists", p["id"], ("done", "failed"))["status"]
            == "done"
        )
    for owner in owners:
        assert stack.service.count("tracks", {"owner": {"_eq": owner}}) == 1


def test_an_unreadable_playlist_fails_with_a_reason(stack, service_processes, tmp_path) -> None:
    owner = make_dj(stack.service)
    junk = tmp_path / "set.m3u8"
    junk.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    p = upload_playlist(stack.service, owner, junk, [])
    failed = wait_for_status(stack.service, "playlists", p["id"], ("done", "failed"))
    assert failed["status"] == "failed"
    assert "could not be read" in failed["error"]


def test_a_csv_export_without_audio_becomes_tracks_with_its_values(
    stack, service_processes, tmp_path
) -> None:
    owner = make_dj(stack.service)
    csv = tmp_path / "library.csv"
    csv.write_text(
        "Artist,Title,BPM,Key,Energy,Length\n"
        "deadmau5,Strobe,128,8A,6,10:37\n"
        "Bad,Row,abc,Xm,42,\n"
        "Energy 52,Café del Mar,132,Em,,7:00\n",
        encoding="utf-8",
    )
    p = upload_playlist(stack.service, owner, csv, [])

    done = wait_for_status(stack.service, "playlists", p["id"], ("done", "failed"))

    assert done["status"] == "done", done["error"]
    assert done["source_format"] == "csv"
    rows = _playlist_tracks(stack.service, p["id"])
    titles = [r["track"]["title"] for r in rows]
    assert titles[0] == "Strobe" and titles[-1] == "Café del Mar"
    assert rows[0]["track"]["bpm"] == 128 and rows[0]["track"]["key"] == "8A"
    assert rows[-1]["track"]["key"] == "9A"  # E minor
    assert any(problem["line"] == 3 for problem in done["problems"])  # the bad row, reported


@pytest.mark.parametrize(
    ("fixture", "fmt", "entries"), [("rekordbox.xml", "rekordbox", 5), ("traktor.nml", "nml", 3)]
)
def test_a_rekordbox_or_traktor_collection_becomes_the_djs_tracks(
    stack, service_processes, fixture, fmt, entries
) -> None:
    owner = make_dj(stack.service)
    p = upload_playlist(stack.service, owner, FIXTURES / fixture, [])

    done = wait_for_status(stack.service, "playlists", p["id"], ("done", "failed"))

    assert done["status"] == "done", done["error"]
    assert (done["source_format"], done["entry_count"]) == (fmt, entries)
    first = _playlist_tracks(stack.service, p["id"])[0]["track"]
    assert (first["title"], first["bpm"], first["key"]) == ("Strobe", 128, "8A")


def test_entries_climbing_above_the_playlist_keep_their_uploaded_files(
    stack, service_processes, tmp_path
) -> None:
    owner = make_dj(stack.service)
    aurora = tagged_wav(tmp_path, "Ada Lux - Aurora.wav", artist="Ada Lux", title="Aurora")
    basalt = tagged_wav(tmp_path, "Bo Kay - Basalt.wav", artist="Bo Kay", title="Basalt")
    playlist_file = tmp_path / "friday.m3u8"
    playlist_file.write_text(
        "#EXTM3U\n../Music/Ada Lux - Aurora.wav\n..\\..\\Other\\Bo Kay - Basalt.wav\n",
        encoding="utf-8",
    )
    p = upload_playlist(stack.service, owner, playlist_file, [aurora, basalt])

    done = wait_for_status(stack.service, "playlists", p["id"], ("done", "failed"), 30)

    assert done["status"] == "done", done["error"]
    assert (done["entry_count"], done["matched_count"]) == (2, 2), done["problems"]
    rows = _playlist_tracks(stack.service, p["id"])
    assert [r["track"]["title"] for r in rows] == ["Aurora", "Basalt"]
    assert all(r["track"]["file"] for r in rows)


def test_a_traktor_library_keeps_its_drives_and_leaves_sampler_sounds_out(
    stack, service_processes
) -> None:
    owner = make_dj(stack.service)
    p = upload_playlist(stack.service, owner, FIXTURES / "traktor-library.nml", [])

    done = wait_for_status(stack.service, "playlists", p["id"], ("done", "failed"))

    assert done["status"] == "done", done["error"]
    tracks = stack.service.list_items(
        "tracks", filter={"owner": {"_eq": owner}}, fields=["title", "path", "key"], limit=-1
    )
    by_title = {t["title"]: t for t in tracks}
    assert by_title["Glue"]["path"] == "/Volumes/Transcend/DJing/House/Bicep - Glue.mp3"
    assert by_title["Glue"]["key"] == "11A"  # the key text, not Traktor's detection
    assert by_title["Starry Night"]["path"] == "E:/DJ Music/Peggy Gou - Starry Night.flac"
    assert "ClosedHH DMX V1" not in by_title
    assert any("Traktor factory sound" in problem["reason"] for problem in done["problems"])
