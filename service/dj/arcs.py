"""Energy arcs: the shape a set's energy should follow from first track to last.

An arc is a piecewise-linear curve over the set's progress ``x`` in [0, 1] (0 = the start of the set,
1 = its end) giving a target energy on the 1–10 scale tracks carry. Progress is measured on the set's
clock (:func:`service.dj.timeline.progress`: the middle of each track's time on the floor over the
set's whole floor time), not by counting tracks, so a run of short edits does not rush the curve.
The set objective adds, for each track, ``weight · (energy − target(progress))²``: squared so that
one track far off the curve costs more than several slightly off, which is how a dance floor feels
it.

Presets (names shared with the AI layer and the command line):

- ``warm-up``: opens low and rises gently (3 → 5.5), for the first slot of a night;
- ``build``: a steady climb (4 → 8);
- ``peak-time``: high and nearly flat (7.5 → 9 → 8.5);
- ``journey``: build, peak, release (4 → 8.5 at 70 % → 6);
- ``cool-down``: from high to low (7 → 3), for the closing slot;
- ``none``: no arc term, the pure ordering problem over the transition costs.

Custom arcs are written as points ``"0:4,0.5:8,1:5"`` (progress:energy, progress in [0, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ARC_NAMES",
    "PRESETS",
    "Arc",
    "ArcError",
    "arc_costs",
    "arc_rmse",
    "parse_arc",
]

ARC_NAMES: tuple[str, ...] = ("warm-up", "build", "peak-time", "journey", "cool-down", "none")

#: Default weight of the arc term per squared energy unit. A track two energy levels off its target
#: costs 0.2, about what a diagonal key move costs, so the arc steers without overriding harmony.
DEFAULT_ARC_WEIGHT = 0.05


class ArcError(ValueError):
    """An arc name or custom point list that cannot be read; the message quotes it."""


@dataclass(frozen=True)
class Arc:
    """A named energy curve: ``points`` are (progress 0–1, energy 1–10), sorted by progress."""

    name: str
    points: tuple[tuple[float, float], ...]

    def targets(self, n: int) -> np.ndarray:
        """Target energy for each of ``n`` positions, spread evenly from 0 to 1 (for charts)."""
        if n <= 0:
            return np.zeros(0)
        return self.target_at(np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5]))

    def target_at(self, progress: np.ndarray) -> np.ndarray:
        """Target energy at each progress value in [0, 1] (flat beyond the first and last point)."""
        px, py = self.curve()
        return np.interp(np.asarray(progress, dtype=float), px, py)

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """The points as two arrays: progress and energy."""
        return (
            np.array([p[0] for p in self.points], dtype=float),
            np.array([p[1] for p in self.points], dtype=float),
        )

    def describe(self) -> str:
        """Short text for notes and exports, e.g. ``journey (4 → 8.5 → 6)``."""
        return f"{self.name} ({' → '.join(f'{e:g}' for _, e in self.points)})"


PRESETS: dict[str, Arc] = {
    "warm-up": Arc("warm-up", ((0.0, 3.0), (1.0, 5.5))),
    "build": Arc("build", ((0.0, 4.0), (1.0, 8.0))),
    "peak-time": Arc("peak-time", ((0.0, 7.5), (0.6, 9.0), (1.0, 8.5))),
    "journey": Arc("journey", ((0.0, 4.0), (0.7, 8.5), (1.0, 6.0))),
    "cool-down": Arc("cool-down", ((0.0, 7.0), (1.0, 3.0))),
}


def parse_arc(value: str | Arc | None) -> Arc | None:
    """A preset name, ``none``/empty (no arc) or custom points ``"0:4,0.5:8,1:5"`` → an :class:`Arc`."""
    if value is None or isinstance(value, Arc):
        return value
    text = value.strip().lower()
    if text in ("", "none"):
        return None
    if text in PRESETS:
        return PRESETS[text]
    points: list[tuple[float, float]] = []
    for part in text.split(","):
        x_text, sep, y_text = part.partition(":")
        try:
            if not sep:
                raise ValueError
            x, y = float(x_text), float(y_text)
        except ValueError:
            raise ArcError(
                f"unknown arc {value!r}: use one of {', '.join(ARC_NAMES)} "
                "or points such as '0:4,0.5:8,1:5'"
            ) from None
        if not 0.0 <= x <= 1.0 or not 0.0 <= y <= 10.0:
            raise ArcError(f"arc point {part!r} out of range: progress 0–1, energy 0–10")
        points.append((x, y))
    if len(points) < 2:
        raise ArcError(f"custom arc {value!r} needs at least two points")
    points.sort()
    return Arc("custom", tuple(points))


def arc_costs(
    energies: Sequence[float | None] | np.ndarray,
    progress: np.ndarray,
    arc: Arc | None,
    weight: float = DEFAULT_ARC_WEIGHT,
) -> np.ndarray:
    """Arc cost of each track at its progress in the set: ``weight · (energy − target)²``.

    Tracks without an energy cost nothing (nothing is known to fit or not); no arc costs nothing.
    """
    e = np.array([np.nan if v is None else float(v) for v in energies], dtype=float)
    if arc is None:
        return np.zeros(len(e))
    cost = weight * (e - arc.target_at(progress)) ** 2
    return np.nan_to_num(cost, nan=0.0)


def arc_rmse(
    energies: Sequence[float | None], arc: Arc | None, progress: np.ndarray | None = None
) -> float | None:
    """Root-mean-square distance in energy levels between a played order and the arc, or None.

    ``progress`` places each track on the set's clock; without it tracks are spread evenly.
    """
    if arc is None:
        return None
    if progress is None:
        progress = np.linspace(0.0, 1.0, len(energies)) if len(energies) > 1 else np.full(1, 0.5)
    targets = arc.target_at(progress)
    diffs = [float(e) - t for e, t in zip(energies, targets, strict=True) if e is not None]
    if not diffs:
        return None
    return float(np.sqrt(np.mean(np.square(diffs))))
