"""Small factories for tracks and pools used by the set engine's tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from service.dj.keys import Key, parse_key
from service.dj.tracks import Track


def track(
    track_id: str = "a",
    *,
    key: str | None = "8A",
    bpm: float | None = 124.0,
    energy: int | None = 5,
    artist: str | None = None,
    genre: str | None = None,
    label: str | None = None,
    duration_s: float | None = 360.0,
    path: str | None = None,
    title: str | None = None,
    key_source: str = "tag:TKEY",
) -> Track:
    """A track with sensible defaults; ``key`` in any notation."""
    return Track(
        id=track_id,
        path=path if path is not None else f"/music/{track_id}.mp3",
        title=title if title is not None else f"Title {track_id}",
        artist=artist if artist is not None else f"Artist {track_id}",
        genre=genre,
        label=label,
        bpm=bpm,
        key=parse_key(key) if key is not None else None,
        energy=energy,
        duration_s=duration_s,
        sources={"key": key_source} if key is not None else {},
    )


def random_pool(n: int, seed: int = 0, *, bpm_centre: float = 126.0) -> list[Track]:
    """``n`` tracks with random keys, BPM around ``bpm_centre``, energies and durations."""
    rng = np.random.default_rng(seed)
    tracks = []
    for i in range(n):
        tracks.append(
            Track(
                id=f"t{i:03d}",
                path=f"/music/t{i:03d}.mp3",
                title=f"Track {i}",
                artist=f"Artist {int(rng.integers(max(2, n // 3)))}",
                bpm=round(float(rng.normal(bpm_centre, 4.0)), 1),
                key=Key(int(rng.integers(12)), bool(rng.random() < 0.7)),
                energy=int(rng.integers(1, 11)),
                duration_s=float(rng.integers(300, 480)),
            )
        )
    return tracks


def write_csv_pool(path: Path, tracks: list[Track]) -> Path:
    """Write ``tracks`` as a CSV pool the pool loader reads."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["title", "artist", "bpm", "key", "energy", "duration", "path", "genre"])
        for t in tracks:
            writer.writerow(
                [
                    t.title,
                    t.artist,
                    t.bpm,
                    t.key.camelot if t.key else "",
                    t.energy,
                    int(t.duration_s or 0),
                    t.path,
                    t.genre or "",
                ]
            )
    return path
