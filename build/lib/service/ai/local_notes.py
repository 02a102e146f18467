"""Notes written by rules from the engine's scorecard: every number in the words is the engine's.

Deterministic (the same set always gives the same words), offline, and the fallback for every
model provider. Each fact comes from one place: the key relation is the engine's ``KeyRelation``
as heard at the outgoing tempo, the tempo change is the scorecard's pitch adjustment of the
incoming track (the same signed number the set page shows: + means sped up), and the set-level
figures (length, mean tempo change, harmonic share, arc fit) are the scorecard's own. Where the
engine does not know a value, the words say so instead of guessing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from service.ai.types import SetView, TrackView, TransitionView
from service.ai.validation import LIMITS
from service.dj.keys import KeyParseError, KeyRelation, parse_key, relation

__all__ = ["describe_set", "note_for", "set_title", "tags_for"]

_NAME_CHARS = 60  # a track's name in a note: long titles are cut so a note stays readable

#: How each relation sounds: (name, what it does to the room).
_RELATION_WORDS: dict[KeyRelation, tuple[str, str]] = {
    KeyRelation.SAME: ("the same key", "the harmony carries straight through"),
    KeyRelation.ADJACENT: ("one step round the wheel", "a harmonic shift of colour"),
    KeyRelation.RELATIVE: ("the relative key", "the same notes in the other mode"),
    KeyRelation.DIAGONAL: ("a diagonal move", "usable if the melodies overlap only briefly"),
    KeyRelation.ENERGY_BOOST: ("a two-step boost", "an energy lift"),
    KeyRelation.SEMITONE: ("a one-semitone change", "a deliberate key change, not a blend"),
    KeyRelation.CLASH: ("a clash", "keep the melodic parts apart"),
}


def _short(text: str, limit: int = _NAME_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _track_name(track: TrackView | None, track_id: str) -> str:
    title = track.title.strip() if track and track.title else ""
    artist = track.artist.strip() if track and track.artist else ""
    if artist and title:
        return _short(f"{artist} – {title}")
    if title:
        return _short(title)
    return f"track {track_id}"


def _bpm(value: float) -> str:
    return f"{round(value, 1):g}"


def _pct(value: float) -> str:
    """A signed percentage as the set page prints it (``+1.6 %``, ``−0.8 %``), never ``-0.0``."""
    rounded = round(value, 1)
    return "0.0 %" if rounded == 0 else f"{rounded:+.1f} %"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _minutes(seconds: float) -> str:
    return _plural(round(seconds / 60), "minute", "minutes")


def _written_relation(a: TrackView | None, b: TrackView | None) -> KeyRelation | None:
    """The relation of the keys as written in the tags (before the tempo moves the pitch)."""
    if not (a and a.key and b and b.key):
        return None
    try:
        return relation(parse_key(a.key), parse_key(b.key))
    except KeyParseError:
        return None


def _key_sentence(t: TransitionView, a: TrackView | None, b: TrackView | None) -> str:
    if t.relation is None:
        missing = a if (a is None or not a.key) else b
        who = _short(missing.title, 40) if missing and missing.title else "one track"
        return f"the key of {who} is unknown, so check the blend by ear first"
    ka, kb = a.key if a else None, b.key if b else None
    written = _written_relation(a, b)
    name, advice = _RELATION_WORDS[t.relation]
    if written is not None and written is not t.relation and t.tempo_change_pct is not None:
        # the engine judges the incoming key as heard once the pitch moves with the tempo
        return (
            f"{ka} to {kb} becomes {name} once the {_pct(t.tempo_change_pct)} pitch change "
            f"moves the key (no keylock): {advice}"
        )
    match t.relation:
        case KeyRelation.SAME:
            return f"both sit in {ka}, so the harmony carries straight through"
        case KeyRelation.ADJACENT:
            return f"{ka} to {kb} is one step round the Camelot wheel, a harmonic shift of colour"
        case KeyRelation.RELATIVE:
            mood = "lifting the mood" if kb and kb.upper().endswith("B") else "darkening the mood"
            return f"{ka} to {kb} is the relative key: the same notes, {mood}"
        case KeyRelation.DIAGONAL:
            return f"{ka} to {kb} is a diagonal move, usable if the melodies overlap only briefly"
        case KeyRelation.ENERGY_BOOST:
            return f"{ka} to {kb} jumps two steps up the wheel, an energy boost that lifts the room"
        case KeyRelation.SEMITONE:
            return f"{ka} to {kb} is a one-semitone key change: a deliberate shift, not a blend"
        case _:
            return f"{ka} and {kb} clash, so keep their melodic parts apart"


def _tempo_phrase(t: TransitionView, a: TrackView | None, b: TrackView | None) -> str:
    bpm_a = a.bpm if a else None
    bpm_b = b.bpm if b else None
    if t.tempo_change_pct is None or not bpm_a or not bpm_b:
        missing = a if not bpm_a else b
        who = _short(missing.title, 40) if missing and missing.title else "one track"
        return f"the tempo of {who} is unknown, so beatmatch by ear"
    # the pitch to set is in the engine's tip; the words give the direction the set's tempo takes
    if t.tempo_factor in (2.0, 0.5):  # the engine's octave fold, in the words its tip uses
        counted = "double-time" if t.tempo_factor == 2.0 else "half-time"
        return (
            f"the tempo goes from {_bpm(bpm_a)} to {_bpm(bpm_b)} BPM, "
            f"the incoming track counted {counted}"
        )
    if _pct(t.tempo_change_pct) == "0.0 %":
        return f"the tempo holds at {_bpm(bpm_a)} BPM"
    # + means the incoming track is sped up to meet the outgoing one: the set's tempo then drops
    direction = "drops" if t.tempo_change_pct > 0 else "rises"
    return (
        f"the tempo {direction} from {_bpm(bpm_a)} to {_bpm(bpm_b)} BPM "
        f"({abs(t.tempo_change_pct):.1f} %)"
    )


def _energy_phrase(t: TransitionView, a: TrackView | None, b: TrackView | None) -> str:
    if t.energy_change is None:
        return ""
    ea = a.energy if a else None
    eb = b.energy if b else None
    if t.energy_change == 0:
        return f"energy stays at {ea}" if ea is not None else "energy stays level"
    verb = "lifts" if t.energy_change > 0 else "eases"
    if ea is not None and eb is not None:
        return f"energy {verb} from {ea} to {eb}"
    return f"energy {verb} by {abs(t.energy_change)}"


def _tip_sentence(tip: str) -> str:
    tip = " ".join(tip.split())
    if not tip:
        return ""
    tip = _short(tip, 160)
    return f" Tip: {tip}" + ("" if tip[-1] in ".!?…" else ".")


def note_for(t: TransitionView, tracks: dict[str, TrackView]) -> str:
    """One transition's note: both tracks, the key move, the tempo move, energy and the tip."""
    a, b = tracks.get(t.from_id), tracks.get(t.to_id)
    parts = [_tempo_phrase(t, a, b)]
    energy = _energy_phrase(t, a, b)
    if energy:
        parts.append(energy)
    text = (
        f"{_track_name(a, t.from_id)} into {_track_name(b, t.to_id)}: "
        f"{_key_sentence(t, a, b)}; {' and '.join(parts)}.{_tip_sentence(t.tip)}"
    )
    return text[: LIMITS["note_chars"]]


