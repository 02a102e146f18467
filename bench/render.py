"""Mix rendering benchmark: speed on one core and peak memory of ``service.dj.render``.

**Material.** Tracks rendered by ``service.dj.analysis.synth`` (house, 120–130 BPM to one decimal,
keys spread round the Camelot wheel, 32 bars of drums alone at each end, bar 1 after a lead-in of
0–1 s), ``--track-minutes`` long (6 by default), written as 44.1 kHz 16-bit stereo WAV in a temporary
folder. Beat grids are the known ones, so no analysis is timed.

**Measures.** Each measure runs in a fresh child process pinned to one core
(``os.sched_setaffinity``) with ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and
``NUMBA_NUM_THREADS`` at 1, one child at a time:

- *preview*: decoding two tracks, planning the 16-bar transition and rendering a ``--preview-s``
  (60 s) preview, as ``aidj set render --previews`` does; × real time = preview seconds / CPU
  seconds. Encoding it to MP3 is timed apart.
- *mix*: a mix of at least each of ``--minutes`` (90 and 120 by default: 18 and 23 six-minute tracks)
  rendered through ``mix_blocks`` and written block by block to 24-bit FLAC with soundfile, as
  ``aidj set render -o MIX.flac`` does (decoding included); × real time = mix seconds / CPU seconds
  (the FLAC encoder's share is given too), and the child's peak resident memory (``VmHWM``; after the
  imports, and at the end). The peak must not grow with the mix's length: at most two decks and the
  incoming track are held, never the mix.

Both with and without keylock (``pitch_lock=True``, ``--keylock``), unless ``--keylock off|on``.

Run: ``.venv/bin/python bench/render.py`` (full size: about 6 minutes, most of it making the
tracks; ``--quick`` for a smoke run on 2.5-minute tracks, under a minute; ``--minutes 90``,
``--track-minutes 6``, ``--keylock off``, ``--seed S``). Results go to ``bench/results/render.json`` (``render-quick.json``
with ``--quick``) with the machine, the load average before each child, versions and the seed.

Last run (2026-11-30, x86_64 AMD EPYC, 2 shared cores at load average 1.0–1.6, Python 3.11.7, numpy
2.4.6, scipy 1.17.1, libsndfile 1.2.2, seed 3). 60 s preview: 70× real time on one core with both
6-minute tracks decoded (57× with keylock), 35× with its MP3 encoding. Mixes of 97 min (18 tracks)
and 124 min (23 tracks), all transitions beatmatched: 353× and 352× real time (keylock 287× and
280×), the FLAC encoder about 43 % of it; peak memory 599 and 598 MB (keylock 557 and 557 MB): the
same whatever the length, 117 MB of imports and about four 6-minute tracks as float32 (two decks,
the incoming track while it is spliced, the blend's float64 filtering). Before the incoming track
was copied once instead of twice: 720 MB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.dj.analysis.synth import render  # noqa: E402
from service.dj.keys import Key  # noqa: E402
from service.dj.render.mix import DEFAULT_BARS as BARS  # noqa: E402  (the blend, as the CLI's)
from service.dj.render.mix import PHRASE_BARS  # noqa: E402  (blends start on a phrase)

RATE = 44100
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


# --- the corpus -------------------------------------------------------------------------------


def build_corpus(folder: Path, count: int, track_minutes: float, seed: int) -> list[dict]:
    """``count`` synthetic tracks of about ``track_minutes`` as stereo WAV; their known grids."""
    rng = np.random.default_rng(seed)
    tracks = []
    for i in range(count):
        bpm = round(float(rng.uniform(120.0, 130.0)), 1)
        key = Key.from_camelot(i * 7 % 12 + 1, "AB"[i % 2])
        lead_in = round(float(rng.uniform(0.0, 1.0)), 2)
        bars = max(round(track_minutes * 60 * bpm / 240), 20)
        edge = min(32, bars // 4)
        r = render(
            "house", bpm, key, sr=RATE, intro_bars=edge, main_bars=bars - 2 * edge,
            outro_bars=edge, lead_in_s=lead_in, seed=seed * 1000 + i,
        )  # fmt: skip
        path = folder / f"{i:02d}-{bpm}-{key.camelot}.wav"
        sf.write(path, np.stack([r.audio, r.audio], axis=1), RATE, subtype="PCM_16")
        tracks.append(
            {"path": str(path), "bpm": bpm, "first_beat_s": lead_in, "seconds": len(r.audio) / RATE}
        )
    return tracks


def tracks_for(minutes: float, track_s: float) -> int:
    """Tracks of ``track_s`` seconds a mix of at least ``minutes`` needs: each transition loses at
    most the blend, the outgoing track's end after the last phrase that fits (under a phrase) and
    the incoming track's lead-in (under a second), at 120 BPM."""
    overlap = (BARS + PHRASE_BARS) * 240 / 120.0 + 1.0
    return max(2, math.ceil((minutes * 60 - overlap) / (track_s - overlap)))


# --- the child processes ------------------------------------------------------------------------


