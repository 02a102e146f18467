"""``aidj analyze``: tempo, key, energy, grid and intro/outro from the audio of files.

``--json`` prints one row per file, shaped like ``aidj inspect --json`` rows (``path``, ``bpm``,
``key`` as ``{camelot, open_key, name}``, ``energy``, ``duration_s``, ``error``) plus
``bpm_confidence``, ``key_confidence``, ``key_runner_up``, ``first_beat_s``, ``intro_bars`` and
``outro_bars``: a contract other tools read. A file that cannot be analysed (corrupt, silent, too
short) gives a row with ``error`` and the others go on. Exit status 0 when at least one file was
analysed, 2 when none could be (each row still says why).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import click

from service.dj.analysis import Analysis, analyze
from service.dj.tags import iter_audio_files

log = logging.getLogger(__name__)

USAGE_ERROR = 2


def _one(path: str) -> Analysis:
    """Analyse one file; an unexpected failure becomes that file's error row, not the batch's."""
    try:
        return analyze(path)
    except Exception as exc:  # a bug or an exotic file must not stop a 1,000-file folder
        log.exception("analysis of %s failed", path)
        return Analysis(path=path, error=f"analysis failed ({type(exc).__name__})")


def analyze_paths(paths: list[str], jobs: int) -> Iterator[Analysis]:
    """Rows in the order of ``paths``, over ``jobs`` processes (1: in this process)."""
    if jobs <= 1 or len(paths) <= 1:
        yield from map(_one, paths)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
        yield from pool.map(_one, paths, chunksize=1)


def _describe(row: Analysis) -> str:
    if row.error:
        return f"{row.path}: ERROR {row.error}"
    bits = [
        f"{row.bpm:g} BPM ({row.bpm_confidence:.2f})" if row.bpm else "no tempo",
        f"{row.key.camelot} {row.key.name} ({row.key_confidence:.2f}, else {row.key_runner_up})"
        if row.key
        else "no key",
        f"energy {row.energy}",
    ]
    if row.first_beat_s is not None:
        bits.append(f"downbeat {row.first_beat_s:.3f} s")
    if row.intro_bars is not None:
        bits.append(f"intro {row.intro_bars} bars, outro {row.outro_bars} bars")
    return f"{row.path}: {', '.join(bits)}"


@click.command("analyze")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per file.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="the number of CPU cores",
    help="Files analysed in parallel (one process each).",
)
def analyze_command(files: tuple[str, ...], as_json: bool, jobs: int) -> None:
    """Detect tempo, beat grid, key, energy and intro/outro of audio FILES (folders are searched)."""
    paths: list[str] = []
    for name in files:
        if os.path.isdir(name):
            paths.extend(iter_audio_files(name))
        else:
            paths.append(name)
    if not paths:
        click.echo("aidj analyze: no audio files found in " + ", ".join(files), err=True)
        raise SystemExit(USAGE_ERROR)
    rows: list[Analysis] = []
    for row in analyze_paths(paths, jobs):
        rows.append(row)
        if not as_json:
            click.echo(_describe(row))
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
    if all(r.error for r in rows):
        what = "the file" if len(rows) == 1 else f"any of the {len(rows)} files"
        click.echo(f"aidj analyze: could not analyse {what}", err=True)
        raise SystemExit(USAGE_ERROR)


def register(main: click.Group) -> None:
    """Attach ``analyze`` to the ``aidj`` group."""
    main.add_command(analyze_command)