# --- set-level prose ------------------------------------------------------------------------

_ARC_TITLE = {
    "warm-up": "Warm-Up",
    "build": "Build",
    "peak-time": "Peak-Time",
    "journey": "Journey",
    "cool-down": "Cool-Down",
}


def _score_number(view: SetView, name: str) -> float | None:
    """A scorecard figure if the engine gave it as a number (the scorecard's keys may grow)."""
    value = view.score.get(name) if view.score else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def genres_of(tracks: Sequence[TrackView]) -> list[str]:
    """The set's one or two main genres, most common first."""
    counts = Counter(" ".join(t.genre.split()) for t in tracks if t.genre and t.genre.strip())
    if not counts:
        return []
    ranked = counts.most_common()
    top_count = ranked[0][1]
    # a second genre is named only when it carries a real share of the set
    return [g for g, c in ranked[:2] if c == top_count or c * 4 >= len(tracks)]


def _title_case(text: str) -> str:
    return " ".join(w if any(ch.isupper() for ch in w) else w.capitalize() for w in text.split())


def _describe_track(track: TrackView) -> str:
    facts = [f for f in (track.key, f"{_bpm(track.bpm)} BPM" if track.bpm else None) if f]
    if track.energy is not None:
        facts.append(f"energy {track.energy}")
    name = _track_name(track, track.id)
    return f"{name} ({', '.join(facts)})" if facts else name