def _hwm_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _pin() -> int:
    """Pin this process to one of the cores it may use; which one."""
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def child_preview(spec: dict) -> dict:
    from service.dj.render import Track, load, prepare, preview, transition

    core = _pin()
    a, b = spec["tracks"]
    before = _hwm_kb()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deck = prepare(Track(load(a["path"]), a["bpm"], a["first_beat_s"]))
    tr = transition(
        deck, Track(load(b["path"]), b["bpm"], b["first_beat_s"]), BARS, pitch_lock=spec["keylock"]
    )
    audio, _lead = preview(deck, tr, seconds=spec["preview_s"])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    cpu1 = time.process_time()
    sf.write(Path(spec["out"]), audio, RATE, format="MP3", subtype="MPEG_LAYER_III")
    encode = time.process_time() - cpu1
    seconds = len(audio) / RATE
    return {
        "core": core,
        "preview_s": round(seconds, 2),
        "beatmatched": tr.beatmatched,
        "speed": round(tr.speed, 5),
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "x_realtime": round(seconds / cpu, 1),
        "mp3_encode_cpu_s": round(encode, 3),
        "x_realtime_with_mp3": round(seconds / (cpu + encode), 1),
        "peak_rss_mb": round(_hwm_kb() / 1024, 1),
        "rss_after_imports_mb": round(before / 1024, 1),
    }


def child_mix(spec: dict) -> dict:
    from service.dj.render import Played, Track, load, mix_blocks

    core = _pin()
    before = _hwm_kb()

    def loader(t: dict):
        return lambda: Track(load(t["path"]), t["bpm"], t["first_beat_s"])

    loaders = [(i, loader(t)) for i, t in enumerate(spec["tracks"])]
    frames, encode, matched, plain, errors = 0, 0.0, 0, 0, 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with sf.SoundFile(spec["out"], "w", RATE, 2, format="FLAC", subtype="PCM_24") as sink:
        for item in mix_blocks(loaders, bars=BARS, pitch_lock=spec["keylock"]):
            if isinstance(item, Played):
                errors += item.error is not None
                matched += item.beatmatched is True
                plain += item.beatmatched is False
                continue
            c = time.process_time()
            sink.write(item)
            encode += time.process_time() - c
            frames += len(item)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    seconds = frames / RATE
    track_mb = max(t["seconds"] for t in spec["tracks"]) * RATE * 2 * 4 / 2**20
    peak = _hwm_kb() / 1024
    return {
        "core": core,
        "tracks": len(spec["tracks"]),
        "mix_min": round(seconds / 60, 2),
        "beatmatched": matched,
        "plain": plain,
        "errors": errors,
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "x_realtime": round(seconds / cpu, 1),
        "flac_encode_cpu_s": round(encode, 2),
        "flac_mb": round(os.path.getsize(spec["out"]) / 2**20, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_after_imports_mb": round(before / 1024, 1),
        "one_track_float32_mb": round(track_mb, 1),
        "peak_above_imports_in_tracks": round((peak - before / 1024) / track_mb, 2),
    }


def run_child(kind: str, spec: dict) -> dict:
    """One measure in a fresh, pinned, single-threaded interpreter; its result and the load before."""
    env = dict(os.environ, **dict.fromkeys(THREAD_VARS, "1"))
    load = Path("/proc/loadavg").read_text().split()[:3]
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(spec)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"bench child {kind} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["loadavg_before"] = " ".join(load)
    return result


# --- the run ------------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name (``platform.processor()`` is empty on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu ?"


def commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    return out.stdout.strip() or "?"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "–"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        kind, spec = sys.argv[2], json.loads(sys.argv[3])
        result = {"preview": child_preview, "mix": child_mix}[kind](spec)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="90,120", help="mix lengths, comma-separated")
    parser.add_argument("--track-minutes", type=float, default=6.0)
    parser.add_argument("--preview-s", type=float, default=60.0)
    parser.add_argument("--keylock", choices=("off", "on", "both"), default="both")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5- and 7-minute mixes")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.track_minutes, args.preview_s = "5,7", 2.5, 30.0
    minutes = [float(m) for m in args.minutes.split(",")]
    locks = {"off": [False], "on": [True], "both": [False, True]}[args.keylock]
    result: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores "
        f"({len(os.sched_getaffinity(0))} usable), {cpu_model()}, "
        f"Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "commit": commit(),
        "seed": args.seed,
        "track_minutes": args.track_minutes,
        "blend_bars": BARS,
        "versions": {p: version(p) for p in ("numpy", "scipy", "soundfile", "mutagen")},
    }
    result["versions"]["libsndfile"] = sf.__libsndfile_version__
    with tempfile.TemporaryDirectory(prefix="aidj-bench-render-") as tmp:
        folder = Path(tmp)
        count = max(tracks_for(m, args.track_minutes * 60) for m in minutes)
        t0 = time.perf_counter()
        corpus = build_corpus(folder, count, args.track_minutes, args.seed)
        print(f"corpus: {count} tracks in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        result["corpus"] = {
            "tracks": count,
            "bpm": [t["bpm"] for t in corpus],
            "track_s": round(float(np.mean([t["seconds"] for t in corpus])), 1),
        }
        result["preview"], result["mix"] = {}, {}
        for lock in locks:
            name = "keylock" if lock else "pitch"
            spec = {
                "tracks": corpus[:2],
                "keylock": lock,
                "preview_s": args.preview_s,
                "out": str(folder / "preview.mp3"),
            }
            result["preview"][name] = run_child("preview", spec)
            print(f"preview ({name}): {result['preview'][name]}", file=sys.stderr)
            for m in minutes:
                n = tracks_for(m, args.track_minutes * 60)
                spec = {"tracks": corpus[:n], "keylock": lock, "out": str(folder / "mix.flac")}
                row = run_child("mix", spec)
                result["mix"].setdefault(name, {})[f"{m:g} min"] = row
                print(f"mix {m:g} min ({name}): {row}", file=sys.stderr)
                Path(spec["out"]).unlink(missing_ok=True)
            rows = list(result["mix"][name].values())
            if len(rows) > 1:
                result["mix"][name]["peak_growth_longest_vs_shortest"] = round(
                    rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"], 3
                )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = "render-quick.json" if args.quick else "render.json"
    (out / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
