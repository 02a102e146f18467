"""Musical keys: one parser for every notation DJs meet, one ``Key`` value, and how two keys mix.

Every caller turns key text into a :class:`Key` with :func:`parse_key` and renders it back with
``Key.camelot``, ``Key.open_key``, ``Key.name`` or ``Key.traktor``; nothing else in the code base
parses key text.

Notations understood (see ``shared/FACTS.md``):

- Camelot ``8A``, ``08A``, ``8a`` (A = minor, B = major);
- Open Key ``1m``, ``10d`` (Camelot + 5, ``m`` minor, ``d`` major);
- musical names ``Am``, ``A minor``, ``Amin``, ``A#m``, ``Bbm``, ``B♭m``, ``F♯``, ``C major``, ``Cmaj``,
  ``A-moll``/``C-Dur``; a lone lower-case letter (``a``, ``bb``) is minor and a lone capital (``A``)
  major, the classical convention some taggers use;
- Traktor's numeric key ``0``–``23`` (0–11 = C…B major, 12–23 = Cm…Bm), as an int or digits;
- Beatport key objects ``{"name": "A Minor", "camelot_number": 8, "camelot_letter": "A"}``.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALL_KEYS",
    "Key",
    "KeyParseError",
    "KeyRelation",
    "key_at_tempo",
    "parse_key",
    "relation",
    "semitones_for_tempo",
    "wheel_step",
]


class KeyParseError(ValueError):
    """Raised when text names no key in any notation we know; the message quotes the text."""

    def __init__(self, text: object, detail: str = "") -> None:
        self.text = text
        message = f"unknown key notation: {text!r}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


# Names as DJs (and the Camelot wheel) spell them: flats except F♯/C♯ minor, F♯ major. ASCII only, so
# they survive every export format; the parser accepts ♯/♭ too.
_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "Abm", "Am", "Bbm", "Bm")
_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


@dataclass(frozen=True, order=True, slots=True)
class Key:
    """A musical key: the tonic's pitch class (C = 0 … B = 11) and whether it is minor."""

    pitch_class: int
    minor: bool

    def __post_init__(self) -> None:
        if not 0 <= self.pitch_class <= 11:
            raise ValueError(f"pitch class must be 0–11, got {self.pitch_class}")

    @classmethod
    def from_camelot(cls, number: int, letter: str) -> Key:
        """The key at Camelot position ``number`` (1–12) and ``letter`` (A minor, B major)."""
        letter = letter.upper()
        if not 1 <= number <= 12 or letter not in ("A", "B"):
            raise KeyParseError(f"{number}{letter}", "Camelot is 1–12 followed by A or B")
        # Major tonic pc has n = (8 + 7·pc) mod 12; 7 is its own inverse mod 12.
        major_pc = (7 * (number - 8)) % 12
        if letter == "B":
            return cls(major_pc, minor=False)
        return cls((major_pc - 3) % 12, minor=True)  # a minor key sits under its relative major

    @classmethod
    def from_open_key(cls, number: int, letter: str) -> Key:
        """The key at Open Key position ``number`` (1–12) and ``letter`` (m minor, d major)."""
        letter = letter.lower()
        if not 1 <= number <= 12 or letter not in ("m", "d"):
            raise KeyParseError(f"{number}{letter}", "Open Key is 1–12 followed by m or d")
        return cls.from_camelot((number - 6) % 12 + 1, "A" if letter == "m" else "B")

    @classmethod
    def from_traktor(cls, value: int) -> Key:
        """The key for Traktor's numeric ``MUSICAL_KEY`` value (0–11 major, 12–23 minor)."""
        if not 0 <= value <= 23:
            raise KeyParseError(value, "Traktor's numeric key is 0–23")
        return cls(value % 12, minor=value >= 12)

    @property
    def camelot_number(self) -> int:
        """Position on the Camelot wheel, 1–12."""
        major_pc = (self.pitch_class + 3) % 12 if self.minor else self.pitch_class
        return (8 + 7 * major_pc) % 12 or 12

    @property
    def camelot_letter(self) -> str:
        """``A`` for minor, ``B`` for major."""
        return "A" if self.minor else "B"

    @property
    def camelot(self) -> str:
        """Camelot notation, e.g. ``8A``."""
        return f"{self.camelot_number}{self.camelot_letter}"

    @property
    def open_key(self) -> str:
        """Open Key notation, e.g. ``1m``."""
        return f"{(self.camelot_number + 4) % 12 + 1}{'m' if self.minor else 'd'}"

    @property
    def name(self) -> str:
        """Musical name in ASCII, e.g. ``Am``, ``F#m``, ``Eb``."""
        return (_MINOR_NAMES if self.minor else _MAJOR_NAMES)[self.pitch_class]

    @property
    def traktor(self) -> int:
        """Traktor's numeric key, 0–23."""
        return self.pitch_class + (12 if self.minor else 0)

    def transposed(self, semitones: int) -> Key:
        """This key transposed by ``semitones`` (positive = up)."""
        return Key((self.pitch_class + semitones) % 12, self.minor)

    def to_json(self) -> dict[str, str]:
        """The JSON shape the command line and exports use."""
        return {"camelot": self.camelot, "open_key": self.open_key, "name": self.name}

    def __str__(self) -> str:
        return self.camelot