def set_title(view: SetView, genres: list[str], mood: list[str]) -> str:
    """Mood word, genres, arc and length: "Sunrise Deep House Build · 60 min"."""
    arc_word = _ARC_TITLE.get(view.arc or "", "Set")
    if genres:
        subject = " & ".join(_title_case(g) for g in genres)
    else:
        bpms = sorted(t.bpm for t in view.tracks if t.bpm)
        subject = f"{_bpm(bpms[len(bpms) // 2])} BPM" if bpms else "Mixed"
    # A mood word the subject already says ("deep" before "Deep House") is left out.
    words = [_title_case(m) for m in mood[:1] if m.lower() not in subject.lower().split()]
    title = " ".join([*words, subject, arc_word])
    if view.duration_s:
        title += f" · {round(view.duration_s / 60)} min"
    return _short(title, LIMITS["title_chars"])


def _keys_sentence(view: SetView) -> str:
    keyed = [t for t in view.transitions if t.relation is not None]
    unknown = len(view.transitions) - len(keyed)
    if not keyed:
        return f"The keys of {_plural(unknown, 'transition', 'transitions')} are unknown."
    harmonic = sum(t.relation.harmonic for t in keyed if t.relation)
    clashes = sum(t.relation is KeyRelation.CLASH for t in keyed)
    line = (
        f"{harmonic} of {len(keyed)} transitions with known keys "
        f"{'is' if harmonic == 1 else 'are'} harmonic (same key, one step or relative)"
    )
    if clashes:
        line += f", and {clashes} {'clashes' if clashes == 1 else 'clash'}"
    if unknown:
        line += f"; {_plural(unknown, 'transition has', 'transitions have')} a key unknown"
    return line + "."


def _tempo_sentence(view: SetView, by_id: dict[str, TrackView]) -> str:
    known = [t for t in view.transitions if t.tempo_change_pct is not None]
    mean = _score_number(view, "mean_tempo_change_pct")
    if not known or mean is None:
        return ""
    widest = max(known, key=lambda t: abs(t.tempo_change_pct or 0.0))
    line = (
        f"Tempo changes average {abs(mean):.1f} %; the widest, "
        f"{abs(widest.tempo_change_pct or 0.0):.1f} %, takes "
        f"{_track_name(by_id.get(widest.from_id), widest.from_id)} into "
        f"{_track_name(by_id.get(widest.to_id), widest.to_id)}"
    )
    unknown = len(view.transitions) - len(known)
    if unknown:
        line += f" ({_plural(unknown, 'transition has', 'transitions have')} a tempo unknown)"
    return line + "."


