"""Never trust the model: read its raw answer, check every field, and say exactly what was wrong.

Each check raises ``InvalidAnswer`` with a sentence that is stored with the set as the fallback
reason, so the messages name the offending value ("note for t9 → t2, which is not a transition of
this set") rather than a stack trace.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from service.ai.errors import InvalidAnswer
from service.ai.types import (
    ARC_NAMES,
    BriefAnswer,
    NotesAnswer,
    SetView,
    TransitionNote,
)
from service.dj.sequencing.plan import SET_BPM_RANGE, SET_MINUTES_RANGE

__all__ = [
    "LIMITS",
    "check_notes",
    "parse_brief_answer",
    "parse_notes_answer",
]

#: Bounds on what a model may write; the local provider keeps to them too (a test checks it).
LIMITS: dict[str, int] = {
    "title_chars": 120,
    "description_chars": 1500,
    "note_chars": 500,
    "tags": 12,
    "tag_chars": 40,
    "brief_words": 10,  # genres or mood words read from a brief
    "brief_word_chars": 40,
}


# Text a model leaves when it fills a template instead of writing: never shown to a DJ.
_PLACEHOLDER = re.compile(
    r"lorem ipsum|\bTODO\b|\bTBD\b|\bN/A\b|\[[^\]]*(?:track|title|artist|name|insert)[^\]]*\]"
    r"|\{[a-z_]+\}|<[a-z_ ]+>|\bplaceholder\b",
    re.IGNORECASE,
)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL | re.IGNORECASE)


def _load_json(raw: str | None, provider: str) -> Any:
    if raw is None or not raw.strip():
        raise InvalidAnswer(f"{provider} returned an empty answer")
    # some OpenAI-compatible servers ignore response_format and wrap the JSON in a markdown fence
    fenced = _FENCE.fullmatch(raw.strip())
    if fenced:
        raw = fenced.group(1)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(
            f"{provider} returned malformed JSON ({exc.msg} at char {exc.pos})"
        ) from exc


def _schema_error(provider: str, exc: ValidationError) -> InvalidAnswer:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the answer"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return InvalidAnswer(
        f"{provider} answer does not match the schema: {where}: {first['msg']}{more}"
    )


def _check_text(
    provider: str, what: str, text: str, limit: int, known: tuple[str, ...] = ()
) -> str:
    text = text.strip()
    if not text:
        raise InvalidAnswer(f"{provider} left the {what} empty")
    if len(text) > limit:
        raise InvalidAnswer(f"{provider} wrote a {what} of {len(text)} characters (limit {limit})")
    # the set's own titles and tips may legitimately read "[Intro]" or "N/A": judge only the rest
    rest = text
    for value in known:
        rest = rest.replace(value, " ")
    if match := _PLACEHOLDER.search(rest):
        raise InvalidAnswer(
            f"{provider} left placeholder text in the {what}: {match.group(0)[:60]!r}"
        )
    return text


def _known_text(set_view: SetView) -> tuple[str, ...]:
    values = {
        value.strip()
        for track in set_view.tracks
        for value in (track.title, track.artist, track.genre)
        if value and value.strip()
    }
    values.update(t.tip.strip() for t in set_view.transitions if t.tip.strip())
    return tuple(sorted(values, key=len, reverse=True))  # longest first: "A [B]" before "A"


def _check_words(provider: str, what: str, words: list[str], limit: int) -> list[str]:
    cleaned: list[str] = []
    for word in words:
        word = _check_text(provider, f"{what} entry", word, LIMITS["brief_word_chars"])
        if word.lower() not in (w.lower() for w in cleaned):
            cleaned.append(word)
    if len(cleaned) > limit:
        raise InvalidAnswer(f"{provider} gave {len(cleaned)} {what} (limit {limit})")
    return cleaned


def check_notes(answer: NotesAnswer, set_view: SetView, provider: str) -> NotesAnswer:
    """Check notes against the set: every named track exists, one note per transition, bounds."""
    track_ids = {track.id for track in set_view.tracks}
    known = _known_text(set_view)
    wanted = [(t.from_id, t.to_id) for t in set_view.transitions]
    wanted_set = set(wanted)
    by_pair: dict[tuple[str, str], TransitionNote] = {}
    for note in answer.transitions:
        for track_id in (note.from_id, note.to_id):
            if track_id not in track_ids:
                raise InvalidAnswer(f"{provider} named track {track_id!r}, which is not in the set")
        pair = (note.from_id, note.to_id)
        if pair not in wanted_set:
            raise InvalidAnswer(
                f"{provider} wrote a note for {note.from_id} → {note.to_id}, "
                "which is not a transition of this set"
            )
        if pair in by_pair:
            raise InvalidAnswer(f"{provider} wrote two notes for {note.from_id} → {note.to_id}")
        by_pair[pair] = note
    missing = [pair for pair in wanted if pair not in by_pair]
    if missing:
        first = missing[0]
        raise InvalidAnswer(
            f"{provider} wrote no note for {len(missing)} of {len(wanted)} transitions "
            f"(first: {first[0]} → {first[1]})"
        )
    tags = [_check_text(provider, "tag", tag, LIMITS["tag_chars"], known) for tag in answer.tags]
    deduped = list(dict.fromkeys(tags))
    if len(deduped) > LIMITS["tags"]:
        raise InvalidAnswer(f"{provider} gave {len(deduped)} tags (limit {LIMITS['tags']})")
    return NotesAnswer(
        title=_check_text(provider, "title", answer.title, LIMITS["title_chars"], known),
        description=_check_text(
            provider, "description", answer.description, LIMITS["description_chars"], known
        ),
        # in play order, whatever order the model wrote them in
        transitions=[
            TransitionNote(
                from_id=a,
                to_id=b,
                note=_check_text(
                    provider,
                    f"note for {a} → {b}",
                    by_pair[(a, b)].note,
                    LIMITS["note_chars"],
                    known,
                ),
            )
            for a, b in wanted
        ],
        tags=deduped,
    )


def parse_notes_answer(raw: str | None, set_view: SetView, provider: str) -> NotesAnswer:
    """Parse a model's raw JSON notes and check them against the set, or raise InvalidAnswer."""
    data = _load_json(raw, provider)
    try:
        answer = NotesAnswer.model_validate(data)
    except ValidationError as exc:
        raise _schema_error(provider, exc) from exc
    return check_notes(answer, set_view, provider)


