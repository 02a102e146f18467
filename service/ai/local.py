"""The local provider: notes written from the scorecard and metadata, and briefs read by rules.

Deterministic (the same set and brief always give the same words), offline, and the fallback for
every model provider. The prose names the tracks, their keys, tempo moves and energy, so a DJ can
use it as is; nothing here ever emits template placeholders.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from service.ai.types import (
    BriefParameters,
    SetNotes,
    SetView,
    TrackView,
    TransitionNote,
    TransitionView,
)
from service.ai.validation import BPM_RANGE, DURATION_MIN_RANGE, LIMITS

__all__ = ["LocalProvider", "relation_kind"]

_NAME_CHARS = 60  # a track's name in a note: long titles are cut so a note stays readable


# --- key relations --------------------------------------------------------------------------


def relation_kind(relation: str) -> str:
    """Classify a relation name from the scorecard ("relative major/minor", "RELATIVE", …)."""
    text = relation.strip().lower()
    if not text or "unknown" in text:
        return "unknown"
    # order matters: "±7: one semitone, a key change" contains "±", "+2 energy boost" contains "2"
    checks = (
        ("clash", ("clash",)),
        ("semitone", ("semitone", "±7", "key change")),
        ("relative", ("relative",)),
        ("diagonal", ("diagonal",)),
        ("boost", ("boost", "+2")),
        ("drop", ("drop", "step down", "-2", "−2")),
        ("same", ("same",)),
        ("adjacent", ("adjacent", "±1", "one step")),
    )
    for kind, needles in checks:
        if any(needle in text for needle in needles):
            return kind
    return "other"


_HARMONIC_KINDS = frozenset({"same", "adjacent", "relative"})


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


_CAMELOT = re.compile(r"^(\d{1,2})([AB])$")

# how each relation sounds, for the case where the tempo change (no keylock) moved the key
_KIND_NAME = {
    "same": ("the same key", "the harmony carries straight through"),
    "adjacent": ("one step round the wheel", "a harmonic shift of colour"),
    "relative": ("the relative key", "the same notes in the other mode"),
    "diagonal": ("a diagonal move", "usable if the melodies overlap only briefly"),
    "boost": ("a two-step boost", "an energy lift"),
    "drop": ("a two-step drop", "the tension falls"),
    "semitone": ("a one-semitone change", "a deliberate key change, not a blend"),
    "clash": ("a clash", "keep the melodic parts apart"),
}


def _camelot_kind(ka: str, kb: str) -> str | None:
    """The relation the two Camelot keys have as written (before any tempo shift)."""
    ma, mb = _CAMELOT.match(ka.upper()), _CAMELOT.match(kb.upper())
    if not ma or not mb:
        return None
    step = (int(mb.group(1)) - int(ma.group(1))) % 12
    step = step - 12 if step > 6 else step
    same_mode = ma.group(2) == mb.group(2)
    if step == 0:
        return "same" if same_mode else "relative"
    if step in (1, -1):
        return "adjacent" if same_mode else "diagonal"
    if same_mode and step in (2, -2):
        return "boost" if step == 2 else "drop"
    if same_mode and step in (5, -5):
        return "semitone"
    return "clash"


def _key_sentence(
    kind: str, relation: str, a: TrackView | None, b: TrackView | None, tempo_pct: float
) -> str:
    ka = a.key if a and a.key else None
    kb = b.key if b and b.key else None
    written = _camelot_kind(ka, kb) if ka and kb else None
    if written is not None and kind in _KIND_NAME and written != kind:
        # the scorecard judged the keys as heard after the pitch moved with the tempo
        name, advice = _KIND_NAME[kind]
        if abs(tempo_pct) >= 3:  # under 3 % the pitch moves less than half a semitone
            return (
                f"{ka} to {kb} becomes {name} once the {abs(tempo_pct):.1f} % tempo change "
                f"moves the pitch (no keylock): {advice}"
            )
        return f"{ka} to {kb} is rated {name} by the scorecard: {advice}"
    if kind == "unknown" or (ka is None and kind != "other") or (kb is None and kind != "other"):
        missing = a if (a is None or not a.key) else b
        who = _short(missing.title, 40) if missing and missing.title else "one track"
        return f"the key of {who} is unknown, so check the blend by ear first"
    if kind == "same":
        return f"both sit in {ka}, so the harmony carries straight through"
    if kind == "adjacent":
        return f"{ka} to {kb} is one step round the Camelot wheel, a harmonic shift of colour"
    if kind == "relative":
        mood = "lifting the mood" if kb and kb.upper().endswith("B") else "darkening the mood"
        return f"{ka} to {kb} is the relative key: the same notes, {mood}"
    if kind == "diagonal":
        return f"{ka} to {kb} is a diagonal move, usable if the melodies overlap only briefly"
    if kind == "boost":
        return f"{ka} to {kb} jumps two steps up the wheel, an energy boost that lifts the room"
    if kind == "drop":
        return f"{ka} to {kb} steps two down the wheel and lets the tension fall"
    if kind == "semitone":
        return f"{ka} to {kb} is a one-semitone key change: a deliberate shift, not a blend"
    if kind == "clash":
        return f"{ka} and {kb} clash, so keep their melodic parts apart"
    return f"{ka or 'unknown key'} to {kb or 'unknown key'}: {_short(relation, 40)}"


def _tempo_phrase(t: TransitionView, a: TrackView | None, b: TrackView | None) -> str:
    # the scorecard's tempo_change_pct is the pitch adjustment of the incoming track (+ = sped
    # up to meet the outgoing one), so the direction of the move is read from the BPMs themselves
    size = abs(t.tempo_change_pct)
    bpm_a = a.bpm if a else None
    bpm_b = b.bpm if b else None
    if bpm_a and bpm_b:
        ratio = bpm_b / bpm_a
        folded = ratio
        while folded > 1.5:
            folded /= 2
        while folded < 0.75:
            folded *= 2
        fold = ""
        if ratio > 1.5:
            fold = ", mixed in double time"  # two beats of the incoming track to one
        elif ratio < 0.75:
            fold = ", mixed in half time"
        if abs(folded - 1) < 0.0005:
            return f"the tempo holds at {_bpm(bpm_a)} BPM{fold}"
        direction = "rises" if folded > 1 else "drops"
        return f"the tempo {direction} from {_bpm(bpm_a)} to {_bpm(bpm_b)} BPM ({size:.1f} %){fold}"
    if size < 0.05:
        return "the tempo holds"
    return f"the tempo moves {size:.1f} %"


def _energy_phrase(t: TransitionView, a: TrackView | None, b: TrackView | None) -> str:
    change = t.energy_change
    ea = a.energy if a else None
    eb = b.energy if b else None
    if change is None:
        return ""
    if change == 0:
        return f"energy stays at {ea}" if ea is not None else "energy stays level"
    verb = "lifts" if change > 0 else "eases"
    if ea is not None and eb is not None:
        return f"energy {verb} from {ea} to {eb}"
    return f"energy {verb} by {abs(change)}"


def _tip_sentence(tip: str) -> str:
    tip = " ".join(tip.split())
    if not tip:
        return ""
    tip = _short(tip, 160)
    return f" Tip: {tip}" + ("" if tip[-1] in ".!?…" else ".")


def _note(t: TransitionView, tracks: dict[str, TrackView]) -> str:
    a, b = tracks.get(t.from_id), tracks.get(t.to_id)
    kind = relation_kind(t.relation)
    key = _key_sentence(kind, t.relation, a, b, t.tempo_change_pct)
    parts = [_tempo_phrase(t, a, b)]
    energy = _energy_phrase(t, a, b)
    if energy:
        parts.append(energy)
    moves = " and ".join(parts)
    text = (
        f"{_track_name(a, t.from_id)} into {_track_name(b, t.to_id)}: {key}; {moves}."
        f"{_tip_sentence(t.tip)}"
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
_ARC_SENTENCE = {
    "warm-up": "It follows a warm-up arc, opening low and rising gently",
    "build": "It follows a build arc, climbing steadily",
    "peak-time": "It follows a peak-time arc, high and steady",
    "journey": "It follows a journey arc: build, peak, release",
    "cool-down": "It follows a cool-down arc, from high to low",
}


def _score_number(view: SetView, name: str) -> float | None:
    """A scorecard figure if the engine gave it as a number (the scorecard's keys may grow)."""
    value = view.score.get(name) if view.score else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _genres(tracks: Sequence[TrackView]) -> list[str]:
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


def _title(view: SetView, genres: list[str], mood: list[str]) -> str:
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


def _description(view: SetView, genres: list[str]) -> str:
    tracks = view.tracks
    if not tracks:
        return "This set has no tracks yet."
    size = f"A {len(tracks)}-track set" if len(tracks) > 1 else "A one-track set"
    if view.duration_s:
        size += f" of about {round(view.duration_s / 60)} minutes"
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
    transitions = view.transitions
    if transitions:
        kinds = [relation_kind(t.relation) for t in transitions]
        harmonic = sum(k in _HARMONIC_KINDS for k in kinds)
        clashes = kinds.count("clash")
        line = (
            f"{harmonic} of {len(transitions)} transitions {'is' if harmonic == 1 else 'are'} "
            "harmonic (same key, one step or relative)"
        )
        if clashes:
            line += f", and {clashes} {'clashes' if clashes == 1 else 'clash'}"
        sentences.append(line + ".")
        moves = [abs(t.tempo_change_pct) for t in transitions]
        widest = max(range(len(moves)), key=lambda i: moves[i])
        by_id = {t.id: t for t in tracks}
        w = transitions[widest]
        sentences.append(
            f"Tempo moves average {sum(moves) / len(moves):.1f} %; the widest, "
            f"{moves[widest]:.1f} %, takes {_track_name(by_id.get(w.from_id), w.from_id)} into "
            f"{_track_name(by_id.get(w.to_id), w.to_id)}."
        )
    energies = [(i, t) for i, t in enumerate(tracks) if t.energy is not None]
    if energies:
        peak_index, peak = max(energies, key=lambda pair: pair[1].energy or 0)
        arc = _ARC_SENTENCE.get(view.arc or "")
        low = min(t.energy for _, t in energies if t.energy is not None)
        where = f"{_track_name(peak, peak.id)} at track {peak_index + 1} of {len(tracks)}"
        line = f"energy ranges from {low} to {peak.energy} and peaks with {where}"
        rmse = _score_number(view, "arc_rmse")
        if arc and rmse is not None:
            line += f", a typical track sitting {rmse:.1f} energy steps off the curve"
        sentences.append(f"{arc}; {line}." if arc else f"{line[0].upper()}{line[1:]}.")
    repeats = _score_number(view, "same_artist_adjacencies")
    if repeats:
        times = "once" if repeats == 1 else f"{int(repeats)} times"
        sentences.append(f"The same artist plays twice in a row {times}.")
    return _short(" ".join(sentences), LIMITS["description_chars"])


def _tags(view: SetView, genres: list[str], mood: list[str]) -> list[str]:
    tags = [g.lower() for g in genres]
    if view.arc and view.arc != "none":
        tags.append(view.arc)
    bpms = [t.bpm for t in view.tracks if t.bpm]
    if bpms:
        low, high = round(min(bpms)), round(max(bpms))
        tags.append(f"{low} bpm" if low == high else f"{low}-{high} bpm")
    if view.transitions:
        kinds = [relation_kind(t.relation) for t in view.transitions]
        if sum(k in _HARMONIC_KINDS for k in kinds) >= 0.8 * len(kinds):
            tags.append("harmonic")
    tags.extend(m.lower() for m in mood[:3])
    unique = [_short(t, LIMITS["tag_chars"]) for t in dict.fromkeys(tags)]
    return unique[: LIMITS["tags"]]


# --- reading briefs -------------------------------------------------------------------------

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60,
    "seventy": 70, "seventy-five": 75, "eighty": 80, "ninety": 90,
}  # fmt: skip
# longest first, so "forty-five" is read whole rather than as "forty"
_NUM = r"(\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"

