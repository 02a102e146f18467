"""The scorecard of a played order: how well it mixes, in numbers a DJ can check, and how to mix it.

Set-level figures: played length on the set's clock (:mod:`service.dj.timeline`, the same length the
planner fits), total transition cost (and the objective including the arc), harmonic-OK share
(same key, ±1, relative, judged on the key as heard at the outgoing tempo), clash share, mean and
maximum tempo change, share of transitions within 3 % (under half a semitone without keylock), arc
RMSE in energy levels (each track measured where it plays on the set's clock), and same-artist
adjacencies. Shares are over the transitions where the facts
are known (both keys, both BPMs); the counts of unknown ones are reported beside them.

Per transition: the relation's name, the tempo change, the energy change, the mixing technique
(long or short blend, echo out, cut: what the mix renderer plays) and a tip saying it with the pitch
adjustment to use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from service.dj.arcs import DEFAULT_ARC_WEIGHT, Arc, arc_costs, arc_rmse
from service.dj.costs import CostWeights, TransitionFacts, transitions_along
from service.dj.timeline import DEFAULT_OVERLAP_S, durations, progress, set_length_s
from service.dj.tracks import Track

__all__ = [
    "TECHNIQUES",
    "Scorecard",
    "TransitionReport",
    "mixing_technique",
    "mixing_tip",
    "score_order",
]

#: The ways a transition is mixed, as :func:`mixing_technique` names them.
TECHNIQUES = ("long_blend", "short_blend", "echo_out", "cut")

#: Tempo change under which a long blend stays in key without keylock (< half a semitone).
SMOOTH_TEMPO_PCT = 3.0
#: About one semitone: beyond it a blend is out of key and out of groove.
SEMITONE_TEMPO_PCT = 6.0
#: Beyond this, beatmatching is impractical: cut.
CUT_TEMPO_PCT = 12.0


@dataclass(frozen=True)
class TransitionReport:
    """One transition as the scorecard, the exports and the AI notes see it."""

    from_id: str
    to_id: str
    relation: str | None  # the relation's human name ("relative"), None when a key is unknown
    relation_kind: str | None  # the engine's ``KeyRelation`` name ("RELATIVE"), the one to test
    harmonic: bool | None
    tempo_change_pct: float | None
    tempo_factor: float | None  # ×1, ×2 (incoming counted double-time) or ×½; None if unknown
    energy_change: int | None
    technique: str  # one of TECHNIQUES: how the tip says to mix it
    tip: str
    cost: float

    def to_json(self) -> dict[str, object]:
        """Plain JSON, tempo rounded to 0.01 %."""
        out = asdict(self)
        if self.tempo_change_pct is not None:
            out["tempo_change_pct"] = round(self.tempo_change_pct, 2)
        out["cost"] = round(self.cost, 4)
        return out


@dataclass(frozen=True)
class Scorecard:
    """Set-level figures plus one report per transition."""

    tracks: int
    transitions_count: int
    duration_s: float | None
    total_cost: float
    objective: float
    harmonic_ok_pct: float | None
    clash_pct: float | None
    unknown_key_transitions: int
    mean_tempo_change_pct: float | None
    max_tempo_change_pct: float | None
    within_3pct_share: float | None
    unknown_tempo_transitions: int
    arc: str | None
    arc_rmse: float | None
    same_artist_adjacencies: int
    transitions: tuple[TransitionReport, ...]

    def summary(self) -> dict[str, float | int | str | None]:
        """The set-level figures only (what the AI layer's ``SetView.score`` takes)."""
        out = {k: v for k, v in asdict(self).items() if k != "transitions"}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}

    def to_json(self) -> dict[str, object]:
        """Figures plus per-transition reports."""
        out: dict[str, object] = dict(self.summary())
        out["transitions"] = [t.to_json() for t in self.transitions]
        return out


def mixing_technique(facts: TransitionFacts) -> str:
    """How to mix the transition: one of :data:`TECHNIQUES` (the renderer plays it so)."""
    size = abs(facts.tempo_change_pct) if facts.tempo_change_pct is not None else None
    if size is None or facts.relation is None:
        return "short_blend"
    if size > CUT_TEMPO_PCT or facts.clash:
        return "cut"
    if (
        size > SEMITONE_TEMPO_PCT
        or facts.relation_kind == "SEMITONE"
        or (facts.harmonic is False and size > SMOOTH_TEMPO_PCT)
    ):
        return "echo_out"
    if facts.harmonic and size <= SMOOTH_TEMPO_PCT:
        return "long_blend"
    return "short_blend"


