"""``aidj inspect`` and ``aidj playlist``: what the DJ library core reads from files.

Their ``--json`` shapes are a contract other tools read. Exit status: 0 when the input could be read
(per-file errors and per-line problems are in the output), 2 when it is unusable (reason on stderr),
including ``aidj inspect`` when not one file could be read (the output still says why for each).
"""

from __future__ import annotations

import json
import os

import click

from service.dj.playlists import Limits, PoolError, read_playlist
from service.dj.tags import TrackTags, iter_audio_files, read_many

USAGE_ERROR = 2


def _fail(command: str, message: str) -> None:
    click.echo(f"aidj {command}: {message}", err=True)
    raise SystemExit(USAGE_ERROR)


def _describe(tags: TrackTags) -> str:
    if tags.error:
        return f"{tags.path}: ERROR {tags.error}"
    who = " - ".join(x for x in (tags.artist, tags.title) if x) or "(no artist/title)"
    bits = [
        tags.format or "?",
        tags.key.camelot if tags.key else "no key",
        f"{tags.bpm:g} BPM" if tags.bpm else "no BPM",
    ]
    if tags.energy is not None:
        bits.append(f"energy {tags.energy}")
    lines = [f"{tags.path}: {who} [{', '.join(bits)}]"]
    lines += [f"  warning: {w}" for w in tags.warnings]
    return "\n".join(lines)


#: ``--playlist NAME``, the same choice for ``aidj playlist`` and ``aidj set build|score|costs``.
playlist_option = click.option(
    "--playlist",
    "playlist_name",
    metavar="NAME",
    help="One playlist inside a Rekordbox or Traktor collection: its Folder/Name path, or its "
    "name alone when that is unique (a name may contain '/').",
)


@click.command("inspect")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per file.")
def inspect_command(files: tuple[str, ...], as_json: bool) -> None:
    """Read the tags of audio FILES (folders are searched for audio files)."""
    paths: list[str] = []
    for name in files:
        if os.path.isdir(name):
            paths.extend(iter_audio_files(name))
        else:
            paths.append(name)
    if not paths:
        _fail("inspect", "no audio files found in " + ", ".join(files))
    results = list(read_many(paths))
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=2))
    else:
        for r in results:
            click.echo(_describe(r))
    if all(r.error for r in results):
        what = "the file" if len(results) == 1 else f"any of the {len(results)} files"
        _fail("inspect", f"could not read {what}")


@click.command("playlist")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--json", "as_json", is_flag=True, help="Print {format, encoding, entries, problems}."
)
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    help="Library root: relative entries may not climb above it (default: none; relative entries, "
    "../ included, stay relative to the playlist's folder).",
)
@playlist_option
@click.option(
    "--max-entries",
    type=click.IntRange(min=1),
    default=Limits().max_entries,
    show_default=True,
    help="Refuse playlists with more entries.",
)
def playlist_command(
    file: str, as_json: bool, root: str | None, playlist_name: str | None, max_entries: int
) -> None:
    """Parse a playlist or collection FILE: M3U/M3U8, PLS, Rekordbox XML or text, Traktor NML, CSV."""
    try:
        parsed = read_playlist(
            file, root=root, playlist=playlist_name, limits=Limits(max_entries=max_entries)
        )
    except PoolError as exc:
        _fail("playlist", str(exc))
        return
    if as_json:
        click.echo(json.dumps(parsed.to_json(), indent=2))
        return
    click.echo(
        f"{parsed.format} ({parsed.encoding}), {len(parsed.entries)} entries"
        + (f", playlist {parsed.name!r}" if parsed.name else "")
    )
    for e in parsed.entries:
        who = " - ".join(x for x in (e.artist, e.title) if x)
        extra = " ".join(
            x for x in (e.key.camelot if e.key else None, f"{e.bpm:g}" if e.bpm else None) if x
        )
        dup = f" (duplicate of line {e.duplicate_of})" if e.duplicate_of is not None else ""
        where = e.path or e.url or "(no location)"
        click.echo(f"{e.line or '-':>6}  {where}  {who}  {extra}{dup}".rstrip())
    for p in parsed.problems:
        click.echo(f"problem at line {p.line if p.line is not None else '-'}: {p.reason}")


def register(main: click.Group) -> None:
    """Attach ``inspect`` and ``playlist`` to the ``aidj`` group."""
    main.add_command(inspect_command)
    main.add_command(playlist_command)
