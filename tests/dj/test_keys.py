"""Keys: a table of real strings from real sources, round trips through every notation, relations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.dj.keys import (
    ALL_KEYS,
    Key,
    KeyParseError,
    KeyRelation,
    key_at_tempo,
    parse_key,
    relation,
    semitones_for_tempo,
)

# (text as found in the wild, where it is found, expected Camelot)
REAL_STRINGS = [
    ("8A", "Mixed In Key / rekordbox (Camelot setting)", "8A"),
    ("08A", "Mixed In Key with leading zero", "8A"),
    ("8a", "hand-typed", "8A"),
    ("12B", "Camelot", "12B"),
    ("Am", "rekordbox Tonality, ID3 TKEY", "8A"),
    ("A minor", "Beatport name", "8A"),
    ("A Minor", "Beatport key.name", "8A"),
    ("Amin", "Traktor display", "8A"),
    ("a", "classical lower-case = minor", "8A"),
    ("A", "classical upper-case = major", "11B"),
    ("A#m", "Serato", "3A"),
    ("Bbm", "rekordbox", "3A"),
    ("B♭m", "iTunes / Unicode flat", "3A"),
    ("A♯m", "Unicode sharp", "3A"),
    ("F#", "rekordbox major", "2B"),
    ("Gb", "enharmonic of F#", "2B"),
    ("C", "major", "8B"),
    ("C major", "Beatport", "8B"),
    ("Cmaj", "abbreviated", "8B"),
    ("Ebm", "flat minor", "2A"),
    ("D#m", "enharmonic of Ebm", "2A"),
    ("Abm", "1A", "1A"),
    ("G#m", "1A enharmonic", "1A"),
    ("B", "1B", "1B"),
    ("C#m", "12A", "12A"),
    ("Dbm", "12A enharmonic", "12A"),
    ("E", "12B", "12B"),
    ("1m", "Open Key / Traktor", "8A"),
    ("1d", "Open Key", "8B"),
    ("10d", "Open Key", "5B"),
    ("6m", "Open Key", "1A"),
    ("0", "Traktor MUSICAL_KEY (C)", "8B"),
    ("12", "Traktor MUSICAL_KEY (Cm)", "5A"),
    ("21", "Traktor MUSICAL_KEY (Am)", "8A"),
    ("23", "Traktor MUSICAL_KEY (Bm)", "10A"),
    (" 8A ", "padded", "8A"),
    ("A-moll", "German", "8A"),
    ("Fis", "German F♯", "2B"),
]


@pytest.mark.parametrize(("text", "where", "camelot"), REAL_STRINGS)
def test_real_key_strings(text: str, where: str, camelot: str) -> None:
    assert parse_key(text).camelot == camelot, where


def test_facts_anchor_points() -> None:
    assert parse_key("8A").name == "Am"
    assert parse_key("8B").name == "C"
    assert parse_key("1A").name == "Abm"
    assert parse_key("1B").name == "B"
    assert parse_key("12A").name == "C#m"
    assert parse_key("12B").name == "E"
    assert parse_key("Am").open_key == "1m"
    assert parse_key("C").open_key == "1d"


def test_traktor_int_and_beatport_object() -> None:
    assert parse_key(21) == Key(9, minor=True)
    beatport = {"id": 12, "name": "A Minor", "camelot_number": 8, "camelot_letter": "A"}
    assert parse_key(beatport).camelot == "8A"
    assert parse_key({"name": "G♭ Major"}).camelot == "2B"


@pytest.mark.parametrize("bad", ["xyz", "13A", "0A", "H", "8C", "24", "", "o", "Am/Em", "Energy 6"])
def test_unknown_text_names_itself(bad: str) -> None:
    with pytest.raises(KeyParseError) as caught:
        parse_key(bad)
    assert repr(bad) in str(caught.value)


@pytest.mark.parametrize(
    "bad", [24, -1, True, None, 3.5, {"camelot_number": 13, "camelot_letter": "A"}]
)
def test_unknown_values_raise(bad: object) -> None:
    with pytest.raises(KeyParseError):
        parse_key(bad)


def test_key_parse_error_is_a_value_error() -> None:
    assert issubclass(KeyParseError, ValueError)


NOTATIONS = {
    "camelot": lambda k: k.camelot,
    "camelot leading zero": lambda k: f"{k.camelot_number:02d}{k.camelot_letter}",
    "camelot lower": lambda k: k.camelot.lower(),
    "open key": lambda k: k.open_key,
    "name": lambda k: k.name,
    "name unicode": lambda k: (
        k.name.replace("#", "♯").replace("b", "♭") if len(k.name) > 1 else k.name
    ),
    "name words": lambda k: f"{k.name.rstrip('m')} {'minor' if k.minor else 'major'}",
    "name min/maj": lambda k: f"{k.name.rstrip('m')}{'min' if k.minor else 'maj'}",
    "classical case": lambda k: k.name.rstrip("m").lower() if k.minor else k.name,
    "traktor int": lambda k: k.traktor,
    "traktor text": lambda k: str(k.traktor),
    "beatport object": lambda k: {
        "camelot_number": k.camelot_number,
        "camelot_letter": k.camelot_letter,
    },
    "beatport name": lambda k: {"name": f"{k.name.rstrip('m')} {'Minor' if k.minor else 'Major'}"},
}


@given(st.sampled_from(ALL_KEYS), st.sampled_from(sorted(NOTATIONS)))
def test_every_key_survives_every_notation(key: Key, notation: str) -> None:
    assert parse_key(NOTATIONS[notation](key)) == key


@given(st.sampled_from(ALL_KEYS))
def test_renderings_are_consistent(key: Key) -> None:
    assert Key.from_camelot(key.camelot_number, key.camelot_letter) == key
    assert Key.from_traktor(key.traktor) == key
    assert key.to_json() == {"camelot": key.camelot, "open_key": key.open_key, "name": key.name}


def test_all_keys_distinct_in_every_notation() -> None:
    for render in ("camelot", "open_key", "name", "traktor"):
        assert len({getattr(k, render) for k in ALL_KEYS}) == 24


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("8A", "8A", KeyRelation.SAME),
        ("8A", "9A", KeyRelation.ADJACENT),
        ("8A", "7A", KeyRelation.ADJACENT),
        ("12A", "1A", KeyRelation.ADJACENT),
        ("8A", "8B", KeyRelation.RELATIVE),
        ("8B", "8A", KeyRelation.RELATIVE),
        ("8A", "9B", KeyRelation.DIAGONAL),
        ("8A", "7B", KeyRelation.DIAGONAL),
        ("8A", "10A", KeyRelation.ENERGY_BOOST),
        ("11B", "1B", KeyRelation.ENERGY_BOOST),
        ("8A", "6A", KeyRelation.CLASH),  # −2 is not a boost
        ("8A", "3A", KeyRelation.SEMITONE),  # +7 = one semitone up (Am → Bbm)
        ("8A", "1A", KeyRelation.SEMITONE),  # −7 = one semitone down (Am → Abm)
        ("8A", "2B", KeyRelation.CLASH),
        ("8A", "4A", KeyRelation.CLASH),
    ],
)
def test_relations(a: str, b: str, expected: KeyRelation) -> None:
    assert relation(parse_key(a), parse_key(b)) is expected


def test_relation_costs_and_names() -> None:
    assert KeyRelation.SAME.cost == 0
    assert KeyRelation.CLASH.cost == 1
    costs = [r.cost for r in KeyRelation]
    assert costs == sorted(costs)  # declared from best to worst
    assert {r for r in KeyRelation if r.harmonic} == {
        KeyRelation.SAME,
        KeyRelation.ADJACENT,
        KeyRelation.RELATIVE,
    }
    assert KeyRelation.RELATIVE.value == "relative"
    assert KeyRelation.ENERGY_BOOST.value == "energy boost +2"


def test_semitone_relation_matches_a_semitone_transposition() -> None:
    for key in ALL_KEYS:
        assert relation(key, key.transposed(1)) is KeyRelation.SEMITONE
        assert relation(key, key.transposed(-1)) is KeyRelation.SEMITONE


@pytest.mark.parametrize(
    ("percent", "camelot"),
    [(0, "8A"), (2.9, "8A"), (-2.8, "8A"), (6, "3A"), (-6, "1A"), (12.25, "10A"), (-10.91, "6A")],
)
def test_key_at_tempo(percent: float, camelot: str) -> None:
    assert key_at_tempo(parse_key("8A"), percent).camelot == camelot


def test_semitones_for_tempo() -> None:
    assert semitones_for_tempo(0) == 0
    assert semitones_for_tempo(3) < 0.52
    assert semitones_for_tempo(100) == pytest.approx(12)
    with pytest.raises(ValueError, match="above -100"):
        semitones_for_tempo(-100)


@given(st.sampled_from(ALL_KEYS), st.floats(min_value=-2.8, max_value=2.9))
def test_small_tempo_changes_keep_the_key(key: Key, percent: float) -> None:
    assert key_at_tempo(key, percent) == key


@given(st.sampled_from(ALL_KEYS), st.floats(min_value=5.5, max_value=8.0), st.booleans())
def test_about_six_percent_is_a_semitone_change(key: Key, percent: float, slower: bool) -> None:
    heard = key_at_tempo(key, -percent if slower else percent)
    assert heard == key.transposed(-1 if slower else 1)
    assert relation(key, heard) is KeyRelation.SEMITONE
