"""Analysis after ingest: missing BPM, key and energy filled from the audio with source ``analysis``.

Values from tags stay; the playlist shows the analysis progress; the same file is never analysed
twice (uploaded again, the stored analysis keeps its time and is not redone).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from service.dj.analysis.synth import render
from service.dj.keys import parse_key
from service.jobs.analysis import fill_changes
from tests.dj.audio import tag_id3
from tests.pipelines.helpers import make_dj, upload_playlist, wait_for

pytestmark = pytest.mark.stack


def _rendered(
    folder: Path, name: str, style: str, tempo: float, key: str, tags: dict[str, str] | None = None
) -> Path:
    r = render(style, tempo, parse_key(key), intro_bars=4, main_bars=8, outro_bars=4, seed=5)
    path = folder / name
    sf.write(str(path), r.audio, r.sr, format="WAV", subtype="PCM_16")
    if tags:
        tag_id3(path, tags)
    return path


def _analysis_done(directus, playlist_id: str) -> dict:
    def check():
        item = directus.get_item("playlists", playlist_id)
        return item if item.get("analysis_status") in ("done", "failed") else None

    return wait_for(check, 120, f"analysis of playlist {playlist_id}")


def _tracks(directus, owner: str) -> dict[str, dict]:
    rows = directus.list_items(
        "tracks",
        filter={"owner": {"_eq": owner}},
        fields=["id", "title", "bpm", "key", "energy", "sources", "analysis", "file_hash"],
        limit=-1,
    )
    return {r["title"]: r for r in rows}


def test_missing_values_are_filled_from_the_audio_once_per_file(
    stack, service_processes, tmp_path
) -> None:
    owner = make_dj(stack.service)
    plain = _rendered(tmp_path, "Ada Lux - Aurora.wav", "dnb", 174.0, "3B")
    tagged = _rendered(
        tmp_path, "Bo Kay - Basalt.wav", "house", 124.0, "8A",
        {"artist": "Bo Kay", "title": "Basalt", "bpm": "125", "key": "9A"},
    )  # fmt: skip
    playlist_file = tmp_path / "set.m3u8"
    playlist_file.write_text(
        f"#EXTM3U\n#EXTINF:30,Ada Lux - Aurora\n{plain.name}\n#EXTINF:30,Bo Kay - Basalt\n{tagged.name}\n",
        encoding="utf-8",
    )
    playlist = upload_playlist(stack.service, owner, playlist_file, [plain, tagged])

    done = _analysis_done(stack.service, playlist["id"])

    assert done["status"] == "done" and done["analysis_status"] == "done"
    assert done["analysis_progress"] == 100
    tracks = _tracks(stack.service, owner)
    aurora, basalt = tracks["Aurora"], tracks["Basalt"]
    assert aurora["bpm"] == 174 and aurora["key"] == "3B" and 1 <= aurora["energy"] <= 10
    assert {aurora["sources"][f] for f in ("bpm", "key", "energy")} == {"analysis"}
    assert aurora["analysis"]["bpm_confidence"] > 0.5
    assert aurora["analysis"]["key"]["camelot"] == "3B"
    assert aurora["analysis"]["file_hash"] == aurora["file_hash"]
    assert aurora["analysis"]["intro_bars"] == 4
    # Tags win; analysis fills only what they left empty (energy) and keeps its own finding aside.
    assert basalt["bpm"] == 125 and basalt["key"] == "9A"
    assert basalt["sources"]["bpm"].startswith("tag:") and basalt["sources"]["energy"] == "analysis"
    assert basalt["analysis"]["bpm"] == 124 and basalt["analysis"]["key"]["camelot"] == "8A"

    # The same files again in another playlist: same tracks, nothing analysed again.
    again = upload_playlist(stack.service, owner, playlist_file, [plain, tagged], name="Again")
    assert _analysis_done(stack.service, again["id"])["analysis_status"] == "done"
    after = _tracks(stack.service, owner)
    assert after["Aurora"]["analysis"]["analysed_at"] == aurora["analysis"]["analysed_at"]
    assert after["Basalt"]["analysis"]["analysed_at"] == basalt["analysis"]["analysed_at"]


def test_fill_changes_keeps_every_value_already_there() -> None:
    analysis = {"bpm": 128.0, "key": {"camelot": "8A"}, "energy": 7, "error": None}
    track = {"bpm": 127, "key": None, "energy": "", "sources": {"bpm": "dj"}}
    changes = fill_changes(track, analysis)
    assert changes["key"] == "8A" and changes["energy"] == 7 and "bpm" not in changes
    assert changes["sources"] == {"bpm": "dj", "key": "analysis", "energy": "analysis"}
    failed = fill_changes({"bpm": None}, {"bpm": None, "error": "the audio is silent"})
    assert failed == {"analysis": {"bpm": None, "error": "the audio is silent"}}
