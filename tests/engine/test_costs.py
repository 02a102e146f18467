"""The transition cost ranks mixes the way a DJ would, and the matrix matches pair by pair."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.dj.costs import CostWeights, cost_matrix, tempo_change_matrix, transition_facts
from service.dj.keys import ALL_KEYS, key_at_tempo, relation
from tests.engine.factories import random_pool, track


def cost(a, b, **weights) -> float:
    return float(cost_matrix([a, b], CostWeights(**weights))[0, 1])


def test_same_key_same_tempo_costs_nothing_and_a_clash_costs_one() -> None:
    assert cost(track("a", key="8A"), track("b", key="8A")) == pytest.approx(0.0)
    assert cost(track("a", key="8A"), track("b", key="2A")) == pytest.approx(1.0)


def test_harmonic_moves_are_cheaper_than_diagonals_and_clashes() -> None:
    a = track("a", key="8A")
    costs = {k: cost(a, track("b", key=k)) for k in ("8A", "9A", "8B", "9B", "10A", "2A")}
    assert costs["8A"] < costs["9A"] < costs["8B"] < costs["9B"] < costs["2A"]
    assert costs["10A"] < costs["2A"]


def test_tempo_is_compared_at_double_and_half_time() -> None:
    a = track("a", bpm=87.0)
    assert tempo_change_matrix([a, track("b", bpm=174.0)])[0, 1] == pytest.approx(0.0)
    assert cost(a, track("b", bpm=174.0)) == pytest.approx(0.0)
    assert cost(track("a", bpm=124), track("b", bpm=126)) < cost(
        track("a", bpm=124), track("b", bpm=132)
    )


def test_without_keylock_a_big_tempo_change_moves_the_key_and_spoils_a_harmonic_pair() -> None:
    a, b = track("a", key="8A", bpm=124.0), track("b", key="8A", bpm=132.0)  # -6 % ≈ one semitone
    facts = transition_facts(a, b)
    assert facts.heard_key == key_at_tempo(b.key, facts.tempo_change_pct)
    assert facts.heard_key != b.key
    assert not facts.harmonic
    locked = transition_facts(a, b, CostWeights(keylock=True))
    assert locked.harmonic
    assert locked.cost < facts.cost


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ALL_KEYS),
    st.sampled_from(ALL_KEYS),
    st.floats(80, 180),
    st.floats(80, 180),
)
def test_the_matrix_hears_the_same_key_as_key_at_tempo(k1, k2, bpm1, bpm2) -> None:
    # The expected key cost is computed here from the BPMs alone: the incoming track is played at
    # the outgoing tempo, folded over ×2/×½, and its key moves with the pitch (no keylock).
    ratio = bpm1 / bpm2
    pitch_pct = (ratio * 2.0 ** -round(math.log2(ratio)) - 1.0) * 100.0
    heard = key_at_tempo(k2, pitch_pct)
    key_only = CostWeights(tempo=0, energy_up=0, energy_drop=0, same_artist=0, genre_change=0)
    a, b = track("a", key=k1.camelot, bpm=bpm1), track("b", key=k2.camelot, bpm=bpm2)

    assert cost_matrix([a, b], key_only)[0, 1] == pytest.approx(relation(k1, heard).cost)


def test_a_detected_key_is_trusted_less_both_ways() -> None:
    good = cost(track("a", key="8A"), track("b", key="8A"))
    bad = cost(track("a", key="8A"), track("b", key="2A"))
    good_detected = cost(track("a", key="8A"), track("b", key="8A", key_source="analysis"))
    bad_detected = cost(track("a", key="8A"), track("b", key="2A", key_source="analysis"))
    assert good < good_detected < bad_detected < bad
    unknown = cost(track("a", key="8A"), track("b", key=None))
    assert good_detected < unknown < bad_detected


def test_energy_drops_cost_more_than_rises_and_small_steps_are_free() -> None:
    at = {e: cost(track("a", energy=5), track("b", energy=e)) for e in (2, 4, 5, 6, 8)}
    assert at[4] == at[5] == at[6] == pytest.approx(0.0)
    assert at[2] > at[8] > 0


def test_same_artist_label_and_genre_changes_are_priced_as_configured() -> None:
    a = track("a", artist="Bicep", label="Ninja Tune", genre="House")
    assert cost(a, track("b", artist="Bicep & Hammer")) == pytest.approx(4.0)
    assert cost(a, track("b", label="ninja tune"), same_label=0.2) == pytest.approx(0.2)
    assert cost(a, track("b", label="Ninja Tune")) == pytest.approx(0.0)
    assert cost(a, track("b", genre="Techno")) == pytest.approx(0.25)
    assert cost(a, track("b", genre="house")) == pytest.approx(0.0)


def test_missing_values_never_break_the_matrix() -> None:
    tracks = [track("a", key=None, bpm=None, energy=None, artist=""), track("b"), track("c")]
    matrix = cost_matrix(tracks)
    assert np.isfinite(matrix).all()
    assert (np.diag(matrix) == 0).all()


def test_the_matrix_of_a_pool_matches_every_pair() -> None:
    pool = random_pool(12, seed=3)
    matrix = cost_matrix(pool)
    for i in range(12):
        for j in range(12):
            if i != j:
                assert matrix[i, j] == pytest.approx(transition_facts(pool[i], pool[j]).cost)


def test_energies_off_the_usual_scale_are_priced_by_the_same_rule() -> None:
    usual = cost(track("a", energy=2), track("b", energy=8))
    assert usual == pytest.approx(0.1 * 5**2)
    odd = [track("a", energy=2), track("b", energy=8), track("c", energy=7.5)]  # not a whole level
    assert cost_matrix(odd)[0, 1] == pytest.approx(usual)
    assert cost_matrix(odd)[2, 0] == pytest.approx(0.15 * 4.5**2)


# -- same artist back to back (issue 20, item 8) ----------------------------------------------------------
def test_the_same_artist_is_not_played_back_to_back_when_a_good_alternative_exists() -> None:
    from service.dj.scorecard import score_order
    from service.dj.sequencing.plan import SetRequest, plan_set

    # Two tracks of one artist are the best match for each other (same key and tempo); the others
    # mix well but a little less so: the set puts something between the two.
    pool = [
        track("a1", artist="Bicep", key="8A", bpm=124.0, energy=5),
        track("a2", artist="Bicep feat. Clara La San", key="8A", bpm=124.0, energy=5),
        track("b", artist="Kölsch", key="9A", bpm=125.0, energy=5),
        track("c", artist="Peggy Gou", key="7A", bpm=123.0, energy=5),
        track("d", artist="Ben Böhmer", key="8B", bpm=124.5, energy=5),
    ]
    planned = plan_set(pool, SetRequest(time_budget_s=0.2))
    assert score_order(list(planned.tracks)).same_artist_adjacencies == 0


def _pools_with_alternatives(count: int) -> list[int]:
    """Seeds of 12-track random pools where no artist has more than a third of the tracks."""
    from collections import Counter

    seeds = (
        s
        for s in range(1000)
        if max(Counter(t.artist for t in random_pool(12, seed=s)).values()) <= 4
    )
    return [next(seeds) for _ in range(count)]


@pytest.mark.parametrize("seed", _pools_with_alternatives(20))
def test_pools_with_alternatives_give_sets_without_an_artist_twice_in_a_row(seed: int) -> None:
    from service.dj.scorecard import score_order
    from service.dj.sequencing.plan import SetRequest, plan_set

    planned = plan_set(random_pool(12, seed=seed), SetRequest(time_budget_s=0.2))
    assert score_order(list(planned.tracks)).same_artist_adjacencies == 0


def test_a_pool_of_one_artist_still_gives_a_set() -> None:
    from service.dj.sequencing.plan import SetRequest, plan_set

    pool = [track(f"t{i}", artist="Solo", key=k) for i, k in enumerate(["8A", "9A", "10A", "11A"])]
    planned = plan_set(pool, SetRequest(time_budget_s=0.2))
    assert sorted(t.id for t in planned.tracks) == ["t0", "t1", "t2", "t3"]


def test_a_detected_keys_confidence_sets_how_far_it_is_trusted() -> None:
    def detected(key: str, confidence: float | None):
        t = track("b", key=key, key_source="analysis")
        return replace(t, confidence={} if confidence is None else {"key": confidence})

    a = track("a", key="8A")
    clash = {c: cost(a, detected("2A", c)) for c in (0.9, 0.5, None, 0.2)}
    match = {c: cost(a, detected("8A", c)) for c in (0.9, 0.5, None, 0.2)}
    assert clash[0.9] > clash[0.5] == clash[None] > clash[0.2]  # a sure clash is avoided more
    assert match[0.9] < match[0.5] == match[None] < match[0.2]  # a sure match is trusted more
    assert cost(a, track("b", key="2A")) > clash[0.9]