ALL_KEYS: tuple[Key, ...] = tuple(Key(pc, minor) for minor in (True, False) for pc in range(12))

_CAMELOT_RE = re.compile(r"^0?(\d{1,2})\s*([ab])$", re.IGNORECASE)
_OPEN_KEY_RE = re.compile(r"^0?(\d{1,2})\s*([md])$", re.IGNORECASE)
_NAME_RE = re.compile(
    r"""^(?P<letter>[a-g])
        [\s-]*(?P<acc>\#|b|sharp|flat|is|es|s)?
        [\s-]*(?P<mode>m|min|minor|moll|maj|major|dur|mi|ma)?\.?$""",
    re.IGNORECASE | re.VERBOSE,
)
_ACCIDENTALS = {"#": 1, "sharp": 1, "is": 1, "b": -1, "flat": -1, "es": -1, "s": -1}
_MINOR_WORDS = {"m", "min", "minor", "moll", "mi"}


def _clean(text: str) -> str:
    """Fold the Unicode spellings of sharps, flats and dashes into ASCII and trim."""
    text = unicodedata.normalize("NFKC", text)
    return (
        text.replace("♯", "#")
        .replace("♭", "b")
        .replace("＃", "#")
        .replace("–", "-")
        .replace("—", "-")
        .strip()
    )


def _parse_text(raw: str) -> Key:
    text = _clean(raw)
    if not text:
        raise KeyParseError(raw, "empty")
    try:
        if text.isdigit():
            return Key.from_traktor(int(text))
        if m := _CAMELOT_RE.match(text):
            return Key.from_camelot(int(m[1]), m[2])
        if m := _OPEN_KEY_RE.match(text):
            return Key.from_open_key(int(m[1]), m[2])
    except KeyParseError as exc:
        detail = str(exc).partition("(")[2].rstrip(")")
        raise KeyParseError(raw, detail) from None
    if m := _NAME_RE.match(text):
        letter, acc, mode = m["letter"], m["acc"], m["mode"]
        pc = (_LETTER_PC[letter.lower()] + _ACCIDENTALS.get((acc or "").lower(), 0)) % 12
        # Without a mode word the letter's case decides (a = A minor, A = A major); "m" is minor.
        minor = mode.lower() in _MINOR_WORDS if mode else letter.islower()
        return Key(pc, minor)
    raise KeyParseError(raw)


def _parse_mapping(obj: Mapping[str, Any]) -> Key:
    number, letter = obj.get("camelot_number"), obj.get("camelot_letter")
    if number is not None and letter:
        try:
            return Key.from_camelot(int(number), str(letter))
        except (TypeError, ValueError) as exc:
            raise KeyParseError(dict(obj), str(exc)) from None
    name = obj.get("name")
    if isinstance(name, str):
        return _parse_text(name)
    raise KeyParseError(dict(obj), "no camelot_number/camelot_letter or name")


