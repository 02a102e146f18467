"""Exports open in the DJs' software: every field read back, odd paths intact, play order kept."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.dj.exports import (
    export_set,
    nml_location,
    rekordbox_location,
    serato_path,
    to_csv,
    to_serato_crate,
)
from service.dj.pools import load_pool
from service.dj.scorecard import score_order
from service.track_rows import track_from_item
from tests.engine.factories import track

PATHS = [
    "/Users/dj/My Music/Bicep – Glue (Original Mix).mp3",
    r"C:\Users\DJ Ünïcødé\Música\Kölsch & Friends - 1983.flac",
    "/Volumes/USB STICK/Röyksopp/So Easy.aiff",
    "D:/Sets/日本語 トラック.wav",
]


def set_tracks() -> list:
    return [
        track(
            f"t{i}",
            path=path,
            title=f"Title {i} – ünïcode & <xml>",
            artist=f'Artist {i}, "quoted"',
            genre="Melodic Techno",
            label="Afterlife",
            key=key,
            bpm=bpm,
            energy=energy,
            duration_s=duration,
        )
        for i, (path, key, bpm, energy, duration) in enumerate(
            zip(
                PATHS,
                ["8A", "9A", "9B", "10B"],
                [122.0, 123.5, 124.25, 125.0],
                [4, 6, 7, 8],
                [372.4, 401.0, 298.0, 512.9],
                strict=True,
            )
        )
    ]


def test_rekordbox_xml_lists_every_field_and_the_play_order() -> None:
    tracks = set_tracks()
    root = ET.fromstring(export_set("rekordbox", tracks, name="Sunrise ☀").encode("utf-8"))
    assert root.tag == "DJ_PLAYLISTS"
    collection = root.find("COLLECTION")
    assert collection.get("Entries") == "4"
    rows = collection.findall("TRACK")
    for row, t in zip(rows, tracks, strict=True):
        assert row.get("Name") == t.title
        assert row.get("Artist") == t.artist
        assert row.get("Genre") == t.genre
        assert row.get("Label") == t.label
        assert float(row.get("AverageBpm")) == pytest.approx(t.bpm)
        assert row.get("Tonality") == t.key.name
        assert row.get("TotalTime") == str(round(t.duration_s))
        location = row.get("Location")
        assert location.startswith("file://localhost/")
        assert " " not in location
        decoded = unquote(location.removeprefix("file://localhost"))
        assert decoded.lstrip("/") == t.path.replace("\\", "/").lstrip("/")
    root_node = root.find("PLAYLISTS/NODE")
    assert (root_node.get("Type"), root_node.get("Name")) == ("0", "ROOT")
    playlist = root_node.find("NODE")
    assert (playlist.get("Type"), playlist.get("KeyType"), playlist.get("Name")) == (
        "1",
        "0",
        "Sunrise ☀",
    )
    keys = [e.get("Key") for e in playlist.findall("TRACK")]
    assert keys == [r.get("TrackID") for r in rows]


def test_windows_and_mac_locations_are_written_as_each_program_expects() -> None:
    assert rekordbox_location(r"C:\Music\a b.mp3") == "file://localhost/C:/Music/a%20b.mp3"
    assert rekordbox_location("/Users/dj/é.mp3") == "file://localhost/Users/dj/%C3%A9.mp3"
    assert nml_location(r"C:\Music\House\a b.mp3") == ("C:", "/:Music/:House/:", "a b.mp3")
    assert nml_location("/Users/dj/x.mp3") == ("Macintosh HD", "/:Users/:dj/:", "x.mp3")
    assert nml_location("/Volumes/USB/Sets/x.mp3") == ("USB", "/:Sets/:", "x.mp3")


def test_traktor_nml_lists_every_field_and_primary_keys_in_play_order() -> None:
    tracks = set_tracks()
    root = ET.fromstring(export_set("nml", tracks, name="Peak").encode("utf-8"))
    assert root.tag == "NML"
    assert root.get("VERSION") == "19"
    entries = root.findall("COLLECTION/ENTRY")
    assert root.find("COLLECTION").get("ENTRIES") == "4"
    expected_keys = []
    for entry, t in zip(entries, tracks, strict=True):
        assert entry.get("TITLE") == t.title
        assert entry.get("ARTIST") == t.artist
        loc = entry.find("LOCATION")
        volume, directory, file_name = nml_location(t.path)
        assert (loc.get("VOLUME"), loc.get("DIR"), loc.get("FILE")) == (
            volume,
            directory,
            file_name,
        )
        assert file_name == t.path.replace("\\", "/").rsplit("/", 1)[1]
        expected_keys.append(volume + directory + file_name)
        assert float(entry.find("TEMPO").get("BPM")) == pytest.approx(t.bpm)
        assert int(entry.find("MUSICAL_KEY").get("VALUE")) == t.key.traktor
        info = entry.find("INFO")
        assert info.get("KEY") == t.key.open_key
        assert info.get("GENRE") == t.genre
        assert info.get("LABEL") == t.label
        assert int(info.get("PLAYTIME")) == round(t.duration_s)
        assert float(info.get("PLAYTIME_FLOAT")) == pytest.approx(t.duration_s)
    node = root.find("PLAYLISTS/NODE/SUBNODES/NODE")
    assert (node.get("TYPE"), node.get("NAME")) == ("PLAYLIST", "Peak")
    playlist = node.find("PLAYLIST")
    assert playlist.get("ENTRIES") == "4"
    keys = [e.find("PRIMARYKEY") for e in playlist.findall("ENTRY")]
    assert [k.get("TYPE") for k in keys] == ["TRACK"] * 4
    assert [k.get("KEY") for k in keys] == expected_keys


def test_m3u8_has_extinf_lines_and_paths_absolute_or_relative() -> None:
    tracks = set_tracks()
    lines = export_set("m3u8", tracks).splitlines()
    assert lines[0] == "#EXTM3U"
    for k, t in enumerate(tracks):
        assert lines[1 + 2 * k] == f"#EXTINF:{round(t.duration_s)},{t.artist} - {t.title}"
        assert lines[2 + 2 * k] == t.path
    relative = export_set("m3u8", tracks, relative_to="/Users/dj").splitlines()
    assert relative[2] == "My Music/Bicep – Glue (Original Mix).mp3"
    assert relative[4] == tracks[1].path  # another drive stays absolute
    windows = export_set("m3u8", tracks, relative_to="C:\\Users").splitlines()
    assert windows[4] == "DJ Ünïcødé\\Música\\Kölsch & Friends - 1983.flac"


def test_csv_holds_every_field_and_the_mix_into_each_track() -> None:
    tracks = set_tracks()
    card = score_order(tracks)
    rows = list(csv.DictReader(io.StringIO(export_set("csv", tracks, scorecard=card))))
    assert [r["id"] for r in rows] == [t.id for t in tracks]
    for k, (row, t) in enumerate(zip(rows, tracks, strict=True)):
        assert row["position"] == str(k + 1)
        assert row["title"] == t.title
        assert row["artist"] == t.artist
        assert row["genre"] == t.genre
        assert row["label"] == t.label
        assert float(row["bpm"]) == pytest.approx(t.bpm)
        assert row["key"] == t.key.camelot
        assert row["energy"] == str(t.energy)
        assert row["duration"] == str(round(t.duration_s))
        assert row["path"] == t.path
        if k == 0:
            assert row["mix_in_tip"] == ""
        else:
            tr = card.transitions[k - 1]
            assert row["mix_in_relation"] == tr.relation
            assert float(row["mix_in_tempo_change_pct"]) == pytest.approx(
                tr.tempo_change_pct, abs=0.005
            )
            assert row["mix_in_tip"] == tr.tip


def test_json_has_tracks_in_order_transitions_score_and_notes() -> None:
    tracks = set_tracks()
    card = score_order(tracks)
    data = json.loads(export_set("json", tracks, scorecard=card, notes={"title": "x"}))
    assert set(data) >= {"tracks", "transitions", "score", "notes"}
    assert [t["id"] for t in data["tracks"]] == [t.id for t in tracks]
    first = data["tracks"][0]
    assert {k: first[k] for k in ("id", "path", "title", "artist", "bpm", "key", "energy")} == {
        "id": "t0",
        "path": PATHS[0],
        "title": tracks[0].title,
        "artist": tracks[0].artist,
        "bpm": 122.0,
        "key": "8A",
        "energy": 4,
    }
    assert len(data["transitions"]) == 3
    assert data["score"]["tracks"] == 4
    assert data["notes"] == {"title": "x"}


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("rekordbox", ".xml"), ("nml", ".nml"), ("csv", ".csv"), ("m3u8", ".m3u8")]
)
def test_the_pool_loader_reads_each_export_back(tmp_path: Path, fmt: str, suffix: str) -> None:
    tracks = set_tracks()
    out = tmp_path / f"set{suffix}"
    out.write_text(export_set(fmt, tracks), encoding="utf-8")
    pool = load_pool(out)
    assert len(pool.tracks) == len(tracks)
    for got, want in zip(pool.tracks, tracks, strict=True):
        assert got.title == want.title
        assert got.artist == want.artist
        if fmt != "m3u8":  # an M3U8 carries no BPM or key
            assert got.bpm == pytest.approx(want.bpm)
            assert got.key == want.key
        assert got.path.replace("\\", "/").endswith(want.path.replace("\\", "/").rsplit("/", 1)[1])


_NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="/\\:"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s not in (".", ".."))


@settings(max_examples=200, deadline=None)
@given(st.lists(_NAME, min_size=1, max_size=4), st.sampled_from(["posix", "windows"]))
def test_any_path_survives_both_location_formats(parts: list[str], style: str) -> None:
    if style == "windows":
        path = "C:\\" + "\\".join(parts)
        expected = "C:/" + "/".join(parts)
    else:
        path = "/" + "/".join(parts)
        expected = path
    location = rekordbox_location(path)
    assert location.startswith("file://localhost/")
    assert all(ord(ch) < 128 and not ch.isspace() for ch in location)
    decoded = unquote(location.removeprefix("file://localhost"))
    assert decoded.lstrip("/") == expected.lstrip("/")
    on_volume = style == "posix" and parts[0] == "Volumes" and len(parts) > 2
    expected_volume = "C:" if style == "windows" else parts[1] if on_volume else "Macintosh HD"
    dirs = parts[2:-1] if on_volume else parts[:-1]
    assert nml_location(path) == (
        expected_volume,
        "/:" + "".join(f"{p}/:" for p in dirs),
        parts[-1],
    )
    root = ET.fromstring(export_set("nml", [track("x", path=path)]).encode("utf-8"))
    assert root.find("COLLECTION/ENTRY/LOCATION").get("FILE") == parts[-1]


def read_serato_records(data: bytes) -> list[tuple[str, bytes]]:
    """Split Serato tag-length-value records."""
    records, at = [], 0
    while at < len(data):
        tag = data[at : at + 4].decode("ascii")
        size = int.from_bytes(data[at + 4 : at + 8], "big")
        records.append((tag, data[at + 8 : at + 8 + size]))
        at += 8 + size
    assert at == len(data)
    return records


def test_serato_crate_lists_each_path_in_play_order_relative_to_its_drive() -> None:
    tracks = set_tracks()
    records = read_serato_records(to_serato_crate(tracks))
    tag, version = records[0]
    assert (tag, version.decode("utf-16-be")) == ("vrsn", "1.0/Serato ScratchLive Crate")
    assert records[1][0] == "osrt"
    assert {tag for tag, _ in records[2:7]} == {"ovct"}
    paths = []
    for tag, body in records[7:]:
        assert tag == "otrk"
        ((inner, value),) = read_serato_records(body)
        assert inner == "ptrk"
        paths.append(value.decode("utf-16-be"))
    assert paths == [
        "Users/dj/My Music/Bicep – Glue (Original Mix).mp3",
        "Users/DJ Ünïcødé/Música/Kölsch & Friends - 1983.flac",
        "Röyksopp/So Easy.aiff",
        "Sets/日本語 トラック.wav",
    ]
    assert [serato_path(t.path) for t in tracks] == paths


@pytest.mark.parametrize("title", ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3",
                                   "@SUM(A1)", "\tindent", "\rcarriage"])  # fmt: skip
def test_a_csv_export_never_hands_a_spreadsheet_a_formula(title: str) -> None:
    played = [track("a", title=title), track("b", title="Plain")]

    rows = list(csv.reader(io.StringIO(to_csv(played, score_order(played)))))

    assert rows[1][rows[0].index("title")] == "'" + title
    assert rows[2][rows[0].index("title")] == "Plain"


def test_numbers_in_a_csv_export_stay_numbers() -> None:
    played = [track("a", bpm=126.0), track("b", bpm=128.0)]

    rows = list(csv.reader(io.StringIO(to_csv(played, score_order(played)))))

    assert rows[2][rows[0].index("mix_in_tempo_change_pct")] == "-1.56"


# -- bare and relative names placed under the DJ's music folder (issue 20, item 2) ----------------------
RELATIVE = ["../Music/House/Glue.wav", "Bare Name.wav", "./sub/x.mp3"]


def _relative_tracks() -> list:
    return [track(f"r{i}", path=path, bpm=120.0 + i) for i, path in enumerate(RELATIVE)]


@pytest.mark.parametrize(
    ("path", "folder", "expected"),
    [
        ("../Music/x.wav", "/Users/dj/Music", "/Users/dj/Music/x.wav"),
        ("../Music/House/x.wav", "/Users/dj/Music/", "/Users/dj/Music/House/x.wav"),
        ("../../crates/x.wav", "/Users/dj/Music", "/Users/dj/Music/crates/x.wav"),
        ("x.wav", r"C:\Users\dj\Music", r"C:\Users\dj\Music\x.wav"),
        (r"..\Music\x.wav", "C:/Users/dj/Music", r"C:\Users\dj\Music\x.wav"),
        ("x.wav", "/", "/x.wav"),
        ("/Users/other/x.wav", "/Users/dj/Music", "/Users/other/x.wav"),
        (r"E:\Sets\x.wav", "/Users/dj/Music", r"E:\Sets\x.wav"),
        ("x.wav", None, "x.wav"),
    ],
)
def test_a_bare_or_relative_name_is_placed_under_the_music_folder(path, folder, expected) -> None:
    from service.dj.exports import locate

    assert locate(path, folder) == expected


@pytest.mark.parametrize("fmt", ["rekordbox", "nml", "m3u8", "csv", "json"])
def test_every_text_export_places_relative_names_under_the_music_folder(fmt) -> None:
    text = export_set(fmt, _relative_tracks(), music_folder="/Users/dj/Music")
    assert "/Users/dj/Music/House/Glue.wav" in unquote(text).replace("/:", "/")
    assert "Users/dj/Music/Bare Name.wav" in unquote(text).replace("/:", "/")
    assert "../" not in text


def test_rekordbox_locations_are_absolute_file_urls_under_the_music_folder() -> None:
    root = ET.fromstring(
        export_set("rekordbox", _relative_tracks(), music_folder="/Users/dj/Music")
    )
    locations = [t.get("Location") for t in root.iter("TRACK") if t.get("Location")]
    assert locations == [
        "file://localhost/Users/dj/Music/House/Glue.wav",
        "file://localhost/Users/dj/Music/Bare%20Name.wav",
        "file://localhost/Users/dj/Music/sub/x.mp3",
    ]


def test_nml_of_relative_names_on_windows_names_the_drive_not_the_startup_disk() -> None:
    root = ET.fromstring(export_set("nml", _relative_tracks(), music_folder=r"D:\DJ\Music"))
    first = root.find("COLLECTION/ENTRY/LOCATION")
    assert (first.get("VOLUME"), first.get("DIR"), first.get("FILE")) == (
        "D:", "/:DJ/:Music/:House/:", "Glue.wav",
    )  # fmt: skip


def test_serato_crate_places_relative_names_under_the_music_folder() -> None:
    crate = to_serato_crate(_relative_tracks(), music_folder="/Volumes/USB/Music")
    assert "Music/House/Glue.wav".encode("utf-16-be") in crate
    assert "..".encode("utf-16-be") not in crate


def test_without_a_music_folder_relative_names_are_flagged_for_relocating() -> None:
    from service.dj.exports import needs_relocating

    assert [needs_relocating(t.path) for t in _relative_tracks()] == [True, True, True]
    assert not any(needs_relocating(p) for p in PATHS)
    assert needs_relocating(None)


@pytest.mark.parametrize(
    ("text", "system", "ok"),
    [
        ("/Users/dj/Music", "macos", True),
        (r"C:\Users\dj\Music", "windows", True),
        ("  ", "macos", True),
        ("Music", None, False),
        ("~/Music", "macos", False),
        (r"C:\Music", "macos", False),
        ("/Users/dj\nMusic", "macos", False),
    ],
)
def test_a_music_folder_must_be_a_full_path_of_its_computer(text, system, ok) -> None:
    from service.dj.exports import check_music_folder

    if ok:
        assert check_music_folder(text, system) == (text.strip() or None)
    else:
        with pytest.raises(ValueError, match=r"path|line"):
            check_music_folder(text, system)


def test_an_analysed_beat_grid_becomes_each_programs_grid_marker() -> None:
    analysed = track_from_item(
        {"id": "g", "path": "/m/g.mp3", "bpm": 125, "key": "8A", "sources": {"bpm": "tag:TBPM"},
         "analysis": {"bpm": 124.0, "first_beat_s": 0.512, "key_confidence": 0.9, "error": None}}
    )  # fmt: skip
    assert analysed.beat_grid == (124.0, 0.512) and analysed.confidence == {}
    plain = replace(track("p"), beat_grid=None)
    rb = ET.fromstring(export_set("rekordbox", [analysed, plain]).encode("utf-8"))
    rows = rb.find("COLLECTION").findall("TRACK")
    tempo = rows[0].find("TEMPO")
    assert tempo is not None and tempo.attrib == {
        "Inizio": "0.512", "Bpm": "124.00", "Metro": "4/4", "Battito": "1"
    }  # fmt: skip
    assert rows[1].find("TEMPO") is None
    nml = ET.fromstring(export_set("nml", [analysed, plain]).encode("utf-8"))
    entries = nml.find("COLLECTION").findall("ENTRY")
    cue = entries[0].find("CUE_V2")
    assert cue is not None and cue.get("TYPE") == "4" and float(cue.get("START")) == 512.0
    assert entries[1].find("CUE_V2") is None
    rows = json.loads(export_set("json", [analysed, plain]))["tracks"]
    assert [r["beat_grid"] for r in rows] == [[124.0, 0.512], None]