# canonical genre → spellings, longest first when matching so "melodic techno" beats "techno"
_GENRES: dict[str, tuple[str, ...]] = {
    "melodic techno": ("melodic techno",),
    "hard techno": ("hard techno",),
    "minimal techno": ("minimal techno",),
    "techno": ("techno",),
    "tech house": ("tech house", "tech-house"),
    "deep house": ("deep house",),
    "progressive house": ("progressive house", "prog house"),
    "melodic house": ("melodic house",),
    "afro house": ("afro house",),
    "organic house": ("organic house",),
    "acid house": ("acid house",),
    "house": ("house",),
    "minimal": ("minimal",),
    "nu disco": ("nu disco", "nu-disco"),
    "disco": ("disco",),
    "indie dance": ("indie dance",),
    "drum and bass": ("drum and bass", "drum & bass", "drum n bass", "drum'n'bass", "dnb", "d&b"),
    "jungle": ("jungle",),
    "dubstep": ("dubstep",),
    "uk garage": ("uk garage", "ukg"),
    "garage": ("garage",),
    "breaks": ("breakbeat", "breaks"),
    "electro": ("electro",),
    "psytrance": ("psytrance", "psy trance", "psy-trance"),
    "progressive trance": ("progressive trance",),
    "trance": ("trance",),
    "hardstyle": ("hardstyle",),
    "ambient": ("ambient",),
    "downtempo": ("downtempo",),
    "hip hop": ("hip hop", "hip-hop"),
    "trap": ("trap",),
}
_MOODS = (
    "sunrise", "sunset", "dark", "melodic", "uplifting", "euphoric", "deep", "groovy", "driving",
    "hypnotic", "gentle", "chill", "emotional", "funky", "energetic", "moody", "dreamy", "warm",
    "raw", "industrial", "bright", "mellow", "soulful", "tribal", "atmospheric", "percussive",
    "playful", "romantic", "summer", "beach", "rooftop", "underground", "late night",
)  # fmt: skip