def parse_brief_answer(raw: str | None, provider: str) -> BriefAnswer:
    """Parse a model's raw JSON reading of a brief and check every value, or raise InvalidAnswer."""
    data = _load_json(raw, provider)
    try:
        answer = BriefAnswer.model_validate(data)
    except ValidationError as exc:
        raise _schema_error(provider, exc) from exc
    if (
        answer.arc is not None and answer.arc not in ARC_NAMES
    ):  # Literal already checks; kept explicit
        raise InvalidAnswer(f"{provider} gave an unknown arc {answer.arc!r}")
    low, high = SET_MINUTES_RANGE
    if answer.duration_min is not None and not low <= answer.duration_min <= high:
        raise InvalidAnswer(
            f"{provider} read a duration of {answer.duration_min} min (expected {low}–{high})"
        )
    for name in ("bpm_min", "bpm_max"):
        value = getattr(answer, name)
        if value is not None and not SET_BPM_RANGE[0] <= value <= SET_BPM_RANGE[1]:
            raise InvalidAnswer(
                f"{provider} read {name} = {value:g} (expected {SET_BPM_RANGE[0]:g}–{SET_BPM_RANGE[1]:g})"
            )
    if (
        answer.bpm_min is not None
        and answer.bpm_max is not None
        and answer.bpm_min > answer.bpm_max
    ):
        raise InvalidAnswer(
            f"{provider} read a BPM range upside down ({answer.bpm_min:g} > {answer.bpm_max:g})"
        )
    return answer.model_copy(
        update={
            "genres": _check_words(provider, "genres", answer.genres, LIMITS["brief_words"]),
            "mood": _check_words(provider, "mood words", answer.mood, LIMITS["brief_words"]),
        }
    )
