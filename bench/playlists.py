"""Playlist-parsing benchmark: entries per second through ``parse_playlist`` for every format.

One library of ``--entries`` tracks (default 50,000, the most one upload may hold), written in each
format we read: extended M3U8 (with VirtualDJ ``#EXTVDJ`` lines), PLS, Rekordbox XML, Rekordbox's
UTF-16 text export, Traktor NML (tracks spread over the startup disk, an external drive and a
Windows drive, so every path goes through the volume placement) and CSV. Each is parsed
``--rounds`` times from bytes in memory; the best wall time counts, and the best CPU time of this
process beside it (on a shared machine the CPU time is the steadier figure). Peak memory of one parse is taken
with tracemalloc in a separate pass (tracing slows parsing, so it is not timed). Target: a full
50,000-entry collection of any format in under 5 s on one core.

Run: ``.venv/bin/python bench/playlists.py`` (``--entries N``, ``--rounds R``, ``--seed S``). Results
go to ``bench/results/playlists.json`` with the machine, versions, seed and load average beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.dj.exports import to_csv, to_m3u8, to_nml, to_rekordbox
from service.dj.keys import ALL_KEYS
from service.dj.playlists import Limits, parse_playlist
from service.dj.tracks import Track

TARGET_S = 5.0
PLACES = ("/Users/dj/Music/{}", "/Volumes/Transcend/DJing/{}", "E:/DJ Music/{}")


def library(count: int, seed: int) -> list[Track]:
    """``count`` tracks with keys, BPM, lengths and locations on three drives."""
    rng = random.Random(seed)
    return [
        Track(
            id=f"t{i}",
            path=rng.choice(PLACES).format(f"Artist {i % 997}/Track {i}.mp3"),
            title=f"Track {i}",
            artist=f"Artist {i % 997}",
            genre=rng.choice(["House", "Techno", "Drum & Bass"]),
            bpm=round(rng.uniform(118, 176), 2),
            key=rng.choice(ALL_KEYS),
            energy=rng.randint(1, 10),
            duration_s=float(rng.randint(180, 480)),
        )
        for i in range(count)
    ]


def _pls(tracks: list[Track]) -> str:
    lines = ["[playlist]"]
    for n, t in enumerate(tracks, 1):
        lines += [f"File{n}={t.path}", f"Title{n}={t.artist} - {t.title}", f"Length{n}=300"]
    return "\n".join([*lines, f"NumberOfEntries={len(tracks)}", "Version=2", ""])


def _vdj_m3u(tracks: list[Track]) -> str:
    lines = ["#EXTM3U"]
    for t in tracks:
        lines.append(
            f"#EXTVDJ:<filesize>9468016</filesize><artist>{t.artist}</artist>"
            f"<title>{t.title}</title><songlength>{t.duration_s}</songlength>"
        )
        lines.append(t.path or "")
    return "\n".join(lines) + "\n"


def _rekordbox_txt(tracks: list[Track]) -> str:
    rows = ["#\tArtwork\tTrack Title\tArtist\tGenre\tBPM\tRating\tTime\tKey\tDate Added"]
    for n, t in enumerate(tracks, 1):
        minutes, seconds = divmod(int(t.duration_s or 0), 60)
        key = t.key.camelot if t.key else ""
        rows.append(
            f"{n}\t\t{t.title}\t{t.artist}\t{t.genre}\t{t.bpm:.2f}\t\t{minutes:02d}:{seconds:02d}"
            f"\t{key}\t2023-01-14"
        )
    return "\n".join(rows) + "\n"


def payloads(tracks: list[Track]) -> dict[str, tuple[bytes, str]]:
    """Each format's bytes and file name."""
    return {
        "m3u": (to_m3u8(tracks).encode("utf-8"), "set.m3u8"),
        "m3u (VirtualDJ)": (_vdj_m3u(tracks).encode("utf-8"), "history.m3u"),
        "pls": (_pls(tracks).encode("utf-8"), "set.pls"),
        "rekordbox": (to_rekordbox(tracks).encode("utf-8"), "collection.xml"),
        "rekordbox-txt": (_rekordbox_txt(tracks).encode("utf-16"), "export.txt"),
        "nml": (to_nml(tracks).encode("utf-8"), "collection.nml"),
        "csv": (to_csv(tracks).encode("utf-8"), "library.csv"),
    }


def main() -> None:
    """Build the library, parse it in every format, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--formats", help="Comma-separated subset, e.g. m3u,rekordbox,nml,csv (default: all)."
    )
    args = parser.parse_args()
    wanted = set(args.formats.split(",")) if args.formats else None
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# machine: {machine}, seed {args.seed}, {args.entries:,} entries")
    limits = Limits(max_entries=args.entries + 1)
    results = {}
    for name, (data, filename) in payloads(library(args.entries, args.seed)).items():
        if wanted is not None and name not in wanted:
            continue
        best = best_cpu = float("inf")
        for _ in range(args.rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            parsed = parse_playlist(data, filename=filename, limits=limits)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        assert len(parsed.entries) == args.entries, (name, len(parsed.entries), parsed.problems[:3])
        tracemalloc.start()
        parse_playlist(data, filename=filename, limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[name] = {
            "format": parsed.format,
            "bytes": len(data),
            "best_s": round(best, 3),
            "best_cpu_s": round(best_cpu, 3),
            "entries_per_s": round(args.entries / best),
            "peak_mib": round(peak / 2**20, 1),
            "problems": len(parsed.problems),
        }
        flag = "" if best <= TARGET_S else f"  (over the {TARGET_S:g} s target)"
        print(
            f"{name:16s} {len(data) / 2**20:7.1f} MiB  {best:6.2f} s (CPU {best_cpu:5.2f} s)  "
            f"{args.entries / best:9,.0f} entries/s  peak {peak / 2**20:6.1f} MiB{flag}"
        )
    load = round(os.getloadavg()[0], 2)
    print(f"# load average (1 min) at the end: {load}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "playlists.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "seed": args.seed,
                "entries": args.entries,
                "rounds": args.rounds,
                "target_s": TARGET_S,
                "load_average_1m_at_end": load,
                "formats": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
