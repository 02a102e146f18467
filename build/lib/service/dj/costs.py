"""The transition cost: how hard it is to mix track ``a`` into track ``b``, as one number.

The unit is a key clash: mixing two clashing keys at the same tempo costs 1. The cost adds:

**Key** (``key`` × ``KeyRelation.cost`` from :mod:`service.dj.keys`, documented there: 0 same key,
0.1 ±1, 0.15 relative, 0.4 diagonal, 0.45 energy boost +2, 0.7 semitone, 1 clash). Without keylock (the default), the incoming track
is played at the outgoing track's tempo, which moves its key by ``12·log2(tempo ratio)`` semitones
rounded (:func:`service.dj.keys.key_at_tempo`): about 6 % moves a key one semitone, seven steps round
the wheel, so a harmonic pair can clash once pitched. Keylock off is the default because it is the
stricter model and how many DJs play (keylock degrades the sound at larger shifts); ``keylock=True``
compares the tagged keys as they are. A key that came from audio detection (source ``analysis``) is
wrong about 30 % of the time even for the best detector (Mixed In Key: 69.4 % exact on GiantSteps,
see FACTS.md), so its relation cost is pulled toward the average relation cost:
``(1 − p)·cost + p·mean`` with ``p = 1 − 0.7^k`` for ``k`` detected keys in the pair. A missing key
costs the average.

**Tempo** (``tempo`` × f(|change %|)), the change compared at ×1, ×2 and ×½ (octave-folded):
``f(p) = (p/6)²`` up to 6 % (3 % costs 0.25: still under half a semitone; 6 % costs as much as a
clash), then linear with the same slope (``1 + (p − 6)/3``) so far jumps stay ordered without
swamping everything else. A missing BPM costs 0.5.

**Energy** (1–10): a rise of more than one level costs ``energy_up · (d − 1)²`` (0.1: +3 costs 0.4),
a drop of more than one ``energy_drop · (d − 1)²`` (0.15: −3 costs 0.6); drops empty a floor faster
than rises tire it. The overall shape of the set is the arc's job (:mod:`service.dj.arcs`).

**Same artist back to back** ``same_artist`` = 0.5 (any shared artist name); **same label**
``same_label`` = 0 by default (0.2 is a sensible choice for label showcases); **genre change**
``genre_change`` = 0.25 (both genres known and different).

Everything is computed for all pairs at once in numpy (one 24 × 24 relation table, no Python loop
over pairs), so a 1,000-track pool takes well under a second.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.dj.keys import ALL_KEYS, Key, key_at_tempo, relation
from service.dj.tracks import Track

__all__ = [
    "DETECTED_KEY_ERROR",
    "CostWeights",
    "TransitionFacts",
    "cost_matrix",
    "relation_name",
    "tempo_change_matrix",
    "transition_facts",
]

#: Share of wrong keys among detected ones (best published detector, GiantSteps: 30.6 %).
DETECTED_KEY_ERROR = 0.3
#: Source tag of a value detected from the audio (see ``Track.sources``).
DETECTED_SOURCE = "analysis"
#: Tempo cost of a transition where a BPM is unknown.
UNKNOWN_TEMPO_COST = 0.5


@dataclass(frozen=True)
class CostWeights:
    """Weights of the cost terms; the defaults are justified in the module docstring."""

    key: float = 1.0
    tempo: float = 1.0
    energy_up: float = 0.1
    energy_drop: float = 0.15
    same_artist: float = 0.5
    same_label: float = 0.0
    genre_change: float = 0.25
    keylock: bool = False


def relation_name(rel: object) -> str:
    """The short human name of a key relation (e.g. ``relative``)."""
    label = getattr(rel, "label", None)
    if isinstance(label, str):
        return label
    value = getattr(rel, "value", rel)
    return value if isinstance(value, str) else str(value)


def _key_index(key: Key | None) -> int:
    return -1 if key is None else key.pitch_class + (12 if key.minor else 0)


@functools.lru_cache(maxsize=1)
def _relation_table() -> np.ndarray:
    """Relation cost from key index a to key index b (index = pitch class + 12 if minor)."""
    table = np.zeros((24, 24))
    for a in ALL_KEYS:
        for b in ALL_KEYS:
            table[_key_index(a), _key_index(b)] = relation(a, b).cost
    return table


def _fold_ratio(bpm_from: np.ndarray, bpm_to: np.ndarray) -> np.ndarray:
    """Speed factor for ``to`` to match ``from``, folded over ×2 and ×½ to the one nearest 1."""
    ratio = bpm_from / bpm_to
    log2 = np.log2(ratio)
    return np.exp2(log2 - np.round(log2))


def tempo_change_matrix(tracks: Sequence[Track]) -> np.ndarray:
    """Signed tempo change in % for ``b`` to match ``a`` (octave-folded); NaN where a BPM is unknown."""
    bpm = np.array([t.bpm if t.bpm and t.bpm > 0 else np.nan for t in tracks], dtype=float)
    with np.errstate(invalid="ignore"):
        return (_fold_ratio(bpm[:, None], bpm[None, :]) - 1.0) * 100.0


def _tempo_cost(change: np.ndarray) -> np.ndarray:
    p = np.abs(change)
    cost = np.where(p <= 6.0, (p / 6.0) ** 2, 1.0 + (p - 6.0) / 3.0)
    return np.nan_to_num(cost, nan=UNKNOWN_TEMPO_COST)


_ARTIST_SPLIT = re.compile(
    r"\s*(?:,|&|;|/|\bfeat\.?|\bft\.?|\bfeaturing\b|\bx\b|\bvs\.?|\band\b)\s*"
)


def _artist_names(artist: str | None) -> set[str]:
    if not artist:
        return set()
    return {part.strip() for part in _ARTIST_SPLIT.split(artist.casefold()) if part.strip()}


def _shared_names(names: list[set[str]]) -> np.ndarray:
    vocabulary = {name: k for k, name in enumerate(sorted(set().union(*names)))} if names else {}
    incidence = np.zeros((len(names), max(1, len(vocabulary))), dtype=np.float32)
    for row, group in enumerate(names):
        for name in group:
            incidence[row, vocabulary[name]] = 1.0
    return (incidence @ incidence.T) > 0


def _equal_known(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(same, both known) matrices for a text field compared case-insensitively."""
    codes: dict[str, int] = {}
    arr = np.array(
        [-1 if not v else codes.setdefault(v.strip().casefold(), len(codes)) for v in values]
    )
    known = (arr[:, None] >= 0) & (arr[None, :] >= 0)
    return known & (arr[:, None] == arr[None, :]), known