def mixing_tip(facts: TransitionFacts, outgoing_bpm: float | None) -> str:
    """A one-line instruction: blend length or cut/echo out, and the pitch adjustment to use."""
    change = facts.tempo_change_pct
    size = abs(change) if change is not None else None
    technique = mixing_technique(facts)
    if size is None or facts.relation is None:
        kind = "short blend (8–16 bars), check by ear: key or tempo unknown"
    elif technique == "cut":
        kind = ("cut on the downbeat: the tempos are too far apart to beatmatch" if size > CUT_TEMPO_PCT
                else "cut on a phrase boundary: the keys clash")  # fmt: skip
    elif technique == "echo_out":
        kind = "echo out the outgoing track, then drop the next one clean"
    elif technique == "long_blend":
        kind = "long blend (32 bars)"
    else:
        kind = "short blend (8–16 bars)"
    if change is None or outgoing_bpm is None or size is None or size > CUT_TEMPO_PCT:
        return kind
    if abs(change) < 0.05:
        pitch = "no pitch change"
    else:
        counted = ""
        if facts.tempo_factor == 2.0:
            counted = ", counted double-time"
        elif facts.tempo_factor == 0.5:
            counted = ", counted half-time"
        pitch = f"pitch the next track {change:+.1f} % to {outgoing_bpm:.1f} BPM{counted}"
    return f"{kind}; {pitch}"


def score_order(
    tracks: Sequence[Track],
    *,
    weights: CostWeights | None = None,
    arc: Arc | None = None,
    arc_weight: float = DEFAULT_ARC_WEIGHT,
    overlap_s: float = DEFAULT_OVERLAP_S,
) -> Scorecard:
    """The scorecard of ``tracks`` played in the order given.

    ``duration_s`` is the set's length on its clock, None when a track's duration is unknown.
    """
    w = weights or CostWeights()
    n = len(tracks)
    facts_list = transitions_along(tracks, w)
    reports = [
        TransitionReport(
            from_id=a.id,
            to_id=b.id,
            relation=facts.relation,
            relation_kind=facts.relation_kind,
            harmonic=facts.harmonic,
            tempo_change_pct=facts.tempo_change_pct,
            tempo_factor=facts.tempo_factor,
            energy_change=facts.energy_change,
            technique=mixing_technique(facts),
            tip=mixing_tip(facts, a.bpm),
            cost=facts.cost,
        )
        for a, b, facts in zip(tracks, tracks[1:], facts_list, strict=False)
    ]
    total = float(sum(f.cost for f in facts_list))
    seconds = durations(tracks)
    where = progress(seconds, overlap_s)
    energies = [t.energy for t in tracks]
    objective = total + float(arc_costs(energies, where, arc, arc_weight).sum())
    keyed = [f for f in facts_list if f.relation is not None]
    tempos = [abs(f.tempo_change_pct) for f in facts_list if f.tempo_change_pct is not None]
    known = all(t.duration_s and t.duration_s > 0 for t in tracks)
    return Scorecard(
        tracks=n,
        transitions_count=max(0, n - 1),
        duration_s=set_length_s(seconds, overlap_s) if n and known else None,
        total_cost=total,
        objective=objective,
        harmonic_ok_pct=100.0 * sum(bool(f.harmonic) for f in keyed) / len(keyed)
        if keyed
        else None,
        clash_pct=100.0 * sum(bool(f.clash) for f in keyed) / len(keyed) if keyed else None,
        unknown_key_transitions=len(facts_list) - len(keyed),
        mean_tempo_change_pct=float(np.mean(tempos)) if tempos else None,
        max_tempo_change_pct=float(np.max(tempos)) if tempos else None,
        within_3pct_share=(
            sum(t <= SMOOTH_TEMPO_PCT for t in tempos) / len(tempos) if tempos else None
        ),
        unknown_tempo_transitions=len(facts_list) - len(tempos),
        arc=arc.name if arc is not None else None,
        arc_rmse=arc_rmse(energies, arc, where),
        same_artist_adjacencies=sum(f.same_artist for f in facts_list),
        transitions=tuple(reports),
    )
