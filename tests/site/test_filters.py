"""Values read on the page as a DJ expects them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.web.site.filters import bpm, duration, explain, key_label, problem_text


def test_keys_show_in_camelot_and_musical_notation() -> None:
    assert key_label("8A") == "8A · Am"
    assert key_label("Abm") == "1A · Abm"
    assert key_label("12B") == "12B · E"
    assert key_label(None) == "unknown"
    assert key_label("not a key") == "not a key"


def test_lengths_read_as_minutes_and_seconds() -> None:
    assert duration(372.4) == "6:12"
    assert duration(3725) == "1:02:05"
    assert duration(None) == "" and duration(-6915) == ""


@given(st.floats(min_value=0, max_value=10 * 3600, allow_nan=False))
def test_a_length_round_trips_to_the_second(seconds: float) -> None:
    parts = [int(p) for p in duration(seconds).split(":")]
    total = sum(p * 60**k for k, p in enumerate(reversed(parts)))
    assert total == round(seconds)


def test_tempo_and_transition_facts_read_plainly() -> None:
    assert bpm(124.0) == "124" and bpm(123.5) == "123.5" and bpm(None) == "?"
    assert explain({"relation": "relative", "tempo_change_pct": -1.26, "energy_change": 2}) == (
        "key: relative · pitch -1.3 % · energy +2"
    )
    assert explain({"relation": None, "tempo_change_pct": None}) == "key: unknown · tempo: unknown"


def test_problems_read_as_sentences() -> None:
    assert problem_text({"line": 4, "reason": "file not found", "path": "a.mp3"}) == (
        "Line 4 (file a.mp3): file not found."
    )
    assert problem_text({"reason": None}) == "An entry: could not be used."


def test_a_problem_quotes_the_entry_as_written_and_the_file_name() -> None:
    assert (
        problem_text(
            {"line": 3, "entry": "../Music/x.wav", "reason": "no uploaded audio file has this name"}
        )
        == "Line 3 “../Music/x.wav”: no uploaded audio file has this name."
    )
    assert (
        problem_text(
            {
                "line": 5,
                "entry": "x.wav",
                "path": "x.wav",
                "reason": "the uploaded file is not playable",
            }
        )
        == "Line 5 “x.wav”: the uploaded file is not playable."
    )
    assert problem_text({"line": None, "path": "cover.mp3", "reason": "not playable audio"}) == (
        "cover.mp3: not playable audio."
    )
