"""Plain inputs the set engine fills in, and the pydantic outputs every provider returns.

The ``*Answer`` models are exactly what a language model is asked to produce (they are sent as the
structured-output schema); ``SetNotes`` and ``BriefParameters`` add which provider produced the
result in the end and, when the configured provider's output was not used, why. Bounds on lengths
and counts live in ``service.ai.validation`` rather than in the schema, because OpenAI's strict
structured-output mode refuses ``maxLength``-style keywords and Gemini ignores some of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from service.dj.arcs import ARC_NAMES
from service.dj.keys import KeyRelation

__all__ = [
    "ARC_NAMES",
    "BriefAnswer",
    "BriefParameters",
    "NotesAnswer",
    "SetNotes",
    "SetView",
    "TrackView",
    "TransitionNote",
    "TransitionView",
]

#: An arc preset name of the set engine (``service.dj.arcs.ARC_NAMES``), as a schema type.
ArcName = Literal[ARC_NAMES]  # type: ignore[valid-type]


@dataclass(frozen=True)
class TrackView:
    """One track of a set as the AI layer sees it."""

    id: str
    title: str | None
    artist: str | None
    bpm: float | None
    key: str | None  # Camelot, e.g. "8A"
    energy: int | None
    genre: str | None


@dataclass(frozen=True)
class TransitionView:
    """The move from one track to the next, as the scorecard describes it."""

    from_id: str
    to_id: str
    relation: KeyRelation | None  # the engine's relation of the keys as heard; None: a key unknown
    tempo_change_pct: float | None  # signed pitch adjustment of the incoming track: + = sped up
    tempo_factor: float | None  # the engine's octave fold: 1, 2 (counted double-time) or 0.5
    energy_change: int | None
    tip: str
    cost: float


@dataclass(frozen=True)
class SetView:
    """A set in play order with its transitions and scorecard."""

    tracks: list[TrackView]
    transitions: list[TransitionView]
    score: Mapping[str, float | int | None] = field(default_factory=dict)
    arc: str | None = None
    duration_s: float | None = None


class _Strict(BaseModel):
    # extra="forbid" puts additionalProperties: false in the JSON schema, which OpenAI's strict
    # structured-output mode requires, and makes an answer with invented fields a schema mismatch.
    # str_strip_whitespace: " t01" from a model is the id t01, not a hallucinated track
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TransitionNote(_Strict):
    """A note on one transition, naming it by the ids of its two tracks."""

    from_id: str
    to_id: str
    note: str


class NotesAnswer(_Strict):
    """What a model is asked for when annotating a set (the structured-output schema)."""

    title: str
    description: str
    transitions: list[TransitionNote]
    tags: list[str]


class SetNotes(NotesAnswer):
    """Notes for a set: title, description, one note per transition, tags, and their origin."""

    provider: str  # which provider produced the notes in the end: "local", "gemini", "litellm"
    fallback_reason: str | None = None  # why the configured provider's output was not used


class BriefAnswer(_Strict):
    """What a model is asked for when reading a DJ's brief (the structured-output schema)."""

    duration_min: int | None
    arc: ArcName | None
    bpm_min: float | None
    bpm_max: float | None
    genres: list[str]
    mood: list[str]


class BriefParameters(_Strict):
    """Set parameters read from a DJ's sentence, and which provider read them."""

    duration_min: int | None
    arc: str | None  # one of ARC_NAMES
    bpm_min: float | None
    bpm_max: float | None
    genres: list[str]
    mood: list[str]
    provider: str
    fallback_reason: str | None = None