def cost_matrix(tracks: Sequence[Track], weights: CostWeights | None = None) -> np.ndarray:
    """Transition cost from every track (row) to every other (column); the diagonal is 0."""
    w = weights or CostWeights()
    n = len(tracks)
    if n == 0:
        return np.zeros((0, 0))
    change = tempo_change_matrix(tracks)
    total = w.tempo * _tempo_cost(change)

    # key: relation of a's key to the key b is heard in at a's tempo
    kidx = np.array([_key_index(t.key) for t in tracks])
    table = _relation_table()
    mean_cost = float(table.mean())
    if w.keylock:
        shift = np.zeros((n, n), dtype=int)
    else:
        with np.errstate(invalid="ignore"):
            semis = np.round(12.0 * np.log2(1.0 + change / 100.0))
        shift = np.nan_to_num(semis, nan=0.0).astype(int)
    kb = kidx[None, :]
    heard = np.where(kb >= 0, (kb % 12 + shift) % 12 + 12 * (kb >= 12), -1)
    ka = np.broadcast_to(kidx[:, None], (n, n))
    known = (ka >= 0) & (heard >= 0)
    rel = np.where(known, table[np.where(known, ka, 0), np.where(known, heard, 0)], mean_cost)
    detected = np.array([t.sources.get("key") == DETECTED_SOURCE for t in tracks], dtype=float)
    n_detected = detected[:, None] + detected[None, :]
    p = 1.0 - (1.0 - DETECTED_KEY_ERROR) ** n_detected
    total += w.key * ((1.0 - p) * rel + p * mean_cost)

    energy = np.array([np.nan if t.energy is None else float(t.energy) for t in tracks])
    d = energy[None, :] - energy[:, None]
    up = w.energy_up * np.maximum(0.0, d - 1.0) ** 2
    drop = w.energy_drop * np.maximum(0.0, -d - 1.0) ** 2
    total += np.nan_to_num(up + drop, nan=0.0)

    if w.same_artist:
        total += w.same_artist * _shared_names([_artist_names(t.artist) for t in tracks])
    if w.same_label:
        same, _ = _equal_known([t.label for t in tracks])
        total += w.same_label * same
    if w.genre_change:
        same, both = _equal_known([t.genre for t in tracks])
        total += w.genre_change * (both & ~same)
    np.fill_diagonal(total, 0.0)
    return total


@dataclass(frozen=True)
class TransitionFacts:
    """What a DJ needs to know about one transition."""

    relation: str | None  # relation name of the keys as heard, None when a key is unknown
    relation_kind: str | None  # the relation's enum name (SAME … CLASH)
    harmonic: bool | None
    clash: bool | None
    heard_key: Key | None  # the incoming key as heard at the outgoing tempo
    tempo_change_pct: float | None  # signed: + means the incoming track is sped up
    tempo_factor: float | None  # ×1, ×2 or ×½ octave fold used
    energy_change: int | None
    same_artist: bool
    cost: float


def transition_facts(a: Track, b: Track, weights: CostWeights | None = None) -> TransitionFacts:
    """Relation, tempo change, energy change and cost of mixing ``a`` into ``b``."""
    w = weights or CostWeights()
    change = float(tempo_change_matrix([a, b])[0, 1])
    change_pct = None if math.isnan(change) else change
    factor = None
    if a.bpm and b.bpm:
        raw = math.log2(a.bpm / b.bpm)
        factor = 2.0 ** round(raw)
    heard = None
    rel = None
    if b.key is not None:
        heard = b.key if (w.keylock or change_pct is None) else key_at_tempo(b.key, change_pct)
    if a.key is not None and heard is not None:
        rel = relation(a.key, heard)
    return TransitionFacts(
        relation=relation_name(rel) if rel is not None else None,
        relation_kind=rel.name if rel is not None else None,
        harmonic=rel.harmonic if rel is not None else None,
        clash=(rel.name == "CLASH") if rel is not None else None,
        heard_key=heard,
        tempo_change_pct=change_pct,
        tempo_factor=factor,
        energy_change=(b.energy - a.energy)
        if a.energy is not None and b.energy is not None
        else None,
        same_artist=bool(_artist_names(a.artist) & _artist_names(b.artist)),
        cost=float(cost_matrix([a, b], w)[0, 1]),
    )
