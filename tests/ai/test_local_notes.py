"""The local provider writes readable, specific, deterministic notes from the scorecard."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings

from service.ai import ARC_NAMES, LocalProvider, SetView, TrackView, TransitionView
from service.ai.local import relation_kind
from service.ai.validation import LIMITS, check_notes

from .factories import sample_set, set_views

LOCAL = LocalProvider()


def test_every_transition_gets_a_note_in_play_order() -> None:
    notes = LOCAL.annotate(sample_set(), None)

    assert notes.provider == "local"
    assert notes.fallback_reason is None
    assert [(n.from_id, n.to_id) for n in notes.transitions] == [
        ("t01", "t02"),
        ("t02", "t03"),
        ("t03", "t04"),
        ("t04", "t05"),
    ]


def test_a_note_names_the_tracks_keys_tempo_move_energy_and_tip() -> None:
    first = LOCAL.annotate(sample_set(), None).transitions[0].note

    assert "deadmau5 – Strobe" in first
    assert "Eric Prydz – Opus" in first
    assert "8A" in first and "8B" in first
    assert "relative" in first
    assert "drops from 128 to 126 BPM (1.6 %)" in first
    assert "from 5 to 7" in first
    assert "pitch Opus +1.6 %" in first  # the engine's tip


def test_a_clash_is_called_a_clash_and_the_tip_kept() -> None:
    clash = LOCAL.annotate(sample_set(), None).transitions[2].note

    assert "9B and 4A clash" in clash
    assert "echo out" in clash


def test_the_title_names_the_genre_arc_and_length() -> None:
    title = LOCAL.annotate(sample_set(), None).title

    assert title == "Progressive House & Melodic House Journey · 32 min"


def test_the_description_gives_opener_closer_and_harmonic_share() -> None:
    description = LOCAL.annotate(sample_set(), None).description

    assert "5-track set of about 32 minutes" in description
    assert "opens with deadmau5 – Strobe (8A, 128 BPM, energy 5)" in description
    assert "closes with ODESZA – Sun Models (4A, 122 BPM, energy 3)" in description
    assert "3 of 4 transitions are harmonic" in description
    assert "and 1 clashes" in description
    assert "journey" in description


def test_mood_words_of_the_brief_reach_the_title_and_tags() -> None:
    notes = LOCAL.annotate(sample_set(), "a sunrise set, gentle start")

    assert notes.title.startswith("Sunrise ")
    assert "sunrise" in notes.tags
    assert "journey" in notes.tags
    assert "122-128 bpm" in notes.tags


def test_the_same_set_always_gets_the_same_words() -> None:
    assert LOCAL.annotate(sample_set(), "sunrise") == LOCAL.annotate(sample_set(), "sunrise")


def test_a_track_without_metadata_still_gets_a_readable_note() -> None:
    tracks = [
        TrackView("a", "Known", "Someone", 124.0, "5A", 5, None),
        TrackView("b", None, None, None, None, None, None),
    ]
    view = SetView(tracks, [TransitionView("a", "b", "unknown", 0.0, None, "", 0.5)])

    note = LOCAL.annotate(view, None).transitions[0].note

    assert note.startswith("Someone – Known into track b:")
    assert "unknown" in note and "by ear" in note
    assert "None" not in note


def test_an_empty_set_gets_a_title_and_a_description() -> None:
    notes = LOCAL.annotate(SetView([], [], {}, None, None), None)

    assert notes.title and notes.description
    assert notes.transitions == []


@pytest.mark.parametrize(
    ("relation", "kind"),
    [
        ("same key", "same"),
        ("±1 on the wheel", "adjacent"),
        ("relative major/minor", "relative"),
        ("diagonal", "diagonal"),
        ("+2 energy boost", "boost"),
        ("-2 step down", "drop"),
        ("±7: one semitone, a key change", "semitone"),
        ("clash", "clash"),
        ("RELATIVE", "relative"),
        ("", "unknown"),
        ("tritone", "other"),
    ],
)
def test_every_relation_name_of_the_engine_is_understood(relation: str, kind: str) -> None:
    assert relation_kind(relation) == kind


_PLACEHOLDERS = re.compile(r"\bNone\b|\{|\}|\bnan\b|TODO|lorem", re.IGNORECASE)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view=set_views())
def test_local_notes_always_pass_the_checks_models_must_pass(view: SetView) -> None:
    notes = LOCAL.annotate(view, None)

    check_notes(notes, view, "local")  # raises InvalidAnswer on any breach
    assert len(notes.transitions) == len(view.transitions)
    assert len(notes.title) <= LIMITS["title_chars"]
    assert notes.provider == "local"


@settings(max_examples=40, deadline=None)
@given(view=set_views())
def test_local_notes_never_print_python_values(view: SetView) -> None:
    notes = LOCAL.annotate(view, None)
    generated = [notes.title, notes.description, *(n.note for n in notes.transitions)]
    own_text = {v for t in view.tracks for v in (t.title, t.artist, t.genre) if v} | {
        t.tip for t in view.transitions
    }
    for text in generated:
        text = text.lower()  # genres are written in lower case
        for value in sorted(own_text, key=len, reverse=True):
            text = text.replace(" ".join(value.split()).lower(), "")
        assert not _PLACEHOLDERS.search(text), text


def test_arc_names_match_the_set_engine() -> None:
    arcs = pytest.importorskip("service.dj.arcs")
    assert tuple(arcs.ARC_NAMES) == ARC_NAMES


def test_a_key_moved_by_the_tempo_change_is_explained() -> None:
    tracks = [
        TrackView("a", "Low", "X", 120.0, "8A", 5, None),
        TrackView("b", "High", "Y", 127.5, "8A", 6, None),
    ]
    # same written key, but 6.25 % faster without keylock is a semitone up: the engine says clash
    view = SetView(tracks, [TransitionView("a", "b", "clash", 6.25, 1, "cut", 1.0)])

    note = LOCAL.annotate(view, None).transitions[0].note

    assert "8A to 8A becomes a clash once the 6.2 % tempo change moves the pitch" in note


def test_a_move_into_double_time_is_named() -> None:
    tracks = [
        TrackView("a", "Halftime", "X", 86.0, "5A", 5, "Drum and Bass"),
        TrackView("b", "Roller", "Y", 174.0, "5A", 7, "Drum and Bass"),
    ]
    view = SetView(tracks, [TransitionView("a", "b", "same key", -1.15, 2, "long blend", 0.1)])

    note = LOCAL.annotate(view, None).transitions[0].note

    assert "rises from 86 to 174 BPM (1.1 %), mixed in double time" in note


def test_the_description_reports_the_arc_fit_and_artist_repeats_from_the_scorecard() -> None:
    view = sample_set()
    view = SetView(
        view.tracks,
        view.transitions,
        {**view.score, "arc_rmse": 0.84, "same_artist_adjacencies": 2},
        "journey",
        view.duration_s,
    )

    description = LOCAL.annotate(view, None).description

    assert "It follows a journey arc: build, peak, release;" in description
    assert "a typical track sitting 0.8 energy steps off the curve" in description
    assert "The same artist plays twice in a row 2 times." in description


def test_a_mood_word_the_genre_already_says_is_not_repeated_in_the_title() -> None:
    from service.ai.local import _title
    from service.ai.types import SetView, TrackView

    view = SetView(
        tracks=[TrackView("a", "T", "A", 122.0, "8A", 3, "Deep House")],
        transitions=[],
        score={},
        arc="build",
        duration_s=None,
    )
    assert _title(view, ["Deep House"], ["deep"]) == "Deep House Build"
    assert _title(view, ["Deep House"], ["sunrise"]) == "Sunrise Deep House Build"
