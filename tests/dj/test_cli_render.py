"""``aidj set render`` on a small generated set: the mix, its cue sheet, a preview per transition,
and a corrupt file that fails only its own transitions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from service.cli import main
from service.dj.analysis.synth import render
from service.dj.keys import Key


def _track(tmp_path: Path, name: str, bpm: float, camelot: int, seed: int) -> dict[str, object]:
    r = render(
        "house", bpm, Key.from_camelot(camelot, "A"), intro_bars=2, main_bars=12, outro_bars=2,
        seed=seed,
    )  # fmt: skip
    path = tmp_path / f"{name}.wav"
    sf.write(path, r.audio, r.sr)
    return {"id": name, "path": path.name, "title": name.title(), "artist": "Gen", "bpm": bpm,
            "key": f"{camelot}A", "duration_s": len(r.audio) / r.sr,
            "first_beat_s": r.first_downbeat_s}  # fmt: skip


def test_render_writes_mix_cue_and_previews_and_skips_a_corrupt_track(tmp_path: Path) -> None:
    one = _track(tmp_path, "one", 124.0, 8, 1)
    two = _track(tmp_path, "two", 126.0, 9, 2)
    del two["first_beat_s"]  # no grid in the JSON: the command analyses the file
    (tmp_path / "broken.flac").write_bytes(b"fLaC not really")
    broken = {"id": "broken", "path": "broken.flac", "title": "Broken", "bpm": 125.0}
    three = _track(tmp_path, "three", 125.0, 9, 3)
    three["beat_grid"] = [three.pop("bpm"), three.pop("first_beat_s")]  # as the JSON export has it
    set_json = tmp_path / "set.json"
    set_json.write_text(json.dumps({"tracks": [one, two, broken, three], "transitions": []}))
    mix, cue, previews = tmp_path / "mix.flac", tmp_path / "mix.cue", tmp_path / "previews"
    result = CliRunner().invoke(
        main,
        ["set", "render", str(set_json), "-o", str(mix), "--cue", str(cue),
         "--previews", str(previews), "--bars", "4", "--preview-format", "opus"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # the mix is written; one track failed
    assert "track 3 (Broken) skipped" in result.output
    assert "1 (One) → 2 (Two): " in result.output and "beatmatched" in result.output
    assert "2 (Two) → 4 (Three): " in result.output
    info = sf.info(mix)
    assert info.samplerate == 44100 and info.channels == 2 and info.format == "FLAC"
    audio, _ = sf.read(mix, dtype="float32")
    assert np.abs(audio).max() < 1.0
    assert sorted(p.name for p in previews.iterdir()) == ["01-02.opus", "02-04.opus"]
    for p in previews.iterdir():
        assert sf.info(p).duration > 10 and sf.info(p).subtype == "OPUS"
    sheet = cue.read_text(encoding="utf-8")
    assert sheet.startswith('FILE "mix.flac" WAVE')
    starts = re.findall(r"INDEX 01 (\d\d):(\d\d):(\d\d)", sheet)
    assert [t for t in re.findall(r'TITLE "(.*)"', sheet)] == ["One", "Two", "Three"]
    seconds = [int(m) * 60 + int(s) + int(f) / 75 for m, s, f in starts]
    assert seconds[0] == 0 and seconds[0] < seconds[1] < seconds[2] < info.duration


def test_render_refuses_an_unknown_output_format(tmp_path: Path) -> None:
    set_json = tmp_path / "set.json"
    set_json.write_text(json.dumps({"tracks": []}))
    result = CliRunner().invoke(main, ["set", "render", str(set_json), "-o", "mix.aac"])
    assert result.exit_code == 2 and ".flac, .wav, .ogg or .mp3" in result.output
