"""``aidj set render`` on a small generated set: the mix and its chapter marks, its cue sheet, a preview
per transition, and a corrupt file that fails only its own transitions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from mutagen.flac import FLAC
from mutagen.id3 import ID3

from service.cli import main
from service.dj.analysis.synth import render
from service.dj.keys import Key
from service.dj.render.chapters import parse_chapter_time


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
    # The length it reports is the preview's own (Opus runs at 48 kHz, not the mix's 44.1).
    told = dict(re.findall(r"preview \S*?(\d\d-\d\d\.opus) \((\d+) s", result.output))
    assert {n: int(s) for n, s in told.items()} == {
        p.name: round(sf.info(p).duration) for p in previews.iterdir()
    }
    sheet = cue.read_text(encoding="utf-8")
    assert sheet.startswith('FILE "mix.flac" WAVE')
    starts = re.findall(r"INDEX 01 (\d\d):(\d\d):(\d\d)", sheet)
    assert [t for t in re.findall(r'TITLE "(.*)"', sheet)] == ["One", "Two", "Three"]
    seconds = [int(m) * 60 + int(s) + int(f) / 75 for m, s, f in starts]
    assert seconds[0] == 0 and seconds[0] < seconds[1] < seconds[2] < info.duration
    # The mix carries the same starts as chapter marks (to the millisecond; the sheet has 1/75 s).
    tags = FLAC(mix).tags
    assert [tags[f"CHAPTER{n:03d}NAME"][0] for n in (1, 2, 3)] == [
        "Gen – One",
        "Gen – Two",
        "Gen – Three",
    ]
    assert "CHAPTER004" not in tags
    marks = [parse_chapter_time(tags[f"CHAPTER{n:03d}"][0]) for n in (1, 2, 3)]
    assert marks == pytest.approx(seconds, abs=0.5 / 75 + 0.0005)


def test_render_refuses_an_unknown_output_format(tmp_path: Path) -> None:
    set_json = tmp_path / "set.json"
    set_json.write_text(json.dumps({"tracks": []}))
    result = CliRunner().invoke(main, ["set", "render", str(set_json), "-o", "mix.aac"])
    assert result.exit_code == 2 and ".flac, .wav, .ogg or .mp3" in result.output


def test_an_mp3_mix_carries_id3_chapters_at_the_cue_sheet_times(tmp_path: Path) -> None:
    one = _track(tmp_path, "one", 124.0, 8, 1)
    two = _track(tmp_path, "two", 125.0, 9, 2)
    del two["artist"]
    del two["bpm"]  # a downbeat without a tempo: the command analyses the file
    set_json = tmp_path / "set.json"
    set_json.write_text(json.dumps({"tracks": [one, two], "transitions": []}))
    mix, cue = tmp_path / "mix.mp3", tmp_path / "mix.cue"
    result = CliRunner().invoke(
        main, ["set", "render", str(set_json), "-o", str(mix), "--cue", str(cue), "--bars", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "1 (One) → 2 (Two): " in result.output and "beatmatched" in result.output
    sheet = cue.read_text(encoding="utf-8")
    cue_ms = [
        (int(m) * 60 + int(s) + int(f) / 75) * 1000
        for m, s, f in re.findall(r"INDEX 01 (\d\d):(\d\d):(\d\d)", sheet)
    ]
    tags = ID3(mix)
    (toc,) = tags.getall("CTOC")
    chaps = [tags[f"CHAP:{i}"] for i in toc.child_element_ids]
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == ["Gen – One", "Two"]
    assert [c.start_time for c in chaps] == pytest.approx(cue_ms, abs=1000 * 0.5 / 75 + 1)
    assert chaps[0].end_time == chaps[1].start_time
    assert chaps[1].end_time == pytest.approx(sf.info(mix).duration * 1000, abs=60)


def test_each_transition_is_played_as_the_sets_tip_says(tmp_path: Path) -> None:
    one, two, three = (
        _track(tmp_path, n, 124.0, 8, s) for n, s in (("one", 1), ("two", 2), ("three", 3))
    )
    transitions = [{"from_id": "one", "to_id": "two", "technique": "echo_out"},
                   {"from_id": "two", "to_id": "three", "technique": "short_blend"}]  # fmt: skip
    set_json = tmp_path / "set.json"
    set_json.write_text(json.dumps({"tracks": [one, two, three], "transitions": transitions}))
    result = CliRunner().invoke(
        main, ["set", "render", str(set_json), "-o", str(tmp_path / "mix.wav")]
    )
    assert result.exit_code == 0, result.output
    assert "1 (One) → 2 (Two): 3.9 s echo, echo out on a phrase boundary" in result.output
    assert "2 (Two) → 3 (Three): " in result.output and " s blend, beatmatched" in result.output


def test_a_set_built_from_a_playlist_elsewhere_renders_from_the_playlists_folder(
    tmp_path: Path,
) -> None:
    from service.stack.demo import write_demo_library

    _, playlist = write_demo_library(tmp_path / "Music")
    out = tmp_path / "sets"
    out.mkdir()
    built = CliRunner().invoke(main, ["set", "build", str(playlist), "--duration", "15m",
                                      "--format", "json", "-o", str(out / "set.json")])  # fmt: skip
    assert built.exit_code == 0, built.output
    payload = json.loads((out / "set.json").read_text())
    assert not Path(payload["tracks"][0]["path"]).is_absolute()  # as the playlist names it
    assert payload["set"]["pool_folder"] == str((tmp_path / "Music").resolve())

    result = CliRunner().invoke(
        main, ["set", "render", str(out / "set.json"), "-o", str(out / "mix.ogg"), "--bars", "4"]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(payload['tracks'])} tracks" in result.output
