"""The local provider: notes written from the scorecard and briefs read by rules.

Deterministic (the same set and brief always give the same words), offline, and the fallback for
every model provider. The notes live in ``local_notes``, the brief reading in ``local_brief``.
"""

from __future__ import annotations

from service.ai.local_brief import read_brief
from service.ai.local_notes import describe_set, genres_of, note_for, set_title, tags_for
from service.ai.types import BriefParameters, SetNotes, SetView, TransitionNote

__all__ = ["LocalProvider"]


class LocalProvider:
    """Notes and brief reading by rules: deterministic, offline, the fallback for every model."""

    name = "local"

    def annotate(self, set_view: SetView, brief: str | None) -> SetNotes:
        """Write a title, description, a note per transition and tags from the scorecard."""
        tracks = {t.id: t for t in set_view.tracks}
        genres = genres_of(set_view.tracks)
        mood = self.interpret_brief(brief).mood if brief else []
        return SetNotes(
            title=set_title(set_view, genres, mood),
            description=describe_set(set_view, genres),
            transitions=[
                TransitionNote(from_id=t.from_id, to_id=t.to_id, note=note_for(t, tracks))
                for t in set_view.transitions
            ],
            tags=tags_for(set_view, genres, mood),
            provider=self.name,
        )

    def interpret_brief(self, text: str) -> BriefParameters:
        """Read duration, arc, BPM range, genres and mood words from a DJ's sentence."""
        return read_brief(text, self.name)
