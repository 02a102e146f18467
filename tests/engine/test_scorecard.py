"""The scorecard counts what a DJ would count and tells how to mix each transition."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.dj.arcs import PRESETS, ArcError, arc_rmse, parse_arc
from service.dj.costs import cost_matrix
from service.dj.scorecard import TECHNIQUES, score_order
from tests.engine.factories import track


def hand_made_set() -> list:
    return [
        track("a", key="8A", bpm=124.0, energy=4, artist="One", duration_s=300),
        track("b", key="9A", bpm=125.0, energy=5, artist="Two", duration_s=300),  # ±1, +0.8 %
        track("c", key="9B", bpm=125.0, energy=6, artist="Two", duration_s=300),  # relative, same
        track("d", key="3B", bpm=125.0, energy=9, artist="Three", duration_s=300),  # clash
        track("e", key=None, bpm=130.0, energy=8, artist="Four", duration_s=300),  # key unknown
    ]


def test_set_figures_count_harmonic_clash_tempo_artist_and_arc() -> None:
    tracks = hand_made_set()
    card = score_order(tracks, arc=PRESETS["build"], overlap_s=30)
    assert card.tracks == 5
    assert card.transitions_count == 4
    assert card.duration_s == 5 * 300 - 4 * 30
    assert card.unknown_key_transitions == 1
    assert card.harmonic_ok_pct == pytest.approx(200 / 3)
    assert card.clash_pct == pytest.approx(100 / 3)
    changes = [100 * (1 - 124 / 125), 0.0, 0.0, 100 * (1 - 125 / 130)]
    assert card.mean_tempo_change_pct == pytest.approx(sum(changes) / 4)
    assert card.max_tempo_change_pct == pytest.approx(changes[-1])
    assert card.within_3pct_share == pytest.approx(0.75)
    assert card.same_artist_adjacencies == 1
    # each track is measured at the middle of its time on the floor: 5 equal tracks at 0.1 … 0.9
    where = [0.1, 0.3, 0.5, 0.7, 0.9]
    assert card.arc_rmse == pytest.approx(arc_rmse([4, 5, 6, 9, 8], PRESETS["build"], where))
    matrix = cost_matrix(tracks)
    assert card.total_cost == pytest.approx(sum(matrix[k, k + 1] for k in range(4)))
    assert card.objective > card.total_cost


def test_each_transition_names_its_relation_tempo_energy_and_a_tip() -> None:
    card = score_order(hand_made_set())
    first, second, third, fourth = card.transitions
    assert (first.from_id, first.to_id) == ("a", "b")
    assert first.relation == "±1"
    assert first.harmonic
    assert first.energy_change == 1
    assert first.tip.startswith("long blend")
    assert "pitch the next track -0.8 % to 124.0 BPM" in first.tip
    assert second.relation == "relative"
    assert "no pitch change" in second.tip
    assert third.tip.startswith("cut")
    assert fourth.relation is None
    assert "key or tempo unknown" in fourth.tip


def test_tips_cover_echo_out_and_double_time() -> None:
    echo = score_order([track("a", bpm=124.0), track("b", bpm=133.0, key="8A")]).transitions[0]
    assert echo.tip.startswith("echo out")
    double = score_order([track("a", bpm=87.0), track("b", bpm=172.0)]).transitions[0]
    assert "double-time" in double.tip or "half-time" in double.tip
    far = score_order([track("a", bpm=100.0), track("b", bpm=125.0)]).transitions[0]
    assert far.tip.startswith("cut on the downbeat")


def test_an_empty_or_single_track_set_scores_without_error() -> None:
    assert score_order([]).transitions_count == 0
    card = score_order([track("a")])
    assert card.harmonic_ok_pct is None
    assert card.total_cost == 0


def test_arcs_parse_presets_and_custom_points() -> None:
    assert parse_arc("journey") is PRESETS["journey"]
    assert parse_arc("none") is None
    custom = parse_arc("1:5, 0:3, 0.5:9")
    assert custom.points == ((0.0, 3.0), (0.5, 9.0), (1.0, 5.0))
    assert list(custom.targets(3)) == [3.0, 9.0, 5.0]
    journey = PRESETS["journey"].targets(11)
    assert journey.argmax() == 7  # the peak sits at 70 %
    for bad in ("sunrise", "0:3", "2:5,1:4", "0:a,1:2"):
        with pytest.raises(ArcError):
            parse_arc(bad)


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(
        st.sampled_from(["8A", "8B", "9A", "3A", "2B", "11A", None]), min_size=2, max_size=2
    ),
    bpms=st.lists(st.one_of(st.none(), st.floats(60, 180)), min_size=2, max_size=2),
)
def test_every_transition_names_the_technique_its_tip_describes(keys, bpms) -> None:
    a, b = (
        track(str(i), key=k, bpm=bpm) for i, (k, bpm) in enumerate(zip(keys, bpms, strict=True))
    )
    report = score_order([a, b]).transitions[0]
    assert report.technique in TECHNIQUES
    words = {
        "long_blend": "long blend",
        "short_blend": "short blend",
        "echo_out": "echo out",
        "cut": "cut",
    }
    assert report.tip.startswith(words[report.technique])
    assert report.to_json()["technique"] == report.technique
