"""One duration parser for every length: a track's as tags write it, a set's as a DJ types it."""

from __future__ import annotations

import pytest

from service.dj.values import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("372", 372.0),
        ("372.5", 372.5),
        ("372,5", 372.5),
        (372, 372.0),
        ("6:12", 372.0),
        ("1:02:03", 3723.0),
        ("372s", 372.0),
        ("6m12s", 372.0),
        ("0", None),
        ("", None),
    ],
)
def test_a_tracks_length_counts_bare_numbers_in_seconds(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 5400.0), (90, 5400.0), ("90m", 5400.0), ("1h30m", 5400.0), ("1h 30m", 5400.0),
     ("45min", 2700.0), ("5400s", 5400.0), ("1:30:00", 5400.0), ("90:00", 5400.0)],
)  # fmt: skip
def test_a_sets_length_counts_bare_numbers_in_minutes(text: object, seconds: float) -> None:
    assert parse_duration(text, bare_unit="min") == seconds


@pytest.mark.parametrize("text", ["soon", "1:2:3:4", "90 minutes please", "h"])
def test_text_that_is_no_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