_ARC_WORDS: tuple[tuple[str, str], ...] = (
    ("journey", r"journey|build[- ]peak[- ]release|up and down|story"),
    ("warm-up", r"warm[- ]?up|opening set|opener|early slot|early doors"),
    (
        "cool-down",
        r"cool[- ]?down|closing|closer|wind(?:ing)? down|after[- ]?hours|come[- ]?down",
    ),
    ("peak-time", r"peak[- ]?time|peak|prime[- ]?time|main[- ]?room|banging|headline"),
    ("build", r"build(?:s|ing)?(?: up)?|climb(?:s|ing)?|ramp(?:s|ing)? up|rising"),
    ("none", r"no arc|flat energy|any order"),
)
_SOFT = r"(?:gentle|gently|slow|slowly|soft|softly|easy|calm|quiet|low|mellow|chill(?:ed)?)"
_GENTLE_START = re.compile(
    rf"\b{_SOFT}\s+(?:start|opening|beginning|intro)\b|\bstart(?:ing|s)?\s+{_SOFT}\b|\bease in\b"
)
_GENTLE_END = re.compile(
    rf"\b{_SOFT}\s+(?:end|ending|finish|close|outro)\b|\bend(?:ing|s)?\s+{_SOFT}\b"
)


def _number(text: str) -> float:
    return float(_NUMBER_WORDS.get(text, 0) or text.replace(",", "."))


