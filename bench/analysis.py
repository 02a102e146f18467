"""Audio analysis benchmark: accuracy on a generated corpus with known truth, speed, memory, reference.

**Corpus.** ``--tracks`` tracks (48 by default: each of the 24 keys twice) rendered by
``service.dj.analysis.synth``: house, techno, trance, drum & bass, hip-hop and downtempo in turn, each
with its own drum pattern, a bass line on the chord roots, a progression in the key and a lead motif,
at tempi spread over the style's range (one decimal), 8 bars of drums alone, 16 of the full
arrangement, 8 of drums alone, bar 1 after a lead-in of 0–1 s; written as WAV, FLAC and MP3 in turn
(44.1 kHz). Plus one pair per style of the same material at low (quieter, darker, no hats) and full
intensity, for the energy ordering.

**Measures.** Key exact; key Camelot-compatible with the truth (same, ±1, relative); tempo within
2 % in DJ convention (drum & bass at 170-176, hip-hop at 85-98); octave errors (within 2 % of ×2 or ×½);
first downbeat within 30 ms; intro and outro bars exact; energy lower at low intensity.
Speed as × real time on one core (CPU seconds, decoding included), the time a 1,000-track folder of
6-minute tracks would take on this machine's cores at that rate, and the peak memory of one process
analysing a 6-minute track (``VmHWM`` of a fresh child, and the same before decoding).

**Reference.** essentia's ``KeyExtractor(profileType="edma")`` and
``RhythmExtractor2013(method="multifeature")`` on the same files, decoded by its ``MonoLoader`` at
44.1 kHz, when essentia is importable (AGPL-3.0: benchmark only, ``bench/requirements.txt``).

Run (essentia needs the bench venv; see bench/requirements.txt):
``var/bench-venv/bin/python bench/analysis.py`` (``--tracks N``, ``--seed S``, ``--no-reference``).
Results go to ``bench/results/analysis.json`` with the machine, versions and seed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.dj.analysis import analyze
from service.dj.analysis.synth import STYLES, render
from service.dj.keys import ALL_KEYS, Key, KeyRelation, parse_key, relation

FORMATS = (("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("mp3", "MP3", "MPEG_LAYER_III"))
RATE = 44100


@dataclass
class Item:
    path: str
    style: str
    bpm: float
    key: Key
    first_downbeat_s: float
    intro_bars: int
    outro_bars: int
    seconds: float
    pair: str | None = None  # "low"/"high" for the energy pairs


def build_corpus(folder: Path, tracks: int, seed: int) -> list[Item]:
    """Render the corpus into ``folder``."""
    rng = np.random.default_rng(seed)
    styles = list(STYLES)
    items: list[Item] = []
    for i in range(tracks):
        key = ALL_KEYS[i % 24]
        style = styles[(i + i // 24) % len(styles)]
        lo, hi = STYLES[style].bpm_range
        bpm = round(float(rng.uniform(lo, hi)), 1)
        lead_in = round(float(rng.uniform(0, 1)), 2)
        ext, fmt, subtype = FORMATS[i % len(FORMATS)]
        r = render(style, bpm, key, sr=RATE, lead_in_s=lead_in, seed=seed * 1000 + i)
        path = folder / f"{i:03d}-{style}-{bpm}-{key.camelot}.{ext}"
        sf.write(str(path), r.audio, RATE, format=fmt, subtype=subtype)
        items.append(Item(str(path), style, bpm, key, lead_in, 8, 8, len(r.audio) / RATE))
    for j, style in enumerate(styles):
        lo, hi = STYLES[style].bpm_range
        key = ALL_KEYS[(5 * j) % 24]
        for level, intensity in (("low", 0.4), ("high", 1.0)):
            r = render(style, (lo + hi) / 2, key, sr=RATE, intensity=intensity, seed=seed + j)
            path = folder / f"energy-{style}-{level}.flac"
            sf.write(str(path), r.audio, RATE, format="FLAC")
            items.append(
                Item(str(path), style, (lo + hi) / 2, key, 0.0, 8, 8, len(r.audio) / RATE, level)
            )
    return items


def run_ours(items: list[Item]) -> tuple[list[dict], float]:
    rows, cpu = [], 0.0
    for item in items:
        start = time.process_time()
        a = analyze(item.path)
        cpu += time.process_time() - start
        rows.append(
            {
                "bpm": a.bpm,
                "key": a.key,
                "key_confidence": a.key_confidence,
                "bpm_confidence": a.bpm_confidence,
                "energy": a.energy,
                "first_beat_s": a.first_beat_s,
                "intro_bars": a.intro_bars,
                "outro_bars": a.outro_bars,
                "error": a.error,
            }
        )
    return rows, cpu


def run_essentia(items: list[Item]) -> tuple[list[dict], float] | None:
    try:
        import essentia

        essentia.log.infoActive = False
        essentia.log.warningActive = False
        import essentia.standard as es
    except ImportError:
        return None
    key_x = es.KeyExtractor(profileType="edma", sampleRate=RATE)
    rhythm = es.RhythmExtractor2013(method="multifeature")
    rows, cpu = [], 0.0
    for item in items:
        start = time.process_time()
        audio = es.MonoLoader(filename=item.path, sampleRate=RATE)()
        bpm, *_ = rhythm(audio)
        key, scale, _strength = key_x(audio)
        cpu += time.process_time() - start
        rows.append({"bpm": float(bpm), "key": parse_key(f"{key} {scale}")})
    return rows, cpu


def score(items: list[Item], rows: list[dict]) -> dict:
    main = [(i, r) for i, r in zip(items, rows, strict=True) if i.pair is None]
    n = len(main)
    key_exact = sum(r["key"] == i.key for i, r in main)
    key_compatible = sum(
        r["key"] is not None
        and relation(i.key, r["key"])
        in (KeyRelation.SAME, KeyRelation.ADJACENT, KeyRelation.RELATIVE)
        for i, r in main
    )
    key_relative = sum(
        r["key"] is not None and relation(i.key, r["key"]) is KeyRelation.RELATIVE for i, r in main
    )
    tempo_ok = sum(r["bpm"] is not None and abs(r["bpm"] / i.bpm - 1) <= 0.02 for i, r in main)
    octave = sum(
        r["bpm"] is not None and any(abs(r["bpm"] / (i.bpm * f) - 1) <= 0.02 for f in (0.5, 2.0))
        for i, r in main
    )
    out = {
        "tracks": n,
        "key_exact": round(key_exact / n, 3),
        "key_camelot_compatible": round(key_compatible / n, 3),
        "key_misses_relative": n - key_exact and key_relative,
        "tempo_within_2pct": round(tempo_ok / n, 3),
        "octave_errors": octave,
        "by_style": {},
    }
    for style in STYLES:
        sub = [(i, r) for i, r in main if i.style == style]
        out["by_style"][style] = {
            "key_exact": f"{sum(r['key'] == i.key for i, r in sub)}/{len(sub)}",
            "tempo": f"{sum(r['bpm'] is not None and abs(r['bpm'] / i.bpm - 1) <= 0.02 for i, r in sub)}/{len(sub)}",
        }
    if "first_beat_s" in rows[0]:  # ours (the reference gives no grid, sections or energy)
        out["downbeat_within_30ms"] = round(
            sum(
                r["first_beat_s"] is not None
                and abs(r["first_beat_s"] - i.first_downbeat_s) <= 0.03
                for i, r in main
            )
            / n,
            3,
        )
        out["intro_outro_exact"] = round(
            sum((r["intro_bars"], r["outro_bars"]) == (i.intro_bars, i.outro_bars) for i, r in main)
            / n,
            3,
        )
        pairs = {}
        for i, r in zip(items, rows, strict=True):
            if i.pair:
                pairs.setdefault(i.style, {})[i.pair] = r["energy"]
        out["energy_ordered_pairs"] = (
            f"{sum(p['low'] < p['high'] for p in pairs.values())}/{len(pairs)}"
        )
        out["energy_pairs"] = pairs
        out["energy_spread"] = dict(
            zip(*np.unique([r["energy"] for _, r in main], return_counts=True), strict=True)
        )
        out["energy_spread"] = {int(k): int(v) for k, v in out["energy_spread"].items()}
        out["errors"] = sum(1 for r in rows if r.get("error"))
        # Key accuracy by confidence band: the bands the transition cost trusts differently.
        bands = {"0.7-1": (0.7, 1.01), "0.4-0.7": (0.4, 0.7), "0-0.4": (0.0, 0.4)}
        out["key_exact_by_confidence"] = {}
        for name, (lo, hi) in bands.items():
            sub = [(i, r) for i, r in main if lo <= (r["key_confidence"] or 0.0) < hi]
            hits = sum(r["key"] == i.key for i, r in sub)
            out["key_exact_by_confidence"][name] = f"{hits}/{len(sub)}"
    return out


# VmHWM (peak resident set) of the child itself: ru_maxrss would carry the forking parent's peak.
_MEMORY_CHILD = """
import sys
sys.path.insert(0, {root!r})
from service.dj.analysis import analyze
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
before = hwm()
a = analyze({path!r})
print(before, hwm(), a.bpm, a.error)
"""


def peak_memory(folder: Path) -> dict:
    """Peak RSS of a fresh process analysing a 6-minute track (44.1 kHz stereo FLAC)."""
    r = render("house", 124.0, Key(9, True), sr=RATE, intro_bars=32, main_bars=122, outro_bars=32)
    path = folder / "six-minutes.flac"
    sf.write(str(path), np.stack([r.audio, r.audio], axis=1), RATE, format="FLAC")
    code = _MEMORY_CHILD.format(root=str(Path(__file__).resolve().parents[1]), path=str(path))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    before, after, bpm, _err = out.stdout.split()
    return {
        "track_s": round(len(r.audio) / RATE, 1),
        "peak_rss_mb": round(int(after) / 1024, 1),
        "rss_before_decoding_mb": round(int(before) / 1024, 1),
        "added_by_analysis_mb": round((int(after) - int(before)) / 1024, 1),
        "wall_s_including_imports": round(wall, 2),
        "bpm": float(bpm),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=48)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aidj-bench-analysis-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        items = build_corpus(folder, args.tracks, args.seed)
        print(f"corpus: {len(items)} files in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        audio_s = sum(i.seconds for i in items)
        ours, ours_cpu = run_ours(items)
        result: dict = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load {os.getloadavg()[0]:.1f} at start",
            "seed": args.seed,
            "audio_s": round(audio_s, 1),
            "ours": score(items, ours),
        }
        x_rt = audio_s / ours_cpu
        cores = os.cpu_count() or 1
        result["ours"]["speed_x_realtime_per_core"] = round(x_rt, 1)
        result["ours"]["folder_1000_tracks_6min_s"] = round(1000 * 360 / (x_rt * cores), 0)
        result["ours"]["memory"] = peak_memory(folder)
        reference = None if args.no_reference else run_essentia(items)
        if reference is not None:
            import essentia

            ref_rows, ref_cpu = reference
            result["essentia"] = score(items, ref_rows)
            result["essentia"]["version"] = essentia.__version__
            result["essentia"]["speed_x_realtime_per_core"] = round(audio_s / ref_cpu, 1)
        import scipy
        import soundfile

        result["versions"] = {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "soundfile": soundfile.__version__,
            "libsndfile": soundfile.__libsndfile_version__,
        }
        result["max_rss_bench_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "analysis.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
