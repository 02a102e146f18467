"""The local provider reads a DJ's sentence into set parameters by rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.ai import ARC_NAMES, LocalProvider
from service.ai.validation import LIMITS
from service.dj.sequencing.plan import SET_BPM_RANGE, SET_MINUTES_RANGE

LOCAL = LocalProvider()


@pytest.mark.parametrize(
    ("sentence", "duration", "arc", "bpm", "genres", "mood"),
    [
        (
            "two hours of melodic techno for a sunrise, gentle start",
            120,
            "build",
            (None, None),
            ["melodic techno"],
            ["sunrise", "gentle"],
        ),
        ("90 min peak-time techno 130-135 bpm", 90, "peak-time", (130, 135), ["techno"], []),
        (
            "an hour and a half of deep house, gentle start and a soft ending",
            90,
            "journey",
            (None, None),
            ["deep house"],
            ["gentle"],
        ),
        (
            "1h30 warm-up set around 122 bpm, groovy tech house",
            90,
            "warm-up",
            (120, 124),
            ["tech house"],
            ["groovy"],
        ),
        (
            "3 hours of drum & bass at 172–176 BPM, banging",
            180,
            "peak-time",
            (172, 176),
            ["drum and bass"],
            [],
        ),
        (
            "Give me 45 minutes of dark, hypnotic techno under 135 bpm",
            45,
            None,
            (None, 135),
            ["techno"],
            ["dark", "hypnotic"],
        ),
        ("closing set, 2.5 hours, afro house into organic house", 150, "cool-down", (None, None),
         ["afro house", "organic house"], []),
        ("a 60-minute journey through progressive house and trance", 60, "journey", (None, None),
         ["progressive house", "trance"], []),
        ("half an hour of dnb", 30, None, (None, None), ["drum and bass"], []),
        ("2h 15m of uk garage and breaks, build it up", 135, "build", (None, None),
         ["uk garage", "breaks"], []),
        ("peak time 2 hrs hard techno 140-145", 120, "peak-time", (140, 145), ["hard techno"], []),
        ("closing: 3hrs of minimal, 125 to 128", 180, "cool-down", (125, 128), ["minimal"], []),
        ("rooftop sunset, ninety minutes, disco and nu-disco 118-122 bpm", 90, None, (118, 122),
         ["disco", "nu disco"], ["rooftop", "sunset"]),
        ("forty-five minutes of house", 45, None, (None, None), ["house"], []),
        ("a 120-130 minute set", 130, None, (None, None), [], []),
        ("something nice", None, None, (None, None), [], []),
    ],
)  # fmt: skip
def test_a_brief_sentence_is_read_into_parameters(
    sentence: str,
    duration: int | None,
    arc: str | None,
    bpm: tuple[float | None, float | None],
    genres: list[str],
    mood: list[str],
) -> None:
    params = LOCAL.interpret_brief(sentence)

    assert params.duration_min == duration
    assert params.arc == arc
    assert (params.bpm_min, params.bpm_max) == bpm
    assert params.genres == genres
    assert params.mood == mood
    assert params.provider == "local"
    assert params.fallback_reason is None


def test_an_impossible_duration_or_tempo_is_left_unset() -> None:
    params = LOCAL.interpret_brief("a 5000 minute set at 900-950 bpm")

    assert params.duration_min is None
    assert (params.bpm_min, params.bpm_max) == (None, None)


def test_words_read_as_a_genre_or_arc_are_not_repeated_as_moods() -> None:
    params = LOCAL.interpret_brief("deep house warm-up, melodic techno later")

    assert params.genres == ["deep house", "melodic techno"]
    assert "deep" not in params.mood and "warm" not in params.mood
    assert "melodic" not in params.mood


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_gives_parameters_within_bounds(text: str) -> None:
    params = LOCAL.interpret_brief(text)

    assert params.arc is None or params.arc in ARC_NAMES
    if params.duration_min is not None:
        assert SET_MINUTES_RANGE[0] <= params.duration_min <= SET_MINUTES_RANGE[1]
    for bpm in (params.bpm_min, params.bpm_max):
        assert bpm is None or SET_BPM_RANGE[0] <= bpm <= SET_BPM_RANGE[1]
    if params.bpm_min is not None and params.bpm_max is not None:
        assert params.bpm_min <= params.bpm_max
    assert len(params.genres) <= LIMITS["brief_words"]
    assert len(params.mood) <= LIMITS["brief_words"]
