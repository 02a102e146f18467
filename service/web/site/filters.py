"""How values read on the page: keys in both notations, durations, dates, transition badges."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Flask

from service.dj.keys import KeyParseError, KeyRelation, parse_key
from service.dj.scorecard import SEMITONE_TEMPO_PCT, SMOOTH_TEMPO_PCT


def key_label(value: str | None) -> str:
    """``8A`` → ``8A · Am``; unknown or unreadable keys say so."""
    if not value:
        return "unknown"
    try:
        key = parse_key(value)
    except KeyParseError:
        return str(value)
    return f"{key.camelot} · {key.name}"


def duration(seconds: float | int | None) -> str:
    """Seconds as ``m:ss`` (or ``h:mm:ss``); blank when unknown or not a real length."""
    if seconds is None or float(seconds) < 0:
        return ""
    total = round(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def when(value: str | None) -> str:
    """A Directus timestamp as ``2026-11-27 05:40 UTC``."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if moment.tzinfo else "")


def bpm(value: float | None) -> str:
    """A tempo as DJ software shows it: ``124`` or ``123.5``."""
    if value is None:
        return "?"
    return f"{float(value):.1f}".removesuffix(".0")


def badge(transition: Mapping[str, Any] | None) -> tuple[str, str]:
    """(colour, word) for a transition: green blends, amber needs care, red is a cut or a clash.

    Green: a harmonic key move (same, ±1, relative) within 3 % tempo, where a long blend stays in key
    without keylock. Red: a key clash or more than a semitone (6 %) of tempo change. Amber otherwise,
    including transitions whose key or tempo is unknown.
    """
    if not transition:
        return "none", ""
    clash = transition.get("relation_kind") == KeyRelation.CLASH.name
    tempo = transition.get("tempo_change_pct")
    tempo_abs = abs(float(tempo)) if tempo is not None else None
    if clash or (tempo_abs is not None and tempo_abs > SEMITONE_TEMPO_PCT):
        return "red", "Hard"
    if transition.get("harmonic") and tempo_abs is not None and tempo_abs <= SMOOTH_TEMPO_PCT:
        return "green", "Smooth"
    return "amber", "Careful"


def explain(transition: Mapping[str, Any] | None) -> str:
    """The facts behind a badge in one line: key relation, pitch adjustment, energy change."""
    if not transition:
        return ""
    parts = []
    relation = transition.get("relation")
    parts.append(f"key: {relation}" if relation else "key: unknown")
    tempo = transition.get("tempo_change_pct")
    # the incoming track's pitch adjustment, the same signed number the notes quote
    parts.append(f"pitch {float(tempo):+.1f} %" if tempo is not None else "tempo: unknown")
    energy = transition.get("energy_change")
    if energy is not None:
        parts.append(f"energy {int(energy):+d}")
    return " · ".join(parts)


def problem_text(problem: Mapping[str, Any]) -> str:
    """One entry of an import's problem report as a sentence."""
    reason = str(problem.get("reason") or "could not be used").rstrip(".")
    line, entry, path = problem.get("line"), problem.get("entry"), problem.get("path")
    if line:
        where = f"Line {line}" + (f" “{entry}”" if entry else "")
        if path and path != entry:
            where += f" (file {path})"
    elif entry:
        where = f"“{entry}”"
    else:
        where = str(path) if path else "An entry"
    return f"{where}: {reason}."


def register(app: Flask) -> None:
    """Make the filters available to every template."""
    app.jinja_env.filters.update(
        key_label=key_label,
        duration=duration,
        when=when,
        bpm=bpm,
        badge=badge,
        explain=explain,
        problem_text=problem_text,
    )