def _read_duration(text: str) -> int | None:
    if re.search(r"\bhalf an hour\b", text):
        return 30
    match = re.search(rf"\b{_NUM}\s+and\s+a\s+half\s+hours?\b", text) or re.search(
        rf"\b{_NUM}\s+hours?\s+and\s+a\s+half\b", text
    )
    if match:
        return round((_number(match.group(1)) + 0.5) * 60)
    match = re.search(
        rf"\b{_NUM}\s*(?:h|hrs?|hours?)\b(?:\s*(?:and\s+)?(\d{{1,2}})\s*(?:m|mins?|minutes?)?\b)?",
        text,
    ) or re.search(r"\b(\d+)h(\d{1,2})\b", text)
    if match:
        minutes = _number(match.group(1)) * 60 + (int(match.group(2)) if match.group(2) else 0)
        return round(minutes)
    match = re.search(rf"\b{_NUM}[\s-]*(?:m|mins?|minutes?)\b", text)
    if match:
        return round(_number(match.group(1)))
    return None


_NO_UNIT = r"(?!\s*(?:m|mins?|minutes?|h|hrs?|hours?|tracks?|songs?|%)\b)"


def _read_bpm(text: str) -> tuple[float | None, float | None]:
    bpm = r"(\d{2,3}(?:\.\d+)?)"
    match = (
        re.search(rf"{bpm}\s*(?:-|–|—|to|:|/)\s*{bpm}\s*bpm\b", text)
        or re.search(rf"\bbpm\s*(?:of\s*)?{bpm}\s*(?:-|–|—|to|:|/)\s*{bpm}", text)
        or re.search(rf"\bbetween\s+{bpm}\s+and\s+{bpm}\s*bpm\b", text)
    )
    if match:
        low, high = sorted((float(match.group(1)), float(match.group(2))))
        return low, high
    low_bound = re.search(rf"\b(?:over|above|at least|from|min(?:imum)?)\s+{bpm}\s*bpm\b", text)
    high_bound = re.search(rf"\b(?:under|below|up to|max(?:imum)?)\s+{bpm}\s*bpm\b", text)
    if low_bound or high_bound:
        return (
            float(low_bound.group(1)) if low_bound else None,
            float(high_bound.group(1)) if high_bound else None,
        )
    match = re.search(rf"{bpm}\s*bpm\b", text)
    if not match:
        # "hard techno 140-145": two tempo-sized numbers in a range, with no unit, are BPMs
        unitless = re.search(rf"(?<![\d.:]){bpm}\s*(?:-|–|—|to)\s*{bpm}(?![\d.:]){_NO_UNIT}", text)
        if unitless:
            low, high = sorted((float(unitless.group(1)), float(unitless.group(2))))
            if low >= 60 and high <= 200 and high - low <= 20:
                return low, high
    if match:
        # "around 128 bpm": ±2 BPM, about 1.5 %, keeps pitch moves well under half a semitone
        centre = float(match.group(1))
        return centre - 2, centre + 2
    return None, None


