"""Pools: playlists with their files' tags merged in, folders, stable ids, duplicates dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.dj.pools import PoolError, Problem, load_pool, track_id
from tests.dj.audio import make

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A folder with three tagged files, one broken file and an M3U8 naming them all."""
    (tmp_path / "Tracks").mkdir()
    make(
        tmp_path / "Tracks",
        "mp3",
        {"artist": "Bicep", "title": "Glue", "bpm": "130", "key": "5A", "energy": "7"},
        name="glue",
    )
    make(
        tmp_path / "Tracks",
        "flac",
        {"artist": "Four Tet", "title": "Baby", "bpm": "124", "key": "10d"},
        name="baby",
    )
    make(tmp_path / "Tracks", "m4a-aac", {"title": "Untagged key"}, name="plain")
    (tmp_path / "Tracks" / "broken.ogg").write_bytes(b"OggS" + b"\x00" * 10)
    (tmp_path / "set.m3u8").write_text(
        "#EXTM3U\n"
        "#EXTINF:300,Wrong Artist - Wrong Title\n"  # 2: tags win over #EXTINF
        "Tracks/glue.mp3\n"  # 3
        "Tracks/baby.flac\n"  # 4
        "#EXTINF:200,Somebody - Only In The Playlist\n"  # 5
        "Tracks/not-here.mp3\n"  # 6
        "Tracks/glue.mp3\n"  # 7: duplicate
        "Tracks/broken.ogg\n"  # 8
        "Tracks/plain.m4a\n"  # 9
        "../outside.mp3\n",  # 10: above the playlist's folder, kept
        encoding="utf-8",
    )
    return tmp_path


def test_m3u_pool_merges_tags(library: Path) -> None:
    pool = load_pool(library / "set.m3u8")
    assert pool.format == "m3u"
    glue, baby, absent, broken, plain, outside = pool.tracks
    assert (glue.artist, glue.title, glue.bpm, glue.energy) == ("Bicep", "Glue", 130.0, 7)
    assert glue.key is not None and glue.key.camelot == "5A"
    assert glue.duration_s is not None and glue.duration_s < 1  # the file's, not #EXTINF's 300
    assert glue.sources["duration_s"] == "file"
    assert glue.sources["title"] == "tag:TIT2" and glue.sources["bpm"] == "tag:TBPM"
    assert glue.path == "Tracks/glue.mp3"
    assert baby.key is not None and baby.key.camelot == "5B"
    assert (absent.artist, absent.title, absent.duration_s) == (
        "Somebody",
        "Only In The Playlist",
        200.0,
    )
    assert absent.sources == {
        "artist": "playlist:m3u",
        "title": "playlist:m3u",
        "duration_s": "playlist:m3u",
    }
    assert broken.path == "Tracks/broken.ogg" and broken.title is None
    assert plain.title == "Untagged key" and plain.key is None
    lines = {p.line: p for p in pool.problems}
    assert lines[7].reason == "same track as line 3; skipped"
    assert lines[8].path is not None and lines[8].path.endswith("broken.ogg")
    assert outside.path == "../outside.mp3" and 10 not in lines


def test_ids_are_stable_and_unique(library: Path) -> None:
    first = load_pool(library / "set.m3u8")
    again = load_pool(library / "set.m3u8")
    assert [t.id for t in first.tracks] == [t.id for t in again.tracks]
    assert len({t.id for t in first.tracks}) == len(first.tracks)
    assert first.tracks[0].id == track_id("Tracks/glue.mp3")
    # reordering the playlist keeps each track's id
    text = (library / "set.m3u8").read_text().splitlines()
    (library / "reordered.m3u8").write_text("\n".join(reversed(text)) + "\n")
    reordered = load_pool(library / "reordered.m3u8")
    assert {t.path: t.id for t in reordered.tracks} == {t.path: t.id for t in first.tracks}


def test_folder_pool(library: Path) -> None:
    pool = load_pool(library / "Tracks")
    assert pool.format == "folder"
    assert sorted(t.title for t in pool.tracks) == ["Baby", "Glue", "Untagged key"]
    assert [p.path for p in pool.problems] == [str(library / "Tracks" / "broken.ogg")]
    assert pool.tracks[0].id == track_id("baby.flac")


def test_collection_values_win_over_tags(tmp_path: Path) -> None:
    make(
        tmp_path,
        "mp3",
        {
            "artist": "Tag Artist",
            "title": "Tag Title",
            "bpm": "120",
            "key": "1A",
            "album": "Tag Album",
        },
        name="song",
    )
    (tmp_path / "pool.csv").write_text("path,title,bpm\nsong.mp3,DJ Title,126\n", encoding="utf-8")
    track = load_pool(tmp_path / "pool.csv").tracks[0]
    assert (track.title, track.bpm) == ("DJ Title", 126.0)
    assert (track.artist, track.album) == ("Tag Artist", "Tag Album")  # tags fill the gaps
    assert track.key is not None and track.key.camelot == "1A"
    assert track.sources["title"] == "playlist:csv"
    assert track.sources["artist"] == "tag:TPE1"


def test_collection_from_another_machine_finds_files_beside_it(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "rekordbox.xml", tmp_path / "collection.xml")
    make(tmp_path, "mp3", {"genre": "From Tags", "comment": "x"}, name="deadmau5 - Strobe")
    pool = load_pool(tmp_path / "collection.xml")
    strobe = pool.tracks[0]
    assert strobe.path == "/Users/dj/Music/deadmau5 - Strobe.mp3"
    assert strobe.genre == "Progressive House"  # the collection's value
    assert strobe.sources["bpm"] == "playlist:rekordbox"


def test_traktor_playlist_pool() -> None:
    pool = load_pool(FIXTURES / "traktor.nml", playlist="Friday")
    assert [t.title for t in pool.tracks] == ["Café del Mar", "Strobe"]


def test_unusable_pools(tmp_path: Path) -> None:
    with pytest.raises(PoolError, match="no such file"):
        load_pool(tmp_path / "nothing.m3u")
    with pytest.raises(PoolError, match="no audio files"):
        load_pool(tmp_path)
    (tmp_path / "x.m3u").write_bytes(b"")
    with pytest.raises(PoolError, match="empty"):
        load_pool(tmp_path / "x.m3u")


def test_problem_shape() -> None:
    assert Problem(3, "why").to_json() == {"line": 3, "reason": "why"}
    assert Problem(None, "why", "/a.mp3").to_json() == {
        "line": None,
        "reason": "why",
        "path": "/a.mp3",
    }
