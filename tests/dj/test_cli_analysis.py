"""``aidj analyze``: JSON rows shaped like ``aidj inspect``'s, error rows, parallel files, exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from service.cli import main
from service.dj.analysis.synth import render
from service.dj.keys import parse_key
from tests.dj.shapes import INSPECT_FIELDS

ANALYSIS_FIELDS = {"bpm_confidence", "key_confidence", "key_runner_up", "first_beat_s",
                   "intro_bars", "outro_bars"}  # fmt: skip


def _track(folder: Path, name: str, style: str, bpm: float, key: str) -> Path:
    r = render(style, bpm, parse_key(key), intro_bars=4, main_bars=8, outro_bars=4, seed=3)
    path = folder / name
    sf.write(str(path), r.audio, r.sr)
    return path


def test_json_rows_and_error_rows(tmp_path: Path) -> None:
    good = _track(tmp_path, "a.flac", "house", 124.0, "8A")
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(44100 * 10, dtype=np.float32), 44100)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3" + b"\x00" * 200)
    result = CliRunner().invoke(
        main, ["analyze", str(good), str(silent), str(corrupt), "--json", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["path"] for r in rows] == [str(good), str(silent), str(corrupt)]
    shared = {"path", "bpm", "key", "energy", "duration_s", "error"}
    assert shared <= INSPECT_FIELDS
    assert all(set(r) >= shared | ANALYSIS_FIELDS for r in rows)
    assert rows[0]["bpm"] == 124.0
    assert rows[0]["key"] == {"camelot": "8A", "open_key": "1m", "name": "Am"}
    assert set(rows[0]["key_runner_up"]) == {"camelot", "open_key", "name"}
    assert rows[0]["intro_bars"] == 4 and rows[0]["outro_bars"] == 4
    assert rows[0]["error"] is None
    assert rows[1]["error"] == "the audio is silent" and rows[1]["bpm"] is None
    assert rows[2]["error"] and rows[2]["key"] is None


def test_nothing_analysable_exits_2(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(44100 * 10, dtype=np.float32), 44100)
    result = CliRunner().invoke(main, ["analyze", str(silent), "--jobs", "1"])
    assert result.exit_code == 2
    assert "ERROR the audio is silent" in result.output
    empty = CliRunner().invoke(main, ["analyze", str(tmp_path / "nothing-here")])
    assert empty.exit_code == 2


def test_jobs_run_files_in_parallel_in_order(tmp_path: Path) -> None:
    _track(tmp_path, "1.wav", "dnb", 174.0, "3B")
    _track(tmp_path, "2.wav", "hiphop", 90.0, "10A")
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "analyze", str(tmp_path), "--json", "--jobs", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(out.stdout)
    assert [Path(r["path"]).name for r in rows] == ["1.wav", "2.wav"]
    assert [r["bpm"] for r in rows] == [174.0, 90.0]  # whole tempos snap
