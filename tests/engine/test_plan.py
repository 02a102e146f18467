"""Planning a set from tracks: every constraint holds, the length fits, the arc steers the order."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.dj.costs import tempo_change_matrix
from service.dj.sequencing.plan import SetError, SetRequest, plan_set
from tests.engine.factories import random_pool, track

POOL = random_pool(120, seed=11)
IDS = [t.id for t in POOL]


@st.composite
def requests(draw: st.DrawFn, select: bool) -> SetRequest:
    """Random but satisfiable constraints over POOL."""
    chosen = draw(st.lists(st.sampled_from(IDS), min_size=0, max_size=8, unique=True))
    first = chosen[0] if len(chosen) > 0 and draw(st.booleans()) else None
    last = chosen[1] if len(chosen) > 1 and draw(st.booleans()) else None
    include = tuple(chosen[2:4])
    locked = (chosen[4], chosen[5]) if len(chosen) > 5 and draw(st.booleans()) else None
    exclude = tuple(x for x in draw(st.lists(st.sampled_from(IDS), max_size=10)) if x not in chosen)
    bpm_range = (120.0, 132.0) if draw(st.booleans()) else None
    return SetRequest(
        duration_s=draw(st.sampled_from([45 * 60, 90 * 60])) if select else None,
        arc=draw(st.sampled_from(["journey", "none", "peak-time", "0:3,1:9"])),
        first=first,
        last=last,
        include=include,
        exclude=exclude,
        locked_pairs=(locked,) if locked else (),
        bpm_range=bpm_range,
        max_tempo_step_pct=draw(st.sampled_from([None, 8.0])),
        seed=draw(st.integers(0, 3)),
        time_budget_s=0.05,
    )


def assert_constraints_hold(request: SetRequest, ids: list[str]) -> None:
    by_id = {t.id: t for t in POOL}
    assert len(ids) == len(set(ids))
    if request.first:
        assert ids[0] == request.first
    if request.last:
        assert ids[-1] == request.last
    for x in request.include:
        assert x in ids
    for x in request.exclude:
        assert x not in ids
    named = set(request.include) | {request.first, request.last}
    for a, b in request.locked_pairs:
        assert ids[ids.index(a) + 1] == b
        named |= {a, b}
    if request.bpm_range:
        lo, hi = request.bpm_range
        for x in ids:
            assert x in named or lo <= by_id[x].bpm <= hi
    if request.max_tempo_step_pct:
        locked = set(request.locked_pairs)
        for a, b in itertools.pairwise(ids):
            change = abs(tempo_change_matrix([by_id[a], by_id[b]])[0, 1])
            assert (a, b) in locked or change <= request.max_tempo_step_pct + 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(select=True))
def test_selection_meets_every_constraint_and_the_length(request: SetRequest) -> None:
    planned = plan_set(POOL, request)
    ids = [t.id for t in planned.tracks]
    assert_constraints_hold(request, ids)
    played = sum(t.duration_s for t in planned.tracks) - request.overlap_s * (len(ids) - 1)
    assert request.duration_s * 0.95 <= played <= request.duration_s * 1.05
    assert planned.scorecard.duration_s == pytest.approx(played)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(select=False))
def test_ordering_the_whole_pool_meets_every_constraint(request: SetRequest) -> None:
    planned = plan_set(POOL, request)
    ids = [t.id for t in planned.tracks]
    assert_constraints_hold(request, ids)
    named = (
        set(request.include)
        | {request.first, request.last}
        | set(itertools.chain(*request.locked_pairs))
    )
    expected = {
        t.id
        for t in POOL
        if t.id not in request.exclude
        and (
            request.bpm_range is None
            or request.bpm_range[0] <= t.bpm <= request.bpm_range[1]
            or t.id in named
        )
    }
    assert set(ids) == expected


def test_same_pool_and_seed_give_the_same_set() -> None:
    request = SetRequest(duration_s=60 * 60, arc="journey", seed=4, time_budget_s=0.2)
    assert plan_set(POOL, request).tracks == plan_set(POOL, request).tracks


def test_a_small_pool_is_ordered_exactly() -> None:
    planned = plan_set(POOL[:9], SetRequest(arc="none"))
    assert planned.method == "exact"
    assert planned.optimal


def test_the_arc_puts_low_energy_first_in_a_build() -> None:
    tracks = [track(str(e), key="8A", bpm=124, energy=e) for e in (9, 2, 7, 4, 5, 8, 3, 6)]
    planned = plan_set(tracks, SetRequest(arc="build"))
    energies = [t.energy for t in planned.tracks]
    assert energies == sorted(energies)
    cooled = plan_set(tracks, SetRequest(arc="cool-down"))
    assert [t.energy for t in cooled.tracks] == sorted(energies, reverse=True)


def test_unknown_ids_and_contradictions_are_refused_with_a_reason() -> None:
    with pytest.raises(SetError, match="nope"):
        plan_set(POOL, SetRequest(first="nope"))
    with pytest.raises(SetError, match="required and excluded"):
        plan_set(POOL, SetRequest(include=(IDS[0],), exclude=(IDS[0],)))
    with pytest.raises(SetError, match="loop"):
        plan_set(POOL, SetRequest(locked_pairs=((IDS[0], IDS[1]), (IDS[1], IDS[0]))))
    with pytest.raises(SetError, match="longer than"):
        plan_set(POOL, SetRequest(duration_s=10 * 60, include=tuple(IDS[:5])))
    with pytest.raises(SetError, match="shorter than"):
        plan_set(POOL[:3], SetRequest(duration_s=120 * 60))


def test_an_impossible_tempo_limit_is_reported_not_ignored() -> None:
    tracks = [track("a", bpm=124), track("b", bpm=150), track("c", bpm=174.5)]
    with pytest.raises(SetError, match="tempo step"):
        plan_set(tracks, SetRequest(max_tempo_step_pct=3.0))


def test_tracks_without_duration_count_as_six_minutes() -> None:
    tracks = [track(f"x{i}", duration_s=None, energy=5) for i in range(30)]
    planned = plan_set(tracks, SetRequest(duration_s=30 * 60, overlap_s=0))
    assert len(planned.tracks) == 5


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 30),
    st.integers(0, 10_000),
    st.integers(5, 150),
    st.sampled_from(["journey", "none", "warm-up"]),
    st.booleans(),
)
def test_any_pool_and_length_give_a_fitting_set_or_a_reason(
    n: int, seed: int, minutes: int, arc: str, pin: bool
) -> None:
    pool = random_pool(n, seed)
    request = SetRequest(
        duration_s=minutes * 60,
        arc=arc,
        first=pool[0].id if pin else None,
        last=pool[-1].id if pin and n > 1 else None,
        seed=seed,
        time_budget_s=0.02,
    )
    try:
        planned = plan_set(pool, request)
    except SetError as exc:
        reason = str(exc)
        assert "min" in reason or "track" in reason, reason  # says what does not fit
        return
    played = sum(t.duration_s for t in planned.tracks) - request.overlap_s * (
        len(planned.tracks) - 1
    )
    assert minutes * 60 * 0.95 <= played <= minutes * 60 * 1.05
    assert len({t.id for t in planned.tracks}) == len(planned.tracks)
    if pin:
        assert planned.tracks[0].id == pool[0].id
        if n > 1:
            assert planned.tracks[-1].id == pool[-1].id


def test_a_pool_of_short_clips_never_gives_a_negative_set_length() -> None:
    pool = [track(f"c{i}", duration_s=12.0, bpm=120.0 + i) for i in range(10)]
    planned = plan_set(pool, SetRequest(arc="journey"))
    assert planned.scorecard.duration_s > 0
    assert planned.scorecard.duration_s >= 12.0 * 10 / 2
