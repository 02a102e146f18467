"""Matching playlist entries to uploaded files: path, file name, then artist + title."""

from __future__ import annotations

from service.dj.matching import FileRef, match_entries
from service.dj.playlists import Problem, parse_playlist


def entries(text: str):
    return parse_playlist(text.encode("utf-8"), filename="x.m3u8").entries


def test_match_by_path_then_name_then_artist_title() -> None:
    es = entries(
        "#EXTM3U\n"
        "C:\\Users\\DJ\\Music\\House\\Glue.mp3\n"  # 2: by path suffix House/Glue.mp3
        "/Volumes/USB/Techno/Glue.mp3\n"  # 3: by name, the other Glue.mp3
        "#EXTINF:300,Four Tet - Baby\n"
        "/old/disk/renamed-file.flac\n"  # 5: by artist + title
        "/Music/Caf\u00e9.mp3\n"  # 6: NFD upload, other case
        "/Music/missing.mp3\n"  # 7: nothing
    )
    files = [
        FileRef("f-techno", "Techno/Glue.mp3"),
        FileRef("f-house", "House/Glue.mp3"),
        FileRef("f-baby", "01 baby.flac", artist="Four Tet", title="Baby"),
        FileRef("f-cafe", "CAFE\u0301.MP3"),
        FileRef("f-extra", "extra.wav"),
    ]
    result = match_entries(es, files)
    assert [(m.line, m.file_id, m.method) for m in result.matches] == [
        (2, "f-house", "path"),
        (3, "f-techno", "path"),
        (5, "f-baby", "artist+title"),
        (6, "f-cafe", "filename"),
    ]
    assert result.unmatched_entries == [4]
    assert result.unmatched_files == ["f-extra"]
    assert result.problems(es) == [Problem(7, "no uploaded file matches this entry")]


def test_same_name_in_two_folders_prefers_the_closer_path() -> None:
    es = entries("/a/Deep/intro.mp3\n/b/Peak/intro.mp3\n")
    files = [FileRef("peak", "intro.mp3"), FileRef("deep", "intro.mp3")]
    result = match_entries(es, files)
    assert {m.line: m.file_id for m in result.matches} == {1: "peak", 2: "deep"}


def test_duplicates_share_their_file_and_files_are_used_once() -> None:
    es = entries("a.mp3\nb/a.mp3\na.mp3\n")
    result = match_entries(es, [FileRef("1", "a.mp3")])
    assert [(m.line, m.file_id) for m in result.matches] == [(1, "1"), (3, "1")]
    assert result.unmatched_entries == [1]


def test_artist_title_ignores_accents_case_and_punctuation() -> None:
    es = entries("#EXTINF:1,Röyksopp & Robyn - Do It Again!\nwhatever.mp3\n")
    files = [FileRef("x", "track01.mp3", artist="royksopp and robyn", title="Do it again")]
    assert match_entries(es, files).matches[0].method == "artist+title"


def test_nothing_to_match() -> None:
    result = match_entries([], [FileRef("a", "a.mp3")])
    assert result.matches == [] and result.unmatched_files == ["a"]
