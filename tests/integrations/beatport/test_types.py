"""Beatport track objects parse whole and with every optional value missing (fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path

from service.integrations.beatport import BeatportTrack

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_search_answer_parses_with_full_and_empty_tracks() -> None:
    data = json.loads((FIXTURES / "search_tracks.json").read_text())
    full, bare = (BeatportTrack.from_json(t) for t in data["tracks"])
    assert (full.id, full.name, full.mix_name, full.artists) == (17606729, "Losing It",
                                                                 "Original Mix", ("FISHER",))  # fmt: skip
    assert (full.bpm, full.key, full.genre, full.label) == (
        125.0,
        "8A",
        "Tech House",
        "Catch & Release",
    )
    assert full.isrc == "AUUM71800541" and full.duration_s == 372.0
    assert full.summary()["label"] == "Catch & Release"
    assert bare.mix_name is None and bare.remixers == ("Remixer",)
    assert (bare.bpm, bare.key, bare.genre, bare.label, bare.isrc, bare.duration_s) == (None,) * 6
