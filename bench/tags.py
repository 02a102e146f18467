"""Tag-reading benchmark: files per second through ``read_tags`` against a bare ``mutagen.File`` loop.

2,000 small real files (by default) in a DJ library's mix of formats (MP3 half, then FLAC, AIFF, WAV,
M4A, Ogg/Opus), each tagged with title, artist, album, genre, label, BPM, key in a random notation,
energy and a Mixed In Key comment. Both loops read the same files in the same order, warm (page cache
filled by a first pass), alternating, best of ``--rounds``. The bare loop is the limit: mutagen's
own parsing with nothing done with the result. Target: our reader at ≥ 0.8 of it.

A second bare loop passes mutagen the same short list of formats our reader sniffs for (it is part
of why the reader can come out faster than plain ``mutagen.File``); it isolates our own overhead.

Run: ``.venv/bin/python bench/tags.py`` (``--files N``, ``--rounds R``, ``--seed S``). Results go to
``bench/results/tags.json`` with the machine, versions and seed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import mutagen

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.dj import tags as tag_reader
from service.dj.keys import ALL_KEYS
from tests.dj.audio import tag, write_audio

# Share of each kind in a typical DJ library.
MIX = {
    "mp3": 50,
    "flac": 12,
    "aiff": 10,
    "wav": 8,
    "m4a-aac": 8,
    "m4a-alac": 4,
    "ogg": 4,
    "opus": 4,
}
NOTATIONS = (
    lambda k: k.camelot,
    lambda k: k.open_key,
    lambda k: k.name,
    lambda k: f"{k.camelot_number:02d}{k.camelot_letter}",
)


def build_library(folder: Path, count: int, seed: int) -> list[str]:
    """``count`` tagged files in ``folder``, made from one template per kind."""
    rng = random.Random(seed)
    templates = {}
    for kind in MIX:
        suffix = ".m4a" if kind.startswith("m4a") else f".{kind}"
        templates[kind] = write_audio(folder / f"template-{kind}{suffix}", kind)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=count)
    paths = []
    for i, kind in enumerate(kinds):
        path = folder / f"{i:05d}{templates[kind].suffix}"
        shutil.copyfile(templates[kind], path)
        key = rng.choice(ALL_KEYS)
        energy = rng.randint(1, 10)
        tag(
            path,
            kind,
            {
                "title": f"Track {i}",
                "artist": f"Artist {rng.randint(1, 300)}",
                "album": f"Album {rng.randint(1, 500)}",
                "genre": rng.choice(["Techno", "House"]),
                "label": f"Label {rng.randint(1, 80)}",
                "bpm": f"{rng.uniform(118, 176):.2f}",
                "key": rng.choice(NOTATIONS)(key),
                "energy": str(energy),
                "comment": f"{key.camelot} - Energy {energy}",
            },
        )
        paths.append(str(path))
    for template in templates.values():
        template.unlink()
    return paths


def time_loop(read, paths: list[str]) -> float:
    """Seconds to call ``read`` on every path."""
    start = time.perf_counter()
    for path in paths:
        read(path)
    return time.perf_counter() - start


def main() -> None:
    """Build the files, time the three loops, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"mutagen {mutagen.version_string}"
    )
    print(f"# machine: {machine}, seed {args.seed}, {args.files} files")
    with tempfile.TemporaryDirectory(prefix="aidj-bench-tags-") as tmp:
        start = time.perf_counter()
        paths = build_library(Path(tmp), args.files, args.seed)
        print(f"# built in {time.perf_counter() - start:.1f} s")
        loops = {
            "read_tags": tag_reader.read_tags,
            "bare mutagen.File": mutagen.File,
            "bare mutagen.File, our formats": lambda p: mutagen.File(p, options=tag_reader._TYPES),
        }
        for read in loops.values():  # warm the page cache and imports
            time_loop(read, paths)
        best = {name: float("inf") for name in loops}
        for _ in range(args.rounds):
            for name, read in loops.items():
                best[name] = min(best[name], time_loop(read, paths))
        errors = sum(tag_reader.read_tags(p).error is not None for p in paths)
    rates = {name: args.files / seconds for name, seconds in best.items()}
    ratio = rates["read_tags"] / rates["bare mutagen.File"]
    ratio_same = rates["read_tags"] / rates["bare mutagen.File, our formats"]
    for name, rate in rates.items():
        print(f"{name:32s} {rate:8.0f} files/s  ({best[name] * 1000:.0f} ms for {args.files})")
    print(f"read_tags / bare mutagen.File             = {ratio:.2f}  (target ≥ 0.80)")
    print(f"read_tags / bare mutagen.File, our formats = {ratio_same:.2f}  (our own overhead)")
    print(f"files with an error: {errors}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "tags.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "seed": args.seed,
                "files": args.files,
                "rounds": args.rounds,
                "files_per_s": rates,
                "ratio_vs_bare": ratio,
                "ratio_vs_bare_same_formats": ratio_same,
                "errors": errors,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
