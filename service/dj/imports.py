"""What an upload's entries become: a track each, or one problem each, in words a DJ can act on.

An upload is a playlist file and, usually, the audio it lists. Matched means matched to playable
audio: an uploaded file that is empty, damaged or not audio at all is reported once, on the entry
that names it (or on its own when no entry does), and gives no track. When audio was uploaded, an
entry without a playable file is a problem, not a track. A playlist uploaded without any audio (a
Rekordbox or Traktor collection, a CSV) gives tracks from its own values, as long as an entry names
an artist or a title. Every problem quotes the entry as written (or the file's name).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from service.dj.playlists import PoolEntry, Problem
from service.dj.tags import AUDIO_EXTENSIONS

__all__ = ["ImportPlan", "UploadedFile", "failure_message", "plan_import", "quote_line"]

ENTRY_CHARS = 200


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One uploaded audio file: its id, its name, and why it is not playable audio (None if it is)."""

    id: str
    name: str
    unplayable: str | None = None


@dataclass(slots=True)
class ImportPlan:
    """The outcome per entry: ``use`` maps an entry's index to its file id (None: values only)."""

    use: dict[int, str | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    matched: int = 0  # entries matched to playable audio


def quote_line(text: str | None) -> str | None:
    """An entry as written, trimmed to a length a report can show."""
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= ENTRY_CHARS else text[: ENTRY_CHARS - 1] + "…"


def _names_audio(entry: PoolEntry) -> bool:
    name = (entry.path or entry.url or "").replace("\\", "/")
    return PurePosixPath(name).suffix.lower() in AUDIO_EXTENSIONS


def _unmatched_reason(entry: PoolEntry, audio_uploaded: bool) -> str:
    if audio_uploaded:
        if _names_audio(entry) or entry.artist or entry.title:
            return "no uploaded audio file has this name"
        return "this is not a track: no audio file name, no artist or title"
    if _names_audio(entry):
        return "names an audio file, but no audio was uploaded with the playlist"
    return "this is not a track: no audio file name, no artist or title"


def plan_import(
    entries: Sequence[PoolEntry],
    parse_problems: Sequence[Problem],
    files: Sequence[UploadedFile],
    matches: Mapping[int, str],
    lines: Sequence[str] = (),
) -> ImportPlan:
    """Each entry once: a track (with its playable file, or from its values) or one problem.

    ``matches`` maps entry index → matched file id; ``lines`` is the playlist's text by line (to
    quote a problem the parser reported on a line that is no entry).
    """
    plan = ImportPlan()
    by_id = {f.id: f for f in files}
    audio_uploaded = bool(files)
    entry_text = {e.line: e.raw for e in entries if e.line is not None}
    named: set[str] = set()
    for p in parse_problems:
        text = p.entry
        if text is None and p.line is not None:
            text = entry_text.get(p.line) or (
                lines[p.line - 1] if 0 < p.line <= len(lines) else None
            )
        plan.problems.append(Problem(p.line, p.reason, p.path, quote_line(text)))
    for i, entry in enumerate(entries):
        quoted = quote_line(entry.raw)
        if entry.duplicate_of is not None:
            reason = f"the same file as line {entry.duplicate_of}; listed once"
            plan.problems.append(Problem(entry.line, reason, None, quoted))
            continue
        file = by_id.get(matches[i]) if i in matches else None
        if file is not None:
            named.add(file.id)
            if file.unplayable:
                reason = f"the uploaded file is not playable audio: {file.unplayable}"
                plan.problems.append(Problem(entry.line, reason, file.name, quoted))
                continue
            plan.use[i] = file.id
            plan.matched += 1
            continue
        if not audio_uploaded and (entry.artist or entry.title):
            plan.use[i] = None  # a collection without audio: the track from its own values
            continue
        plan.problems.append(
            Problem(entry.line, _unmatched_reason(entry, audio_uploaded), None, quoted)
        )
    for f in files:
        if f.id in named:
            continue
        if f.unplayable:
            plan.problems.append(Problem(None, f"not playable audio: {f.unplayable}", f.name))
        else:
            plan.problems.append(Problem(None, "this uploaded file is not in the playlist", f.name))
    plan.problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return plan


def failure_message(plan: ImportPlan, filename: str, entry_count: int) -> str | None:
    """Why a playlist gave no usable track (None when it gave one): the commonest reason, quoted."""
    if plan.use:
        return None
    if entry_count == 0:
        return f"{filename} lists no tracks."
    reasons = Counter(p.reason for p in plan.problems if p.line is not None)
    if not reasons:
        return f"None of the {entry_count} entries of {filename} could be used."
    reason, _ = reasons.most_common(1)[0]
    example = next(p for p in plan.problems if p.reason == reason and p.line is not None)
    quoted = f" “{example.entry}”" if example.entry else ""
    return (
        f"None of the {entry_count} entries of {filename} could be used; most say: {reason} "
        f"(line {example.line}{quoted}). See the report below."
    )
