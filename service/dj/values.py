"""Normalise one track value in one place: BPM, energy, year, ISRC, duration, text, Mixed In Key comments.

Each parser takes what a tag, a playlist or a CSV cell holds and returns the canonical value, or raises
:class:`ValueError` with a sentence a DJ can read (callers turn it into a warning or a problem line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from service.dj.keys import Key, KeyParseError, parse_key

__all__ = [
    "MAX_BPM",
    "MIN_BPM",
    "parse_bpm",
    "parse_duration",
    "parse_energy",
    "parse_isrc",
    "parse_key_value",
    "parse_mik_comment",
    "parse_text",
    "parse_year",
]

# Slowest and fastest tempo a DJ tool writes for real music. Below and above are placeholders (0),
# tools that store BPM × 100 ("12800"), or typos.
MIN_BPM = 40.0
MAX_BPM = 300.0

_BPM_RE = re.compile(r"^\s*(\d{1,5}(?:[.,]\d+)?)\s*(?:bpm)?\s*$", re.IGNORECASE)
_ENERGY_RE = re.compile(r"^\s*(\d{1,2})(?:[.,]0+)?\s*$")
_YEAR_RE = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# What tools write for "no year": Rekordbox Year="0", ID3 "0000", Traktor "0/0/0".
_NO_YEAR_RE = re.compile(r"^[0\s/.:-]+$")
_ISRC_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
_CLOCK_RE = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)\s*$")
_BARE_RE = re.compile(r"^(\d+(?:[.,]\d+)?)$")
_UNITS_RE = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m(?:in)?)?(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}
_BARE_UNIT_S = {"s": 1.0, "min": 60.0}
# Mixed In Key writes "8A - Energy 6" (also "8A - 6", "1m - Energy 6", "Am - Energy 6") into comments.
_MIK_KEY_RE = re.compile(r"^\s*(?P<key>0?\d{1,2}\s?[ABabmd])\s*(?:[-/|,]|$)")
_MIK_NAME_RE = re.compile(r"^\s*(?P<key>[A-Ga-g][#b♯♭]?\s?(?:m|min|maj)?)\s*[-/|,]")
_MIK_ENERGY_RE = re.compile(r"\benergy\s*[:=]?\s*(\d{1,2})\b", re.IGNORECASE)


def parse_text(value: object) -> str | None:
    """Trimmed text, or None when empty."""
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    text = text.replace("\x00", "").strip()
    return text or None


def parse_bpm(value: object) -> float | None:
    """Tempo in beats per minute from ``128``, ``"128"``, ``"127.98"`` or ``"128,5"``.

    Empty and 0 (what tools write for "not analysed") give None; values outside 40–300 raise.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"BPM {value!r} is not a number")
    if isinstance(value, int | float):
        bpm = float(value)
    else:
        text = parse_text(value)
        if text is None:
            return None
        m = _BPM_RE.match(text)
        if not m:
            raise ValueError(f"BPM {text!r} is not a number")
        bpm = float(m[1].replace(",", "."))
    if bpm == 0:
        return None
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise ValueError(f"BPM {bpm:g} is outside {MIN_BPM:g}–{MAX_BPM:g}")
    return round(bpm, 2)


def parse_energy(value: object) -> int | None:
    """Energy level 1–10 (Mixed In Key's scale) from ``6``, ``"6"`` or ``"06"``."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        energy = value
    else:
        text = parse_text(value)
        if text is None:
            return None
        m = _ENERGY_RE.match(text)
        if not m:
            raise ValueError(f"energy {text!r} is not a whole number")
        energy = int(m[1])
    if not 1 <= energy <= 10:
        raise ValueError(f"energy {energy} is outside 1–10")
    return energy


def parse_year(value: object) -> int | None:
    """The year from ``2019``, ``"2019-05-03"`` or ``"03/05/2019"``; ``0`` (Rekordbox: none) is None."""
    text = parse_text(value)
    if text is None or _NO_YEAR_RE.match(text):
        return None
    m = _YEAR_RE.search(text)
    if not m or not 1000 <= int(m[1]) <= 2999:
        raise ValueError(f"no year in {text!r}")
    return int(m[1])


def parse_isrc(value: object) -> str | None:
    """An ISRC in its 12-character form (``GBAYE0601498``) from any spacing or hyphenation."""
    text = parse_text(value)
    if text is None:
        return None
    code = re.sub(r"[\s-]", "", text).upper()
    if not _ISRC_RE.match(code):
        raise ValueError(f"{text!r} is not an ISRC")
    return code


def parse_duration(value: object, *, bare_unit: str = "s") -> float | None:
    """Seconds from ``372``, ``"6:12"``, ``"1:02:03"``, ``"90m"``, ``"1h30m"`` or ``"5400s"``.

    A bare number counts in ``bare_unit``: seconds (``"s"``) for a track's length as tags and
    playlists write it, minutes (``"min"``) for a set's length as a DJ types it. 0 or less is
    unknown (None); text that is no duration raises ValueError.
    """
    if bare_unit not in _BARE_UNIT_S:
        raise ValueError(f"bare_unit must be one of {', '.join(_BARE_UNIT_S)}")
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) * _BARE_UNIT_S[bare_unit]
    else:
        text = parse_text(value)
        if text is None:
            return None
        compact = text.lower().replace(" ", "")
        if m := _BARE_RE.match(compact):
            seconds = float(m[1].replace(",", ".")) * _BARE_UNIT_S[bare_unit]
        elif m := _CLOCK_RE.match(compact):
            seconds = int(m[1] or 0) * 3600 + int(m[2]) * 60 + float(m[3].replace(",", "."))
        elif (m := _UNITS_RE.match(compact)) and any(m.groupdict().values()):
            seconds = sum(float(m[unit] or 0) * factor for unit, factor in _UNIT_S.items())
        else:
            raise ValueError(f"duration {text!r}: use seconds, m:ss, h:mm:ss or e.g. 90m, 1h30m")
    if seconds <= 0:
        return None
    return round(seconds, 3)


# What tools write in a key field for "no key": Traktor "off" when key detection is off, blanks
# and dashes from spreadsheets. Traktor's numeric "0" is C major, not one of these.
_NO_KEY = frozenset({"off", "none", "n/a", "na", "-", "--", "?", "unknown"})


def parse_key_value(value: object) -> Key | None:
    """A key from any notation :func:`service.dj.keys.parse_key` reads; empty or "off" is None."""
    if value is None or isinstance(value, Key | int | Mapping):
        return parse_key(value) if value is not None else None
    text = parse_text(value)
    if text is None or text.casefold() in _NO_KEY:
        return None
    return parse_key(text)


def parse_mik_comment(value: object) -> tuple[Key | None, int | None]:
    """Key and energy from a Mixed In Key comment such as ``"8A - Energy 6"``; (None, None) if none.

    A key is taken from the start of the comment only when it is Camelot/Open Key followed by a
    separator or the end, or a key name in a comment that also carries an energy: a plain comment
    such as "A classic" must not become A major.
    """
    text = parse_text(value)
    if text is None:
        return None, None
    energy = None
    if em := _MIK_ENERGY_RE.search(text):
        try:
            energy = parse_energy(em[1])
        except ValueError:
            energy = None
    key = None
    km = _MIK_KEY_RE.match(text)
    if km is None and energy is not None:
        km = _MIK_NAME_RE.match(text)
    if km is not None:
        try:
            key = parse_key(km["key"].replace(" ", ""))
        except KeyParseError:
            key = None
    return key, energy
