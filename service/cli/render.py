"""``aidj set render``: the set as one continuous mix, its cue sheet and a preview per transition.

Reads what ``aidj set build --format json`` writes. The audio code (``service.dj.render``) and the
analysis are imported when the command runs, so ``aidj set build`` does not load them. The render
job stores what the same :func:`~service.dj.render.outputs.render_set` writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from service.dj.render import Track

USAGE_ERROR = 2


def _fail(message: str) -> None:
    click.echo(f"aidj set render: {message}", err=True)
    raise SystemExit(USAGE_ERROR)


def _resolve(path: str, bases: list[Path]) -> Path:
    """``path`` as written, else under the first of ``bases`` (SET.json's folder, the pool's) that
    holds it."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return next((base / p for base in bases if (base / p).exists()), bases[0] / p)


def _grid(entry: dict[str, Any]) -> tuple[float, float] | None:
    bpm, first = entry.get("bpm"), entry.get("first_beat_s")
    grid = entry.get("beat_grid")
    if first is None and isinstance(grid, list | tuple) and len(grid) == 2:
        bpm, first = grid
    if bpm and first is not None:
        return float(bpm), float(first)
    return None


def _track_loader(entry: dict[str, Any], bases: list[Path], technique: str | None) -> Track:
    """Decode one track of SET.json; analyse it when the JSON carries no beat grid."""
    from service.dj.render import decode_track

    path = _resolve(str(entry.get("path") or ""), bases)
    return decode_track(path, _grid(entry), str(entry.get("title") or path.name), technique)


def _techniques(payload: dict[str, Any]) -> dict[str, str]:
    """How each track comes in, by its id, from the JSON's transitions (the scorecard's)."""
    return {
        str(t["to_id"]): str(t["technique"])
        for t in payload.get("transitions") or []
        if isinstance(t, dict) and t.get("to_id") and t.get("technique")
    }


@click.command("render")
@click.argument("set_path", metavar="SET.json", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out", required=True, help="The mix: .flac, .wav, .ogg or .mp3.")
@click.option("--cue", "cue", help="Write a cue sheet with each track's start here.")
@click.option("--previews", "previews", help="Write one preview per transition in this folder.")
@click.option(
    "--preview-format",
    type=click.Choice(["mp3", "opus", "ogg", "flac", "wav"]),
    default="mp3",
    show_default=True,
)
@click.option(
    "--bars",
    type=click.IntRange(1, 64),
    default=None,
    help="Blend every transition over this many bars; by default each is played as its mixing "
    "tip says (a long blend 32 bars, a short one 16, a cut or an echo out).",
)
@click.option("--keylock", is_flag=True, help="Keep each track's pitch when its tempo changes.")
def render_command(
    set_path: str,
    out: str,
    cue: str | None,
    previews: str | None,
    preview_format: str,
    bars: int | None,
    keylock: bool,
) -> None:
    """Render SET.json (from `aidj set build --format json`) as one beatmatched mix."""
    from service.dj.render import RATE, SetTrack, Transition, cue_sheet, render_set
    from service.dj.render.outputs import MIX_FORMATS

    if Path(out).suffix.lower() not in MIX_FORMATS:
        _fail(f"output {out!r}: use a .flac, .wav, .ogg or .mp3 name")
    try:
        with open(set_path, encoding="utf-8") as fh:
            payload = json.load(fh)
        entries = payload["tracks"]
        assert isinstance(entries, list)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        _fail(f"{set_path}: not a set written by `aidj set build --format json`")
    if not entries:
        _fail(f"{set_path}: the set has no tracks")
    bases = [Path(set_path).resolve().parent]
    pool_folder = (payload.get("set") or {}).get("pool_folder")
    if isinstance(pool_folder, str) and pool_folder:
        bases.append(Path(pool_folder))
    preview_dir = Path(previews) if previews else None
    if preview_dir is not None:
        preview_dir.mkdir(parents=True, exist_ok=True)
    techniques = _techniques(payload)
    tracks = [
        SetTrack(
            lambda e=entry: _track_loader(e, bases, techniques.get(str(e.get("id")))),
            str(entry.get("title") or Path(str(entry.get("path") or "?")).stem),
            str(entry.get("artist") or ""),
        )
        for entry in entries
    ]

    def label(i: int) -> str:
        e = entries[i]
        return f"{i + 1} ({e.get('title') or Path(str(e.get('path') or '?')).name})"

    def on_transition(tr: Transition, a: int, b: int) -> None:
        lock = " with keylock" if keylock else ""
        how = (
            f"beatmatched, incoming at ×{tr.speed:.4f}{lock}, bass swap"
            if tr.beatmatched
            else tr.note
        )
        what = {"cut": "cut", "echo_out": "echo"}.get(tr.technique, "blend")
        click.echo(f"{label(a)} → {label(b)}: {tr.length / RATE:.1f} s {what}, {how}")

    rendered = render_set(
        tracks,
        mix=Path(out),
        previews=preview_dir,
        preview_format=preview_format,
        bars=bars,
        keylock=keylock,
        on_transition=on_transition,
    )
    for item in rendered.failed:
        click.echo(
            f"aidj set render: track {label(item.index)} skipped, its transitions not rendered: "
            f"{item.error}",
            err=True,
        )
    for p in rendered.previews:
        click.echo(f"  preview {p.path} ({p.seconds:.0f} s)")
    if not rendered.played:
        Path(out).unlink(missing_ok=True)
        _fail("no track could be decoded: nothing rendered")
    speed = rendered.seconds / max(rendered.render_s, 1e-9)
    click.echo(
        f"{out}: {len(rendered.played)} tracks, {rendered.seconds / 60:.1f} min, "
        f"rendered in {rendered.render_s:.1f} s ({speed:.0f}× real time)"
    )
    if cue:
        Path(cue).write_text(cue_sheet(Path(out).name, tracks, rendered.played), encoding="utf-8")
        click.echo(f"{cue}: cue sheet, {len(rendered.played)} tracks")
    if rendered.failed:
        raise SystemExit(1)