def _read_genres(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    spellings = sorted(
        ((s, g) for g, ss in _GENRES.items() for s in ss), key=lambda pair: -len(pair[0])
    )
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for spelling, genre in spellings:
        for match in re.finditer(rf"(?<![\w&]){re.escape(spelling)}(?![\w&])", text):
            span = match.span()
            if any(s < span[1] and span[0] < e for s, e in spans):
                continue
            spans.append(span)
            found.append((span[0], genre))
    ordered = [g for _, g in sorted(found)]
    return list(dict.fromkeys(ordered)), spans


def _read_moods(text: str, taken: list[tuple[int, int]]) -> list[str]:
    found: list[tuple[int, str]] = []
    for mood in _MOODS:
        for match in re.finditer(rf"\b{re.escape(mood)}\b", text):
            span = match.span()
            if not any(s < span[1] and span[0] < e for s, e in taken):
                found.append((span[0], mood))
                break
    return [m for _, m in sorted(found)]


def _arc_hits(text: str) -> list[tuple[int, int, str]]:
    hits = []
    for name, pattern in _ARC_WORDS:
        match = re.search(rf"\b(?:{pattern})\b", text)
        if match:
            hits.append((match.start(), match.end(), name))
    return hits


def _read_arc(text: str) -> str | None:
    hits = [(start, name) for start, _, name in _arc_hits(text)]
    gentle_start = bool(_GENTLE_START.search(text))
    gentle_end = bool(_GENTLE_END.search(text))
    if gentle_start and gentle_end:
        return "journey"  # low, up, low again is the build-peak-release shape
    if hits:
        return min(hits)[1]
    if gentle_start:
        return "build"
    if gentle_end:
        return "cool-down"
    return None


class LocalProvider:
    """Notes and brief reading by rules: deterministic, offline, the fallback for every model."""

    name = "local"

    def annotate(self, set_view: SetView, brief: str | None) -> SetNotes:
        """Write a title, description, a note per transition and tags from the scorecard."""
        tracks = {t.id: t for t in set_view.tracks}
        genres = _genres(set_view.tracks)
        mood = self.interpret_brief(brief).mood if brief else []
        return SetNotes(
            title=_title(set_view, genres, mood),
            description=_description(set_view, genres),
            transitions=[
                TransitionNote(from_id=t.from_id, to_id=t.to_id, note=_note(t, tracks))
                for t in set_view.transitions
            ],
            tags=_tags(set_view, genres, mood),
            provider=self.name,
        )

    def interpret_brief(self, text: str) -> BriefParameters:
        """Read duration, arc, BPM range, genres and mood words from a DJ's sentence."""
        lowered = " ".join(text.lower().split())
        duration = _read_duration(lowered)
        if duration is not None and not DURATION_MIN_RANGE[0] <= duration <= DURATION_MIN_RANGE[1]:
            duration = None
        bpm_min, bpm_max = _read_bpm(lowered)
        if not all(v is None or BPM_RANGE[0] <= v <= BPM_RANGE[1] for v in (bpm_min, bpm_max)):
            bpm_min = bpm_max = None
        genres, spans = _read_genres(lowered)
        return BriefParameters(
            duration_min=duration,
            arc=_read_arc(lowered),
            bpm_min=bpm_min,
            bpm_max=bpm_max,
            genres=genres[: LIMITS["brief_words"]],
            # words already read as a genre or an arc ("deep house", "warm-up") are not moods
            mood=_read_moods(lowered, spans + [(s, e) for s, e, _ in _arc_hits(lowered)])[
                : LIMITS["brief_words"]
            ],
            provider=self.name,
        )
