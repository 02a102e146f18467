"""The local provider writes readable, specific, deterministic notes from the scorecard."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings

from service.ai import LocalProvider, SetView, TrackView
from service.ai.local_notes import set_title
from service.ai.validation import LIMITS, check_notes
from service.dj.keys import KeyRelation

from .factories import engine_view, sample_set, set_views

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
    assert "the tempo drops from 128 to 126 BPM (1.6 %)" in first
    assert "from 5 to 7" in first
    assert "Tip: long blend (32 bars); pitch the next track +1.6 % to 128.0 BPM." in first


def test_a_clash_is_called_a_clash_and_the_tip_kept() -> None:
    clash = LOCAL.annotate(sample_set(), None).transitions[2].note

    assert "9B and 4A clash" in clash
    assert "cut on a phrase boundary" in clash  # the engine's tip


def test_the_title_names_the_genre_arc_and_length() -> None:
    title = LOCAL.annotate(sample_set(), None).title

    assert title == "Progressive House & Melodic House Journey · 32 min"


def test_the_description_gives_opener_closer_and_harmonic_share() -> None:
    description = LOCAL.annotate(sample_set(), None).description

    assert "5-track set of about 32 minutes" in description
    assert "opens with deadmau5 – Strobe (8A, 128 BPM, energy 5)" in description
    assert "closes with ODESZA – Sun Models (4A, 122 BPM, energy 3)" in description
    assert "3 of 4 transitions with known keys are harmonic" in description
    assert "and 1 clashes" in description
    assert "against the journey arc asked for" in description


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
    note = LOCAL.annotate(engine_view(tracks), None).transitions[0].note

    assert note.startswith("Someone – Known into track b:")
    assert "the key of one track is unknown" in note
    assert "the tempo of one track is unknown, so beatmatch by ear" in note
    assert "holds" not in note and "None" not in note


def test_an_empty_set_gets_a_title_and_a_description() -> None:
    notes = LOCAL.annotate(SetView([], [], {}, None, None), None)

    assert notes.title and notes.description
    assert notes.transitions == []


@pytest.mark.parametrize(
    ("key_b", "relation", "words"),
    [
        ("8A", KeyRelation.SAME, "both sit in 8A"),
        ("9A", KeyRelation.ADJACENT, "8A to 9A is one step round the Camelot wheel"),
        ("7A", KeyRelation.ADJACENT, "8A to 7A is one step round the Camelot wheel"),
        ("8B", KeyRelation.RELATIVE, "8A to 8B is the relative key"),
        ("9B", KeyRelation.DIAGONAL, "8A to 9B is a diagonal move"),
        ("10A", KeyRelation.ENERGY_BOOST, "8A to 10A jumps two steps up the wheel"),
        # the boost is a move upward only: two steps down is the engine's clash, and the notes agree
        ("6A", KeyRelation.CLASH, "8A and 6A clash"),
        ("3A", KeyRelation.SEMITONE, "8A to 3A is a one-semitone key change"),
        ("2B", KeyRelation.CLASH, "8A and 2B clash"),
    ],
)
def test_each_key_move_is_named_as_the_engine_rates_it(
    key_b: str, relation: KeyRelation, words: str
) -> None:
    tracks = [
        TrackView("a", "One", "X", 124.0, "8A", 5, None),
        TrackView("b", "Two", "Y", 124.0, key_b, 5, None),
    ]
    view = engine_view(tracks)

    assert view.transitions[0].relation is relation
    assert words in LOCAL.annotate(view, None).transitions[0].note


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


def test_a_key_moved_by_the_tempo_change_is_explained() -> None:
    tracks = [
        TrackView("a", "Low", "X", 120.0, "8A", 5, None),
        TrackView("b", "High", "Y", 127.5, "8A", 6, None),
    ]
    # same written key, but slowed 5.9 % without keylock it sounds a semitone lower
    view = engine_view(tracks)

    note = LOCAL.annotate(view, None).transitions[0].note

    assert view.transitions[0].relation is KeyRelation.SEMITONE
    assert "8A to 8A becomes a one-semitone change once the -5.9 % pitch change moves" in note


def test_a_move_into_double_time_is_named() -> None:
    tracks = [
        TrackView("a", "Halftime", "X", 86.0, "5A", 5, "Drum and Bass"),
        TrackView("b", "Roller", "Y", 174.0, "5A", 7, "Drum and Bass"),
    ]
    note = LOCAL.annotate(engine_view(tracks), None).transitions[0].note

    assert "the tempo goes from 86 to 174 BPM, the incoming track counted half-time" in note
    assert "counted half-time" in note.split("Tip:")[1]  # the engine's tip says the same


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

    assert "against the journey arc asked for, a typical track sits 0.8 energy steps" in description
    assert "The same artist plays twice in a row 2 times." in description


def test_a_mood_word_the_genre_already_says_is_not_repeated_in_the_title() -> None:
    view = SetView(
        tracks=[TrackView("a", "T", "A", 122.0, "8A", 3, "Deep House")],
        transitions=[],
        score={},
        arc="build",
        duration_s=None,
    )
    assert set_title(view, ["Deep House"], ["deep"]) == "Deep House Build"
    assert set_title(view, ["Deep House"], ["sunrise"]) == "Sunrise Deep House Build"


@settings(max_examples=150, deadline=None)
@given(view=set_views())
def test_every_note_quotes_the_engines_tempo_and_key_facts(view: SetView) -> None:
    notes = LOCAL.annotate(view, None)

    for transition, written in zip(view.transitions, notes.transitions, strict=True):
        note = written.note.split(" Tip: ")[0]
        pct = transition.tempo_change_pct
        if pct is None:
            assert "unknown, so beatmatch by ear" in note
            assert "the tempo holds" not in note
        elif transition.tempo_factor in (2.0, 0.5):
            assert "counted double-time" in note or "counted half-time" in note
        elif round(pct, 1) == 0:
            assert "the tempo holds at" in note
        else:
            # + is the incoming track sped up to meet a faster outgoing one: the set slows down
            direction = "drops" if pct > 0 else "rises"
            assert f"the tempo {direction} from" in note
            assert f"BPM ({abs(pct):.1f} %)" in note
        if transition.relation is None:
            assert "is unknown, so check the blend by ear first" in note


@settings(max_examples=150, deadline=None)
@given(view=set_views())
def test_the_description_quotes_the_scorecard(view: SetView) -> None:
    description = LOCAL.annotate(view, None).description

    if view.tracks and view.duration_s:
        minutes = round(view.duration_s / 60)
        assert f"of about {minutes} {'minute' if minutes == 1 else 'minutes'}" in description
    mean = view.score.get("mean_tempo_change_pct")
    if view.tracks and mean is not None:
        assert f"Tempo changes average {abs(mean):.1f} %" in description
    keyed = [t for t in view.transitions if t.relation is not None]
    share = view.score.get("harmonic_ok_pct")
    if keyed and share is not None:
        harmonic = round(share * len(keyed) / 100)
        assert f"{harmonic} of {len(keyed)} transitions with known keys" in description


@pytest.mark.parametrize(
    ("energies", "shape"),
    [
        ([3, 4, 5, 6, 7, 8, 9], "climbs"),
        ([9, 8, 7, 5, 4, 3], "falls"),
        ([3, 5, 8, 9, 7, 4], "builds to a peak and releases"),
        ([6, 6, 6, 6], "holds level"),
    ],
)
def test_the_energy_words_follow_the_energies_not_the_arc_asked_for(
    energies: list[int], shape: str
) -> None:
    tracks = [
        TrackView(f"t{i}", f"Track {i}", "X", 126.0, "8A", energy, None)
        for i, energy in enumerate(energies)
    ]

    description = LOCAL.annotate(engine_view(tracks, "peak-time"), None).description

    assert f"Energy {shape}, from {min(energies)} to {max(energies)}" in description
    assert "high and steady" not in description


def test_tracks_without_an_energy_are_counted_not_skipped_silently() -> None:
    tracks = [
        TrackView("a", "A", "X", 126.0, "8A", 4, None),
        TrackView("b", "B", "Y", 126.0, "8A", None, None),
        TrackView("c", "C", "Z", 126.0, "8A", 6, None),
    ]

    description = LOCAL.annotate(engine_view(tracks), None).description

    assert "(1 track has no energy value)" in description


def test_a_one_minute_set_is_one_minute() -> None:
    tracks = [TrackView("a", "A", "X", 126.0, "8A", 4, None)]

    description = LOCAL.annotate(engine_view(tracks, durations=[62.0]), None).description

    assert "of about 1 minute," in description or "of about 1 minute." in description
