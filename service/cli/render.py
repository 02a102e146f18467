"""``aidj set render``: the set as one continuous mix, its cue sheet and a preview per transition.

Reads what ``aidj set build --format json`` writes. The audio code (``service.dj.render``) and the
analysis are imported when the command runs, so ``aidj set build`` does not load them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from service.dj.render import Track

USAGE_ERROR = 2
#: Output formats by file extension: (libsndfile format, subtype).
FORMATS: dict[str, tuple[str, str]] = {
    ".flac": ("FLAC", "PCM_24"),
    ".wav": ("WAV", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}

#: Preview formats that are not mix formats: Opus in Ogg (libsndfile's libopus).
PREVIEW_FORMATS: dict[str, tuple[str, str]] = {"opus": ("OGG", "OPUS")}


def _fail(message: str) -> None:
    click.echo(f"aidj set render: {message}", err=True)
    raise SystemExit(USAGE_ERROR)


def _format(path: str, what: str) -> tuple[str, str]:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        _fail(f"{what} {path!r}: use a .flac, .wav, .ogg or .mp3 name")
    assert fmt is not None
    return fmt


def _resolve(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return base / p


def _track_loader(entry: dict[str, Any], base: Path) -> Track:
    """Decode one track of SET.json; analyse it when the JSON carries no beat grid."""
    from service.dj.analysis import analyze
    from service.dj.render import Track, load

    path = _resolve(str(entry.get("path") or ""), base)
    bpm = entry.get("bpm")
    first = entry.get("first_beat_s")
    grid = entry.get("beat_grid")
    if first is None and isinstance(grid, list | tuple) and len(grid) == 2:
        bpm, first = grid
    audio = load(path)  # raises DecodeError (a ValueError) for a missing or corrupt file
    if first is None:
        found = analyze(path)
        if found.bpm is not None and found.first_beat_s is not None:
            bpm, first = found.bpm, found.first_beat_s
    title = " – ".join(str(entry[k]) for k in ("artist", "title") if entry.get(k)) or path.name
    return Track(audio, float(bpm) if bpm else None, first, title)


def _cue_time(seconds: float) -> str:
    frames = round(seconds * 75)
    return f"{frames // 4500:02d}:{frames // 75 % 60:02d}:{frames % 75:02d}"


def _quote(text: str) -> str:
    return text.replace('"', "'")


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
    "--bars", type=click.IntRange(2, 64), default=16, show_default=True, help="Blend length."
)
@click.option("--keylock", is_flag=True, help="Keep each track's pitch when its tempo changes.")
def render_command(
    set_path: str,
    out: str,
    cue: str | None,
    previews: str | None,
    preview_format: str,
    bars: int,
    keylock: bool,
) -> None:
    """Render SET.json (from `aidj set build --format json`) as one beatmatched mix."""
    import soundfile as sf

    from service.dj.render import RATE, Deck, Played, Transition, mix_blocks, preview

    fmt, subtype = _format(out, "output")
    try:
        with open(set_path, encoding="utf-8") as fh:
            payload = json.load(fh)
        entries = payload["tracks"]
        assert isinstance(entries, list)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        _fail(f"{set_path}: not a set written by `aidj set build --format json`")
    if not entries:
        _fail(f"{set_path}: the set has no tracks")
    base = Path(set_path).resolve().parent
    preview_dir = Path(previews) if previews else None
    if preview_dir is not None:
        preview_dir.mkdir(parents=True, exist_ok=True)
    p_fmt, p_subtype = PREVIEW_FORMATS.get(preview_format) or FORMATS[f".{preview_format}"]

    def label(i: int) -> str:
        e = entries[i]
        return f"{i + 1} ({e.get('title') or Path(str(e.get('path') or '?')).name})"

    def on_transition(outgoing: Deck, tr: Transition, a: int, b: int) -> None:
        lock = " with keylock" if keylock else ""
        how = (
            f"beatmatched, incoming at ×{tr.speed:.4f}{lock}, bass swap"
            if tr.beatmatched
            else tr.note
        )
        click.echo(f"{label(a)} → {label(b)}: {tr.length / RATE:.1f} s blend, {how}")
        if preview_dir is None:
            return
        started = time.perf_counter()
        audio, _ = preview(outgoing, tr)
        name = preview_dir / f"{a + 1:02d}-{b + 1:02d}.{preview_format}"
        rate = RATE
        if p_subtype == "OPUS":  # Opus runs at 48 kHz
            from scipy.signal import resample_poly

            audio, rate = resample_poly(audio, 160, 147, axis=0).astype("float32"), 48000
        sf.write(name, audio, rate, format=p_fmt, subtype=p_subtype)
        spent = time.perf_counter() - started
        click.echo(f"  preview {name} ({len(audio) / RATE:.0f} s, {spent:.1f} s to render)")

    loaders = [(i, lambda e=entry: _track_loader(e, base)) for i, entry in enumerate(entries)]
    played: list[Played] = []
    failed = 0
    started = time.perf_counter()
    frames = 0
    with sf.SoundFile(out, "w", RATE, 2, subtype=subtype, format=fmt) as sink:
        for item in mix_blocks(loaders, bars=bars, on_transition=on_transition, pitch_lock=keylock):
            if isinstance(item, Played):
                if item.error is not None:
                    failed += 1
                    click.echo(
                        f"aidj set render: track {label(item.index)} skipped, its transitions "
                        f"not rendered: {item.error}",
                        err=True,
                    )
                else:
                    played.append(item)
                continue
            sink.write(item)
            frames += len(item)
    spent = time.perf_counter() - started
    if not played:
        Path(out).unlink(missing_ok=True)
        _fail("no track could be decoded: nothing rendered")
    click.echo(
        f"{out}: {len(played)} tracks, {frames / RATE / 60:.1f} min, "
        f"rendered in {spent:.1f} s ({frames / RATE / max(spent, 1e-9):.0f}× real time)"
    )
    if cue:
        lines = [f'FILE "{_quote(Path(out).name)}" {"WAVE" if fmt != "MP3" else "MP3"}']
        for n, item in enumerate(played, start=1):
            e = entries[item.index]
            lines.append(f"  TRACK {n:02d} AUDIO")
            lines.append(f'    TITLE "{_quote(str(e.get("title") or Path(str(e["path"])).stem))}"')
            if e.get("artist"):
                lines.append(f'    PERFORMER "{_quote(str(e["artist"]))}"')
            lines.append(f"    INDEX 01 {_cue_time(item.start_s)}")
        Path(cue).write_text("\n".join(lines) + "\n", encoding="utf-8")
        click.echo(f"{cue}: cue sheet, {len(played)} tracks")
    if failed:
        raise SystemExit(1)
