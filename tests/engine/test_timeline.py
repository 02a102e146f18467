"""One clock for the whole engine: a set's length is never negative, selection, plan, scorecard and
command line agree on it, and the arc measures each track where it plays in time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.dj.arcs import arc_costs
from service.dj.scorecard import score_order
from service.dj.sequencing.plan import SetRequest, plan_set
from service.dj.timeline import (
    DEFAULT_TRACK_S,
    durations,
    floor_s,
    progress,
    set_length_s,
    start_times_s,
)
from tests.engine.factories import random_pool, track

seconds = st.lists(st.floats(0.5, 1200.0), min_size=1, max_size=40)


@given(seconds, st.floats(0.0, 120.0))
def test_a_set_is_never_shorter_than_half_its_tracks_nor_longer_than_all_of_them(
    lengths: list[float], overlap: float
) -> None:
    played = set_length_s(np.array(lengths), overlap)
    assert 0.5 * sum(lengths) - 1e-6 <= played <= sum(lengths) + 1e-6


@given(st.lists(st.floats(90.0, 900.0), min_size=1, max_size=40))
def test_club_tracks_overlap_by_the_full_mix(lengths: list[float]) -> None:
    played = set_length_s(np.array(lengths), 45.0)
    assert played == pytest.approx(sum(lengths) - 45.0 * (len(lengths) - 1))


def test_a_pool_of_short_loops_plays_half_of_each_loop_and_all_of_the_last() -> None:
    loops = np.full(200, 8.0)
    assert set_length_s(loops) == pytest.approx(200 * 4.0 + 4.0)
    assert set_length_s(np.array([])) == 0.0


def test_a_track_starts_when_the_tracks_before_it_have_held_the_floor() -> None:
    lengths = np.array([300.0, 60.0, 400.0])
    assert start_times_s(lengths).tolist() == [0.0, 255.0, 285.0]
    # progress is the middle of each track's floor time over the set's floor time
    floors = floor_s(lengths)
    assert progress(lengths) == pytest.approx((np.cumsum(floors) - floors / 2) / floors.sum())
    assert durations([track("a", duration_s=None), track("b", duration_s=0)]).tolist() == [
        DEFAULT_TRACK_S,
        DEFAULT_TRACK_S,
    ]


def test_a_long_track_moves_the_clock_further_than_a_short_one() -> None:
    short_first = start_times_s(np.array([120.0, 600.0, 300.0]))
    long_first = start_times_s(np.array([600.0, 120.0, 300.0]))
    assert long_first[1] > short_first[1]  # after a long opener the next track comes later
    assert long_first[2] == short_first[2]  # the third starts when both have played, either way
    assert progress(np.array([600.0, 120.0]))[1] > progress(np.array([120.0, 600.0]))[1]


def test_the_scorecard_reports_the_length_and_arc_the_planner_optimised() -> None:
    pool = random_pool(60, seed=9)
    for request in (
        SetRequest(arc="journey", time_budget_s=0.05),
        SetRequest(duration_s=45 * 60, arc="build", time_budget_s=0.05),
    ):
        planned = plan_set(pool, request)
        card = planned.scorecard
        lengths = durations(planned.tracks)
        assert card.duration_s == pytest.approx(set_length_s(lengths))
        arc = arc_costs([t.energy for t in planned.tracks], progress(lengths), planned.arc)
        assert planned.objective == pytest.approx(card.total_cost + arc.sum())
        assert card.objective == pytest.approx(planned.objective)


def test_selection_fits_the_window_on_the_same_clock_with_short_clips_in_the_pool() -> None:
    pool = [*random_pool(40, seed=3), *(track(f"loop{i}", duration_s=10.0) for i in range(20))]
    planned = plan_set(pool, SetRequest(duration_s=60 * 60, time_budget_s=0.1))
    played = planned.scorecard.duration_s
    assert 0.95 * 3600 <= played <= 1.05 * 3600
    assert played == pytest.approx(score_order(planned.tracks).duration_s)