def parse_key(value: object) -> Key:
    """Turn key text, a Traktor number or a Beatport key object into a :class:`Key`.

    Raises :class:`KeyParseError` naming the input when no notation fits.
    """
    if isinstance(value, Key):
        return value
    if isinstance(value, bool):
        raise KeyParseError(value)
    if isinstance(value, int):
        return Key.from_traktor(value)
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, Mapping):
        return _parse_mapping(value)
    raise KeyParseError(value, f"cannot read a key from {type(value).__name__}")


class KeyRelation(enum.Enum):
    """How the key of the next track relates to the current one; ``.cost`` ranks it for sequencing.

    Costs (0 = perfect, 1 = clash) follow the Camelot convention. Same key, one step round the wheel
    and the relative major/minor keep six or seven of the seven scale notes: "harmonic", nearly free.
    A diagonal (one step and the other mode) and the +2 "energy boost" are audible but usable on
    purpose. A semitone change (±7 on the wheel) is a deliberate key change, not a blend. Everything
    else clashes, including −2: the boost is a move upward only.
    """

    SAME = "same key"
    ADJACENT = "±1"
    RELATIVE = "relative"
    DIAGONAL = "diagonal"
    ENERGY_BOOST = "energy boost +2"
    SEMITONE = "semitone change"
    CLASH = "clash"

    @property
    def cost(self) -> float:
        """Compatibility cost, 0 (same key) to 1 (clash)."""
        return _RELATION_COST[self]

    @property
    def harmonic(self) -> bool:
        """True for the moves that blend without a clash: same, ±1, relative."""
        return self in _HARMONIC


_RELATION_COST = {
    KeyRelation.SAME: 0.0,
    KeyRelation.ADJACENT: 0.1,
    KeyRelation.RELATIVE: 0.15,
    KeyRelation.DIAGONAL: 0.4,
    KeyRelation.ENERGY_BOOST: 0.45,
    KeyRelation.SEMITONE: 0.7,
    KeyRelation.CLASH: 1.0,
}
_HARMONIC = frozenset({KeyRelation.SAME, KeyRelation.ADJACENT, KeyRelation.RELATIVE})


def wheel_step(a: Key, b: Key) -> int:
    """Signed distance from ``a`` to ``b`` round the Camelot wheel, in -5…6."""
    d = (b.camelot_number - a.camelot_number) % 12
    return d - 12 if d > 6 else d


def relation(a: Key, b: Key) -> KeyRelation:
    """The relation of key ``b`` (next track) to key ``a`` (current track); +2 and −2 differ."""
    step = wheel_step(a, b)
    same_mode = a.minor == b.minor
    if step == 0:
        return KeyRelation.SAME if same_mode else KeyRelation.RELATIVE
    if step in (1, -1):
        return KeyRelation.ADJACENT if same_mode else KeyRelation.DIAGONAL
    if same_mode and step == 2:
        return KeyRelation.ENERGY_BOOST
    if same_mode and step in (5, -5):  # ±7 on the wheel is ∓5 once folded into -5…6
        return KeyRelation.SEMITONE
    return KeyRelation.CLASH


def semitones_for_tempo(percent: float) -> float:
    """Pitch shift in semitones when a track plays ``percent`` % faster (negative: slower), no keylock."""
    factor = 1.0 + percent / 100.0
    if factor <= 0:
        raise ValueError(f"tempo change must be above -100 %, got {percent}")
    return 12.0 * math.log2(factor)


def key_at_tempo(key: Key, percent: float) -> Key:
    """The key a track in ``key`` sounds in when played ``percent`` % faster or slower without keylock.

    The shift is rounded to the nearest semitone: below about 3 % a track stays in its key, about 6 %
    moves it one semitone (7 steps round the wheel).
    """
    return key.transposed(round(semitones_for_tempo(percent)))
