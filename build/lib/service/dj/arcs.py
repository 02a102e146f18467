"""Energy arcs: the shape a set's energy should follow from first track to last.

An arc is a piecewise-linear curve over the set's progress ``x`` in [0, 1] (0 = first track, 1 = last
track) giving a target energy on the 1–10 scale tracks carry. The set objective adds, for the track
at position ``p`` of ``n``, ``weight · (energy − target(p / (n − 1)))²``: squared so that one track far
off the curve costs more than several slightly off, which is how a dance floor feels it.

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
    "arc_cost_matrix",
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
        """Target energy for each of ``n`` positions, spread evenly from 0 to 1."""
        if n <= 0:
            return np.zeros(0)
        xs = np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5])
        px = np.array([p[0] for p in self.points])
        py = np.array([p[1] for p in self.points])
        return np.interp(xs, px, py)

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


def arc_cost_matrix(
    energies: Sequence[float | None] | np.ndarray,
    arc: Arc | None,
    n_positions: int,
    weight: float = DEFAULT_ARC_WEIGHT,
) -> np.ndarray | None:
    """Cost of putting track ``i`` at position ``p``: ``weight · (energy_i − target_p)²``.

    Tracks without an energy cost nothing anywhere (nothing is known to fit or not). Returns None
    when there is no arc.
    """
    if arc is None:
        return None
    e = np.array([np.nan if v is None else float(v) for v in energies], dtype=float)
    targets = arc.targets(n_positions)
    cost = weight * (e[:, None] - targets[None, :]) ** 2
    return np.nan_to_num(cost, nan=0.0)


def arc_rmse(energies: Sequence[float | None], arc: Arc | None) -> float | None:
    """Root-mean-square distance in energy levels between a played order and the arc, or None."""
    if arc is None:
        return None
    targets = arc.targets(len(energies))
    diffs = [float(e) - t for e, t in zip(energies, targets, strict=True) if e is not None]
    if not diffs:
        return None
    return float(np.sqrt(np.mean(np.square(diffs))))
