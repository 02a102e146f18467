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
``(1 − p)·cost + p·mean`` with ``p = 1 − (1 − e_a)(1 − e_b)``, ``e`` a detected key's chance of being
wrong by its detector's confidence (``Track.confidence["key"]``): 0.15 from 0.7 up, 0.3 (the
published average) from 0.4 or when no confidence is known, 0.5 below 0.4; 0 for a key from tags or
the DJ. A missing key costs the average.

**Tempo** (``tempo`` × f(|change %|)), the change compared at ×1, ×2 and ×½ (octave-folded):
``f(p) = (p/6)²`` up to 6 % (3 % costs 0.25: still under half a semitone; 6 % costs as much as a
clash), then linear with the same slope (``1 + (p − 6)/3``) so far jumps stay ordered without
swamping everything else. A missing BPM costs 0.5.

**Energy** (1–10): a rise of more than one level costs ``energy_up · (d − 1)²`` (0.1: +3 costs 0.4),
a drop of more than one ``energy_drop · (d − 1)²`` (0.15: −3 costs 0.6); drops empty a floor faster
than rises tire it. The overall shape of the set is the arc's job (:mod:`service.dj.arcs`).

**Same artist back to back** ``same_artist`` = 4 (any shared artist name): a DJ plays another
artist in between whenever the pool has one that mixes at all, so a repeat costs as much as a key
clash with a 12 % tempo jump (1 + 3). At 0.5, 93 of 96 random 12-track pools (bpm 124–126, seeds
0–99, no artist on more than half the tracks) got a repeat; at 4, one did (`tests/engine/test_costs.py`
keeps pools with alternatives free of them). Where no alternative exists (one artist's pool) every
order pays the same and nothing else changes. **Same label**
``same_label`` = 0 by default (0.2 is a sensible choice for label showcases); **genre change**
``genre_change`` = 0.25 (both genres known and different).

Everything is one vectorised function over pairs of tracks (one 24 × 24 relation table, no Python
loop over pairs): the matrix runs it over blocks of rows, so a 10,000-track pool needs no more than a
block's temporaries beside the matrix itself (float32 from :data:`FLOAT32_FROM` tracks: 400 MB at
10,000), and the scorecard runs it along the consecutive pairs of a played order.
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
    "FLOAT32_FROM",
    "CostWeights",
    "TransitionFacts",
    "cost_matrix",
    "relation_name",
    "tempo_change_matrix",
    "transition_facts",
    "transitions_along",
]

#: Share of wrong keys among detected ones (best published detector, GiantSteps: 30.6 %).
DETECTED_KEY_ERROR = 0.3
#: Source tag of a value detected from the audio (see ``Track.sources``).
DETECTED_SOURCE = "analysis"
#: Tempo cost of a transition where a BPM is unknown.
UNKNOWN_TEMPO_COST = 0.5
#: Pools of this many tracks and more get a float32 matrix (half the memory; costs need no more).
FLOAT32_FROM = 2000
#: Matrix entries computed at once (rows per block = this ÷ pool size).
_BLOCK_ENTRIES = 1 << 20
_LN2 = math.log(2.0)
_ENERGY_CODES = 65  # whole energies 0–63, and 64 for unknown


@dataclass(frozen=True)
class CostWeights:
    """Weights of the cost terms; the defaults are justified in the module docstring."""

    key: float = 1.0
    tempo: float = 1.0
    energy_up: float = 0.1
    energy_drop: float = 0.15
    same_artist: float = 4.0
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


def _tempo_change(bpm_from: np.ndarray, bpm_to: np.ndarray) -> np.ndarray:
    """Signed tempo change in % for ``to`` to match ``from`` (octave-folded); NaN when unknown."""
    with np.errstate(invalid="ignore"):
        return (_fold_ratio(bpm_from, bpm_to) - 1.0) * 100.0


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


def _codes(values: list[str | None]) -> np.ndarray:
    """An integer per distinct text (compared case-insensitively), −1 when unknown."""
    codes: dict[str, int] = {}
    return np.array(
        [-1 if not v else codes.setdefault(v.strip().casefold(), len(codes)) for v in values],
        dtype=np.int64,
    )


