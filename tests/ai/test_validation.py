"""Never trust the model: each kind of bad answer is caught with a reason a person can read."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.ai import InvalidAnswer
from service.ai.validation import parse_brief_answer, parse_notes_answer

from .factories import sample_set
from .fake_servers import load_fixture

GOOD = load_fixture("notes_answer.json")


def parse(answer: object) -> object:
    """Parse an answer for the sample set as if gemini had written it."""
    raw = answer if isinstance(answer, str) else json.dumps(answer)
    return parse_notes_answer(raw, sample_set(), "gemini")


def test_a_good_answer_passes_unchanged() -> None:
    notes = parse(GOOD)

    assert notes.model_dump() == GOOD


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda a: a.update(title=""), "left the title empty"),
        (lambda a: a.update(title="x" * 121), "title of 121 characters (limit 120)"),
        (lambda a: a.update(tags=[f"tag {i}" for i in range(13)]), "13 tags (limit 12)"),
        (lambda a: a.update(tags=["lorem ipsum"]), "placeholder text in the tag"),
        (lambda a: a.update(extra="field"), "does not match the schema: extra"),
        (lambda a: a["transitions"].append(dict(a["transitions"][0])), "two notes for t01 → t02"),
        (lambda a: a["transitions"][0].update(note="  "), "note for t01 → t02 empty"),
        (lambda a: a["transitions"][1].update(note="Blend {track_b} in."), "placeholder"),
        (lambda a: a["transitions"][1].update(from_id="t01"), "t01 → t03"),
        (lambda a: a.update(transitions=[]), "no note for 4 of 4 transitions"),
    ],
)
def test_each_breach_is_named(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    answer = copy.deepcopy(GOOD)
    mutate(answer)

    with pytest.raises(InvalidAnswer, match=None) as caught:
        parse(answer)

    assert reason in str(caught.value)
    assert str(caught.value).startswith("gemini ")


def test_an_empty_answer_is_named_empty() -> None:
    with pytest.raises(InvalidAnswer, match="gemini returned an empty answer"):
        parse("  ")


def test_a_track_title_that_looks_like_a_placeholder_is_not_mistaken_for_one() -> None:
    answer = copy.deepcopy(GOOD)
    view = sample_set()
    tracks = list(view.tracks)
    tracks[0] = type(tracks[0])(**{**tracks[0].__dict__, "title": "Strobe [TBD Remix]"})
    view = type(view)(tracks, view.transitions, view.score, view.arc, view.duration_s)
    answer["transitions"][0]["note"] = "Strobe [TBD Remix] into Opus: 8A to 8B, long blend."

    notes = parse_notes_answer(json.dumps(answer), view, "gemini")

    assert notes.transitions[0].note.startswith("Strobe [TBD Remix]")


def test_a_brief_reading_with_duplicate_words_is_cleaned() -> None:
    raw = json.dumps(
        {
            "duration_min": 90,
            "arc": None,
            "bpm_min": None,
            "bpm_max": None,
            "genres": ["Techno", "techno", " melodic techno "],
            "mood": [],
        }
    )

    params = parse_brief_answer(raw, "litellm")

    assert params.genres == ["Techno", "melodic techno"]


def test_a_brief_reading_with_a_string_for_a_number_is_a_schema_mismatch() -> None:
    raw = json.dumps(
        {
            "duration_min": "two hours",
            "arc": "journey",
            "bpm_min": None,
            "bpm_max": None,
            "genres": [],
            "mood": [],
        }
    )

    with pytest.raises(InvalidAnswer, match="does not match the schema: duration_min"):
        parse_brief_answer(raw, "litellm")


def verdict(parse_answer: Callable[[], object]) -> str:
    """ "accepted", or the reason the answer was refused; any other exception propagates."""
    try:
        parse_answer()
    except InvalidAnswer as exc:
        return str(exc)
    return "accepted"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["title", "description", "transitions", "tags", "from_id", "to_id",
                         "note", "arc", "duration_min", "bpm_min", "bpm_max", "genres", "mood"])
        | st.text(max_size=8),
        children,
        max_size=6,
    ),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(value=_json_values)
def test_whatever_json_a_model_returns_is_judged_never_crashes(value: object) -> None:
    raw = json.dumps(value)
    for parse_answer in (
        lambda: parse_notes_answer(raw, sample_set(), "gemini"),
        lambda: parse_brief_answer(raw, "gemini"),
    ):
        assert verdict(parse_answer).startswith(("accepted", "gemini "))


@settings(max_examples=100, deadline=None)
@given(raw=st.text(max_size=200))
def test_whatever_text_a_model_returns_is_judged_never_crashes(raw: str) -> None:
    assert verdict(lambda: parse_notes_answer(raw, sample_set(), "litellm")).startswith(
        ("accepted", "litellm ")
    )


def test_ids_with_stray_whitespace_still_name_their_tracks() -> None:
    answer = copy.deepcopy(GOOD)
    answer["transitions"][0]["from_id"] = " t01 "

    notes = parse(answer)

    assert notes.transitions[0].from_id == "t01"
