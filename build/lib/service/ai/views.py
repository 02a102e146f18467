"""The AI layer's view of a planned set, built from the engine's tracks and scorecard.

The command line and the generate job both annotate sets through this one mapping, so the notes
always see the engine's own facts: its key relation (``KeyRelation``, judged on the key as heard),
its tempo change, its energy change and its tips.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.ai.types import SetView, TrackView, TransitionView
from service.dj.keys import KeyRelation
from service.dj.scorecard import Scorecard
from service.dj.tracks import Track

__all__ = ["set_view"]


def set_view(planned_tracks: Sequence[Track], card: Scorecard, arc: str | None) -> SetView:
    """The AI layer's view of ``planned_tracks`` in play order, scored by ``card``."""
    return SetView(
        tracks=[
            TrackView(
                id=t.id,
                title=t.title,
                artist=t.artist,
                bpm=t.bpm,
                key=t.key.camelot if t.key else None,
                energy=t.energy,
                genre=t.genre,
            )
            for t in planned_tracks
        ],
        transitions=[
            TransitionView(
                from_id=tr.from_id,
                to_id=tr.to_id,
                relation=KeyRelation[tr.relation_kind] if tr.relation_kind else None,
                tempo_change_pct=tr.tempo_change_pct,
                tempo_factor=tr.tempo_factor,
                energy_change=tr.energy_change,
                tip=tr.tip,
                cost=tr.cost,
            )
            for tr in card.transitions
        ],
        score=card.summary(),
        arc=arc,
        duration_s=card.duration_s,
    )
