"""``aidj inspect`` and ``aidj playlist``: the JSON shapes other tools read, and the exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from service.cli import main
from tests.dj.audio import make
from tests.dj.shapes import INSPECT_FIELDS

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_inspect_json(tmp_path: Path) -> None:
    good = make(
        tmp_path, "flac", {"artist": "A", "title": "T", "bpm": "128,5", "key": "Am", "energy": "6"}
    )
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"")
    result = run("inspect", str(good), str(broken), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [set(d) >= INSPECT_FIELDS for d in data] == [True, True]
    assert data[0]["bpm"] == 128.5
    assert data[0]["key"] == {"camelot": "8A", "open_key": "1m", "name": "Am"}
    assert data[0]["energy"] == 6
    assert data[0]["sources"]["bpm"] == "tag:BPM"
    assert data[0]["error"] is None
    assert data[1]["error"] == "empty file (0 bytes)"
    assert data[1]["bpm"] is None and data[1]["key"] is None


def test_inspect_folder_and_text(tmp_path: Path) -> None:
    make(tmp_path, "mp3", {"artist": "A", "title": "T", "key": "xyz"})
    result = run("inspect", str(tmp_path))
    assert result.exit_code == 0
    assert "A - T" in result.output and "warning: TKEY" in result.output


def test_inspect_nothing_to_read(tmp_path: Path) -> None:
    result = run("inspect", str(tmp_path))
    assert result.exit_code == 2
    assert "no audio files" in result.stderr


def test_playlist_json_shapes_for_every_format(tmp_path: Path) -> None:
    m3u = tmp_path / "set.m3u8"
    m3u.write_text("#EXTM3U\n#EXTINF:10,A - B\na.mp3\n/../etc/passwd\n", encoding="utf-8")
    for path, fmt in [
        (m3u, "m3u"),
        (FIXTURES / "rekordbox.xml", "rekordbox"),
        (FIXTURES / "traktor.nml", "nml"),
        (FIXTURES / "library.csv", "csv"),
    ]:
        result = run("playlist", str(path), "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert {"format", "encoding", "entries", "problems"} <= set(data)
        assert data["format"] == fmt
        assert data["entries"] and all({"line", "reason"} <= set(p) for p in data["problems"])
    data = json.loads(run("playlist", str(m3u), "--json").output)
    assert data["entries"][0]["artist"] == "A"
    assert data["problems"] == [
        {"line": 4, "reason": "path climbs out of the library root with '..'; skipped"}
    ]


def test_playlist_picks_a_collection_playlist() -> None:
    result = run("playlist", str(FIXTURES / "rekordbox.xml"), "--playlist", "Friday", "--json")
    assert [e["title"] for e in json.loads(result.output)["entries"]] == ["Café del Mar", "Strobe"]


def test_playlist_unusable_input_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.m3u"
    empty.write_bytes(b"")
    result = run("playlist", str(empty), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "aidj playlist: the file is empty" in result.stderr
    assert run("playlist", str(tmp_path / "missing.m3u")).exit_code == 2
    big = tmp_path / "big.m3u"
    big.write_text("a\nb\nc\n")
    assert run("playlist", str(big), "--max-entries", "2").exit_code == 2


def test_playlist_text_output(tmp_path: Path) -> None:
    m3u = tmp_path / "set.m3u"
    m3u.write_text("a.mp3\na.mp3\n")
    result = run("playlist", str(m3u))
    assert result.exit_code == 0
    assert "duplicate of line 1" in result.output


def test_installed_command_runs(tmp_path: Path) -> None:
    """The real ``aidj`` entry point (module form), not only the click test runner."""
    m3u = tmp_path / "set.m3u"
    m3u.write_text("a.mp3\n")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from service.cli import main; main()",
            "playlist",
            str(m3u),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["entries"][0]["path"] == "a.mp3"
