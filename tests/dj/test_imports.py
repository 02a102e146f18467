"""Import reports (issue 20, item 4): each entry once, quoted as written, with one plain reason;
matched means playable audio; a playlist with no usable track says why."""

from __future__ import annotations

from collections import Counter

from service.dj.imports import UploadedFile, failure_message, plan_import
from service.dj.matching import FileRef, match_entries
from service.dj.playlists import parse_playlist

NOTES = b"Shopping list\nmilk\neggs and bread\n\nCall mum at 5\n"


def _plan(data: bytes, name: str, files: list[UploadedFile]):
    parsed = parse_playlist(data, filename=name)
    matched = match_entries(parsed.entries, [FileRef(f.id, f.name, None, None) for f in files])
    lines = data.decode("utf-8").splitlines()
    plan = plan_import(
        parsed.entries, parsed.problems, files, {m.index: m.file_id for m in matched.matches}, lines
    )
    return parsed, plan


def test_a_text_file_renamed_m3u8_reports_each_line_once_and_fails_with_the_reason() -> None:
    parsed, plan = _plan(NOTES, "notes.m3u8", [])
    lines = [p.line for p in plan.problems]
    assert lines == [1, 2, 3, 5]  # once each
    assert [p.entry for p in plan.problems] == ["Shopping list", "milk", "eggs and bread",
                                                "Call mum at 5"]  # fmt: skip
    assert all("not a track" in p.reason for p in plan.problems)
    assert plan.use == {}
    message = failure_message(plan, "notes.m3u8", len(parsed.entries))
    assert message is not None
    assert "notes.m3u8" in message and "not a track" in message and "“Shopping list”" in message


def test_an_empty_or_non_audio_file_is_not_a_match_and_is_reported_once_on_its_entry() -> None:
    data = b"#EXTM3U\n../Music/good.wav\n../Music/empty.wav\n../Music/text.mp3\n"
    files = [
        UploadedFile("f1", "good.wav"),
        UploadedFile("f2", "empty.wav", "empty file (0 bytes)"),
        UploadedFile("f3", "text.mp3", "not audio: the file is a text file"),
    ]
    _, plan = _plan(data, "set.m3u8", files)
    assert plan.use == {0: "f1"} and plan.matched == 1
    assert Counter(p.path for p in plan.problems) == {"empty.wav": 1, "text.mp3": 1}
    by_line = {p.line: p for p in plan.problems}
    assert by_line[3].entry == "../Music/empty.wav"
    assert "not playable audio: empty file (0 bytes)" in by_line[3].reason


def test_with_audio_uploaded_an_entry_without_its_file_is_a_problem_not_a_track() -> None:
    data = (
        b"#EXTM3U\n#EXTINF:300,Ada Lux - Aurora\nAurora.wav\n#EXTINF:300,Bo Kay - Gone\nGone.wav\n"
    )
    _, plan = _plan(
        data, "set.m3u8", [UploadedFile("f1", "Aurora.wav"), UploadedFile("f9", "x.wav")]
    )
    assert plan.use == {0: "f1"}
    reasons = {(p.line, p.path): (p.reason, p.entry) for p in plan.problems}
    assert reasons[(5, None)] == ("no uploaded audio file has this name", "Gone.wav")
    assert reasons[(None, "x.wav")][0] == "this uploaded file is not in the playlist"


def test_a_collection_without_audio_gives_tracks_from_its_values() -> None:
    data = b"Artist,Title,BPM\ndeadmau5,Strobe,128\n,,\n"
    parsed, plan = _plan(data, "library.csv", [])
    assert list(plan.use.values()) == [None]
    assert failure_message(plan, "library.csv", len(parsed.entries)) is None


def test_a_playlist_of_audio_names_without_the_audio_says_so() -> None:
    parsed, plan = _plan(b"a.wav\nb.mp3\n", "set.m3u", [])
    assert {p.reason for p in plan.problems} == {
        "names an audio file, but no audio was uploaded with the playlist"
    }
    assert "no audio was uploaded" in failure_message(plan, "set.m3u", len(parsed.entries))
