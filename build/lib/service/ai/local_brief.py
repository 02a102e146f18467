"""Briefs read by rules: duration, arc, BPM range, genres and mood words from a DJ's sentence.

English only and deterministic; the fallback for every model provider. Values outside the bounds
in ``service.ai.validation`` are dropped as misreads rather than passed on.
"""

from __future__ import annotations

import re

from service.ai.types import BriefParameters
from service.ai.validation import LIMITS
from service.dj.sequencing.plan import SET_BPM_RANGE, SET_MINUTES_RANGE

__all__ = ["read_brief"]

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


def read_brief(text: str, provider: str) -> BriefParameters:
    """Read duration, arc, BPM range, genres and mood words from a DJ's sentence."""
    lowered = " ".join(text.lower().split())
    duration = _read_duration(lowered)
    if duration is not None and not SET_MINUTES_RANGE[0] <= duration <= SET_MINUTES_RANGE[1]:
        duration = None
    bpm_min, bpm_max = _read_bpm(lowered)
    if not all(v is None or SET_BPM_RANGE[0] <= v <= SET_BPM_RANGE[1] for v in (bpm_min, bpm_max)):
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
        provider=provider,
    )