def _energy_shape(energies: list[int]) -> str:
    """The curve the energies really draw: rising, falling, up and down, or level."""
    if len(energies) < 2 or max(energies) == min(energies):
        return "holds level"
    third = max(1, len(energies) // 3)
    start = sum(energies[:third]) / third
    end = sum(energies[-third:]) / third
    middle = energies[third:-third] or energies
    peak_in_middle = max(middle) > max(start, end) + 0.5
    if peak_in_middle:
        return "builds to a peak and releases"
    if end > start + 0.5:
        return "climbs"
    if end < start - 0.5:
        return "falls"
    return "moves up and down around one level"


def _energy_sentence(view: SetView) -> str:
    tracks = view.tracks
    known = [(i, t) for i, t in enumerate(tracks) if t.energy is not None]
    if not known:
        return ""
    low = min(t.energy for _, t in known if t.energy is not None)
    peak_index, peak = max(known, key=lambda pair: pair[1].energy or 0)
    shape = _energy_shape([t.energy for _, t in known if t.energy is not None])
    line = (
        f"Energy {shape}, from {low} to {peak.energy}, peaking with "
        f"{_track_name(peak, peak.id)} at track {peak_index + 1} of {len(tracks)}"
    )
    missing = len(tracks) - len(known)
    if missing:
        line += f" ({_plural(missing, 'track has', 'tracks have')} no energy value)"
    rmse = _score_number(view, "arc_rmse")
    if view.arc in _ARC_TITLE and rmse is not None:
        line += (
            f"; against the {view.arc} arc asked for, a typical track sits "
            f"{rmse:.1f} energy steps off the curve"
        )
    return line + "."


def describe_set(view: SetView, genres: list[str]) -> str:
    """The set in a paragraph: size, length, genres, tempo range, keys, tempo moves and energy."""
    tracks = view.tracks
    if not tracks:
        return "This set has no tracks yet."
    size = f"A {len(tracks)}-track set" if len(tracks) > 1 else "A one-track set"
    if view.duration_s:
        size += f" of about {_minutes(view.duration_s)}"
    if genres:
        size += " of " + " and ".join(g.lower() for g in genres)
    bpms = [t.bpm for t in tracks if t.bpm]
    if bpms and max(bpms) - min(bpms) >= 1:
        size += f", between {_bpm(min(bpms))} and {_bpm(max(bpms))} BPM"
    elif bpms:
        size += f", at {_bpm(bpms[0])} BPM"
    sentences = [size + "."]
    if len(tracks) > 1:
        sentences.append(
            f"It opens with {_describe_track(tracks[0])} and closes with "
            f"{_describe_track(tracks[-1])}."
        )
    else:
        sentences.append(f"It plays {_describe_track(tracks[0])}.")
    if view.transitions:
        sentences.append(_keys_sentence(view))
        sentences.append(_tempo_sentence(view, {t.id: t for t in tracks}))
    sentences.append(_energy_sentence(view))
    repeats = _score_number(view, "same_artist_adjacencies")
    if repeats:
        times = "once" if repeats == 1 else f"{int(repeats)} times"
        sentences.append(f"The same artist plays twice in a row {times}.")
    return _short(" ".join(s for s in sentences if s), LIMITS["description_chars"])


def tags_for(view: SetView, genres: list[str], mood: list[str]) -> list[str]:
    """Genres, arc, tempo range, "harmonic" when at least 80 % of known moves are, mood words."""
    tags = [g.lower() for g in genres]
    if view.arc and view.arc != "none":
        tags.append(view.arc)
    bpms = [t.bpm for t in view.tracks if t.bpm]
    if bpms:
        low, high = round(min(bpms)), round(max(bpms))
        tags.append(f"{low} bpm" if low == high else f"{low}-{high} bpm")
    keyed = [t.relation for t in view.transitions if t.relation is not None]
    if keyed and sum(r.harmonic for r in keyed) >= 0.8 * len(keyed):
        tags.append("harmonic")
    tags.extend(m.lower() for m in mood[:3])
    unique = [_short(t, LIMITS["tag_chars"]) for t in dict.fromkeys(tags)]
    return unique[: LIMITS["tags"]]