class _Features:
    """What the cost reads of each track, as arrays (built once per pool)."""

    def __init__(self, tracks: Sequence[Track]) -> None:
        self.n = len(tracks)
        self.bpm = np.array([t.bpm if t.bpm and t.bpm > 0 else np.nan for t in tracks], dtype=float)
        self.log2_bpm = np.log2(self.bpm)
        key = np.array([_key_index(t.key) for t in tracks], dtype=np.int64) + 1  # 0: unknown
        trust = np.array([_trust_level(t) for t in tracks], dtype=np.int64)
        # offsets into the flat key table (see _key_table): outgoing part and incoming part
        self.key_from = key * _KEY_STRIDE_FROM + trust * _TRUST_LEVELS
        self.key_to = key * _KEY_STRIDE_TO + trust
        self.energy = np.array(
            [np.nan if t.energy is None else float(t.energy) for t in tracks], dtype=float
        )
        known = self.energy[~np.isnan(self.energy)]
        # whole energies 0–63 (the usual 1–10) take a table lookup; anything else the formula
        self.energy_code = None
        if np.all((known == np.round(known)) & (known >= 0) & (known < _ENERGY_CODES - 1)):
            self.energy_code = np.where(np.isnan(self.energy), _ENERGY_CODES - 1, self.energy)
            self.energy_code = self.energy_code.astype(np.int64)
        self.label = _codes([t.label for t in tracks])
        self.genre = _codes([t.genre for t in tracks])
        names = [_artist_names(t.artist) for t in tracks]
        vocabulary = {name: k for k, name in enumerate(sorted(set().union(*names)))}
        self.artists = [
            np.array(sorted(vocabulary[x] for x in group), dtype=np.int64) for group in names
        ]
        members: list[list[int]] = [[] for _ in vocabulary]
        for i, group in enumerate(self.artists):
            for name in group:
                members[name].append(i)
        self.by_artist = [np.array(m, dtype=np.int64) for m in members]

    def shared_artist(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Whether rows[i] and cols[j] share an artist: a block (rows × all) or pairwise (1-D)."""
        if rows.ndim == 1 and cols.ndim == 1:
            return np.array(
                [
                    bool(np.intersect1d(self.artists[a], self.artists[b]).size)
                    for a, b in zip(rows, cols, strict=True)
                ],
                dtype=bool,
            )
        block = np.zeros((rows.shape[0], self.n), dtype=bool)
        for r, i in enumerate(rows[:, 0]):
            for name in self.artists[i]:
                block[r, self.by_artist[name]] = True
        return block[:, cols[0]]


_SHIFTS = 13  # semitones a folded tempo change can move a key: −6 … +6
#: Chance a key is wrong per trust level: from tags or the DJ, then detected with high, unknown or
#: middling, and low confidence (see the module docstring).
_KEY_ERROR = (0.0, 0.15, DETECTED_KEY_ERROR, 0.5)
_TRUST_LEVELS = len(_KEY_ERROR)
_PAIR_TRUST = _TRUST_LEVELS * _TRUST_LEVELS
_KEY_STRIDE_TO = _SHIFTS * _PAIR_TRUST  # per incoming key: every shift × trust of both keys
_KEY_STRIDE_FROM = 25 * _KEY_STRIDE_TO  # per outgoing key: 24 keys + unknown


@functools.lru_cache(maxsize=1)
def _key_table() -> np.ndarray:
    """Key cost of every (outgoing key, incoming key, semitone shift, trust of both keys) as one flat
    table, so that the cost of a pair is one lookup: unknown keys and detected keys priced as the
    module docstring says."""
    table = _relation_table()
    mean_cost = float(table.mean())
    ka = np.arange(-1, 24)[:, None, None, None]
    kb = np.arange(-1, 24)[None, :, None, None]
    shift = np.arange(-6, 7)[None, None, :, None]
    error = np.array(_KEY_ERROR)
    pair_error = (1.0 - (1.0 - error[:, None]) * (1.0 - error[None, :])).ravel()
    detected = pair_error[None, None, None, :]
    heard = np.where(kb >= 0, (kb % 12 + shift) % 12 + 12 * (kb >= 12), -1)
    known = (ka >= 0) & (heard >= 0)
    rel = np.where(known, table[np.where(known, ka, 0), np.where(known, heard, 0)], mean_cost)
    return ((1.0 - detected) * rel + detected * mean_cost).ravel()


def _trust_level(track: Track) -> int:
    """Index into ``_KEY_ERROR``: 0 for a key from tags or the DJ, 1–3 for a detected one."""
    if track.sources.get("key") != DETECTED_SOURCE:
        return 0
    confidence = track.confidence.get("key")
    if confidence is None:
        return 2
    if confidence >= 0.7:
        return 1
    return 2 if confidence >= 0.4 else 3


def _energy_cost(e_from: np.ndarray, e_to: np.ndarray, up: float, drop: float) -> np.ndarray:
    """Energy term: a rise beyond one level costs up·(d − 1)², a drop beyond one drop·(d + 1)²."""
    d = e_to - e_from  # NaN when unknown: every comparison is False, the cost 0
    return np.where(d > 1.0, up * (d - 1.0) ** 2, np.where(d < -1.0, drop * (d + 1.0) ** 2, 0.0))


@functools.lru_cache(maxsize=4)
def _energy_table(up: float, drop: float) -> np.ndarray:
    """The energy term for every pair of whole energies 0–63 and unknown (code 64), flat."""
    levels = np.append(np.arange(_ENERGY_CODES - 1, dtype=float), np.nan)
    return _energy_cost(levels[:, None], levels[None, :], up, drop).ravel()


def _pair_costs(f: _Features, rows: np.ndarray, cols: np.ndarray, w: CostWeights) -> np.ndarray:
    """Cost of mixing track ``rows`` into track ``cols`` (index arrays that broadcast together)."""
    # tempo: the change for b to match a, folded to within half an octave (×2, ×½)
    octaves = f.log2_bpm[rows] - f.log2_bpm[cols]
    folded = octaves - np.round(octaves)
    unknown = np.isnan(folded)
    change = np.abs(np.expm1(folded * _LN2)) * 100.0
    # (p/6)² up to 6 %, then 1 + (p − 6)/3: the same slope, so far jumps stay ordered
    tempo = (np.minimum(change, 6.0) * (1.0 / 6.0)) ** 2 + np.maximum(change - 6.0, 0.0) / 3.0
    tempo[unknown] = UNKNOWN_TEMPO_COST
    total = w.tempo * tempo

    # key: relation of a's key to the key b is heard in at a's tempo (shifted 12·folded semitones)
    if w.keylock:
        shift = np.zeros(folded.shape, dtype=np.int64)
    else:
        shift = np.round(12.0 * np.where(unknown, 0.0, folded)).astype(np.int64)
    index = f.key_from[rows] + f.key_to[cols] + _PAIR_TRUST * (shift + 6)
    total += w.key * _key_table()[index]

    d = f.energy[cols] - f.energy[rows]  # NaN when unknown: every comparison below is False
    total += np.where(
        d > 1.0,
        w.energy_up * (d - 1.0) ** 2,
        np.where(d < -1.0, w.energy_drop * (d + 1.0) ** 2, 0.0),
    )

    if w.same_artist:
        total += w.same_artist * f.shared_artist(rows, cols)
    if w.same_label:
        la, lb = f.label[rows], f.label[cols]
        total += w.same_label * ((la >= 0) & (la == lb))
    if w.genre_change:
        ga, gb = f.genre[rows], f.genre[cols]
        total += w.genre_change * ((ga >= 0) & (gb >= 0) & (ga != gb))
    return np.where(np.broadcast_to(rows == cols, total.shape), 0.0, total)


def tempo_change_matrix(tracks: Sequence[Track], rows: slice | None = None) -> np.ndarray:
    """Signed tempo change in % for ``b`` to match ``a`` (octave-folded); NaN where a BPM is unknown.

    ``rows`` limits the result to those rows (the outgoing tracks), against every column.
    """
    bpm = np.array([t.bpm if t.bpm and t.bpm > 0 else np.nan for t in tracks], dtype=float)
    return _tempo_change(bpm[rows if rows is not None else slice(None), None], bpm[None, :])


def cost_matrix(
    tracks: Sequence[Track], weights: CostWeights | None = None, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Transition cost from every track (row) to every other (column); the diagonal is 0.

    Computed in blocks of rows into ``out`` when given (any n × n float view, e.g. the top-left of
    the solvers' padded matrix), else into a new float64 matrix (float32 from
    :data:`FLOAT32_FROM` tracks).
    """
    w = weights or CostWeights()
    n = len(tracks)
    if out is None:
        out = np.zeros((n, n), dtype=np.float32 if n >= FLOAT32_FROM else np.float64)
    if n == 0:
        return out
    f = _Features(tracks)
    cols = np.arange(n)[None, :]
    step = max(1, _BLOCK_ENTRIES // n)
    for lo in range(0, n, step):
        rows = np.arange(lo, min(n, lo + step))[:, None]
        out[lo : lo + step] = _pair_costs(f, rows, cols, w)
    return out


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


def transitions_along(
    tracks: Sequence[Track], weights: CostWeights | None = None
) -> list[TransitionFacts]:
    """The facts of every transition of ``tracks`` played in this order (one per consecutive pair)."""
    w = weights or CostWeights()
    n = len(tracks)
    if n < 2:
        return []
    f = _Features(tracks)
    rows, cols = np.arange(n - 1), np.arange(1, n)
    costs = _pair_costs(f, rows, cols, w)
    changes = _tempo_change(f.bpm[rows], f.bpm[cols])
    shared = f.shared_artist(rows, cols)
    facts = []
    for k in range(n - 1):
        a, b = tracks[k], tracks[k + 1]
        change = None if np.isnan(changes[k]) else float(changes[k])
        factor = 2.0 ** round(math.log2(a.bpm / b.bpm)) if a.bpm and b.bpm else None
        heard = None
        rel = None
        if b.key is not None:
            heard = b.key if (w.keylock or change is None) else key_at_tempo(b.key, change)
        if a.key is not None and heard is not None:
            rel = relation(a.key, heard)
        facts.append(
            TransitionFacts(
                relation=relation_name(rel) if rel is not None else None,
                relation_kind=rel.name if rel is not None else None,
                harmonic=rel.harmonic if rel is not None else None,
                clash=(rel.name == "CLASH") if rel is not None else None,
                heard_key=heard,
                tempo_change_pct=change,
                tempo_factor=factor,
                energy_change=(b.energy - a.energy)
                if a.energy is not None and b.energy is not None
                else None,
                same_artist=bool(shared[k]),
                cost=float(costs[k]),
            )
        )
    return facts


def transition_facts(a: Track, b: Track, weights: CostWeights | None = None) -> TransitionFacts:
    """Relation, tempo change, energy change and cost of mixing ``a`` into ``b``."""
    return transitions_along([a, b], weights)[0]
