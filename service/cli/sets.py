"""``aidj set build|score|costs``: plan a set from a pool, score an order, show the cost matrix
(``aidj set render`` lives in :mod:`service.cli.render`).

The shapes of ``--format json`` (build), ``score --json`` and ``costs --json`` are a contract other
tools read. Exit status: 0 on success, 2 when the input or the request cannot be used (the reason on
stderr).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from service.cli import process_started_at
from service.cli.library import playlist_option
from service.dj.arcs import ArcError, parse_arc
from service.dj.costs import CostWeights
from service.dj.exports import EXPORT_FORMATS, check_music_folder, export_set, to_serato_crate
from service.dj.pools import Pool, PoolError, load_pool
from service.dj.scorecard import score_order
from service.dj.sequencing.objective import FORBIDDEN
from service.dj.sequencing.plan import (
    DEFAULT_OVERLAP_S,
    PlannedSet,
    SetError,
    SetRequest,
    constrained_problem,
    plan_set,
)
from service.dj.values import parse_duration

if TYPE_CHECKING:
    from service.ai import NotesProvider

USAGE_ERROR = 2


def _fail(command: str, message: str) -> None:
    click.echo(f"aidj set {command}: {message}", err=True)
    raise SystemExit(USAGE_ERROR)


def parse_set_length(text: str) -> float:
    """Seconds of a set length as a DJ types it: ``90m``, ``1h30m``, ``1:30:00`` or bare minutes."""
    try:
        seconds = parse_duration(text, bare_unit="min")
    except ValueError:
        seconds = None
    if seconds is None:
        raise click.BadParameter(f"{text!r}: use e.g. 90m, 1h30m, 5400s or 1:30:00")
    return seconds


def parse_budget(text: str) -> float:
    """Seconds from ``2s``, ``500ms`` or a bare number of seconds."""
    value = text.strip().lower()
    try:
        if value.endswith("ms"):
            return float(value[:-2]) / 1000.0
        if value.endswith("s"):
            return float(value[:-1])
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use e.g. 2s or 500ms") from None


def parse_bpm_range(text: str) -> tuple[float, float]:
    """``120:130`` (also ``120-130``) → (120.0, 130.0)."""
    parts = re.split(r"[:\-–]", text.strip())
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use MIN:MAX, e.g. 120:130") from None
    if lo > hi:
        raise click.BadParameter(f"{text!r}: the minimum is above the maximum")
    return lo, hi


def _locked_pairs(command: str, locks: tuple[str, ...]) -> list[tuple[str, str]]:
    """``A:B`` texts → (A, B) id pairs."""
    locked: list[tuple[str, str]] = []
    for text in locks:
        a, sep, b = text.partition(":")
        if not sep or not a or not b:
            _fail(command, f"--lock {text!r}: use A:B with two track ids")
        locked.append((a, b))
    return locked


def _load(command: str, pool_path: str, playlist: str | None = None) -> Pool:
    try:
        pool = load_pool(pool_path, playlist=playlist)
    except PoolError as exc:
        _fail(command, str(exc))
        raise  # unreachable, for type checkers
    for problem in pool.problems:
        where = "".join(
            f"{part}: "
            for part in (
                f"line {problem.line}" if problem.line is not None else None,
                problem.path,
            )
            if part
        )
        click.echo(f"aidj set {command}: warning: {where}{problem.reason}", err=True)
    if not pool.tracks:
        _fail(command, f"{pool_path}: the pool holds no usable track")
    return pool


def _provider(ai: str | None) -> NotesProvider:
    """The configured notes provider; ``--ai`` overrides AI_PROVIDER from the environment."""
    from service.ai import provider_from_config

    config = dict(os.environ)
    if ai:
        config["AI_PROVIDER"] = ai
    return provider_from_config(config)


def _notes(planned: PlannedSet, provider: NotesProvider, brief: str | None) -> dict[str, object]:
    from service.ai.views import set_view

    view = set_view(
        list(planned.tracks), planned.scorecard, planned.arc.name if planned.arc else None
    )
    notes = provider.annotate(view, brief)
    return notes.model_dump()


def _emit(text: str, out: str | None) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _emit_bytes(data: bytes, out: str | None) -> None:
    if out is None:
        click.get_binary_stream("stdout").write(data)
        return
    with open(out, "wb") as fh:
        fh.write(data)


@click.group("set")
def set_group() -> None:
    """Plan, score and inspect DJ sets."""


@set_group.command("build")
@click.argument("pool_path", metavar="POOL", type=click.Path())
@playlist_option
@click.option(
    "--duration", help="Target length (90m, 1h30m, 1:30:00); without it every track is ordered."
)
@click.option(
    "--tolerance", type=float, default=5.0, show_default=True, help="Length tolerance in %."
)
@click.option(
    "--arc",
    "arc_text",
    default=None,
    help="warm-up, build, peak-time, journey (default), cool-down, none, or points 0:4,0.7:8,1:6.",
)
@click.option("--first", help="Id of the track to open with.")
@click.option("--last", help="Id of the track to close with.")
@click.option("--include", multiple=True, help="Id of a track the set must contain (repeatable).")
@click.option(
    "--exclude", multiple=True, help="Id of a track the set must not contain (repeatable)."
)
@click.option(
    "--lock",
    "locks",
    multiple=True,
    metavar="A:B",
    help="Play track B directly after track A (repeatable).",
)
@click.option("--bpm-range", help="Only tracks within MIN:MAX BPM, e.g. 120:130.")
@click.option(
    "--max-tempo-step", type=float, help="Largest tempo change allowed between tracks, in %."
)
@click.option(
    "--keylock", is_flag=True, help="Compare keys as tagged (the DJ plays with keylock on)."
)
@click.option(
    "--overlap",
    type=float,
    default=DEFAULT_OVERLAP_S,
    show_default=True,
    help="Seconds two tracks overlap in a mix (counts against the length).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--time-budget", default="2s", show_default=True, help="Search time, e.g. 2s.")
@click.option(
    "--ai",
    type=click.Choice(["local", "gemini", "litellm"]),
    help="Notes provider (default: AI_PROVIDER from the environment, else local).",
)
@click.option(
    "--brief",
    help="The DJ's brief in words: fills in length, arc and BPM range not given as options, "
    "and is passed to the notes.",
)
@click.option("--name", help="Playlist name in the exports (default: the notes' title).")
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="m3u8", show_default=True
)
@click.option("--relative", is_flag=True, help="M3U8: paths relative to the output file's folder.")
@click.option(
    "--music-folder",
    help="Where the music lives on the computer the export is for (e.g. /Users/dj/Music): bare "
    "and relative names are placed under it in every format.",
)
@click.option(
    "-o", "--output", "out", type=click.Path(dir_okay=False), help="Write here, not stdout."
)
def build_command(
    pool_path: str,
    playlist_name: str | None,
    duration: str | None,
    tolerance: float,
    arc_text: str,
    first: str | None,
    last: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    locks: tuple[str, ...],
    bpm_range: str | None,
    max_tempo_step: float | None,
    keylock: bool,
    overlap: float,
    seed: int,
    time_budget: str,
    ai: str | None,
    brief: str | None,
    name: str | None,
    fmt: str,
    relative: bool,
    music_folder: str | None,
    out: str | None,
) -> None:
    """Choose and order tracks from POOL (M3U8, folder, Rekordbox XML, Traktor NML or CSV)."""
    started_at = process_started_at()  # the budget is the whole command's
    provider = _provider(ai)  # loaded before the search, whose deadline then accounts for it
    brief_used: dict[str, object] | None = None
    if brief:
        # explicit options win; the brief only fills what the DJ left open
        params = provider.interpret_brief(brief)
        brief_used = params.model_dump()
        if duration is None and params.duration_min:
            duration = f"{params.duration_min}m"
        if arc_text is None and params.arc:
            arc_text = params.arc
        if bpm_range is None and params.bpm_min is not None and params.bpm_max is not None:
            bpm_range = f"{params.bpm_min}:{params.bpm_max}"
    try:
        arc = parse_arc(arc_text or "journey")
    except ArcError as exc:
        _fail("build", str(exc))
    locked = _locked_pairs("build", locks)
    request = SetRequest(
        duration_s=parse_set_length(duration) if duration else None,
        tolerance=tolerance / 100.0,
        arc=arc,
        first=first,
        last=last,
        include=include,
        exclude=exclude,
        locked_pairs=tuple(locked),
        bpm_range=parse_bpm_range(bpm_range) if bpm_range else None,
        max_tempo_step_pct=max_tempo_step,
        seed=seed,
        time_budget_s=parse_budget(time_budget),
        weights=CostWeights(keylock=keylock),
        overlap_s=overlap,
        started_at=started_at,
    )
    try:
        music_folder = check_music_folder(music_folder or "")
    except ValueError as exc:
        _fail("build", str(exc))
    pool = _load("build", pool_path, playlist_name)
    try:
        planned = plan_set(pool.tracks, request)
    except SetError as exc:
        _fail("build", str(exc))
    notes = _notes(planned, provider, brief)
    title = name or str(notes.get("title") or "AIDJSets set")
    relative_to = os.path.dirname(os.path.abspath(out)) if (relative and out) else None
    extra = {
        "set": {
            "method": planned.method,
            "optimal": planned.optimal,
            "objective": round(planned.objective, 6),
            "arc": planned.arc.name if planned.arc else None,
            "seed": seed,
            "duration_s": request.duration_s,
            "bpm_range": list(request.bpm_range) if request.bpm_range else None,
            "brief": brief_used,
            "search": asdict(planned.stats) if planned.stats else None,
            # Where the pool's relative paths start, for `aidj set render` run from elsewhere.
            "pool_folder": os.path.abspath(
                pool_path if os.path.isdir(pool_path) else os.path.dirname(pool_path) or "."
            ),
        }
    }
    if fmt == "serato":
        _emit_bytes(to_serato_crate(planned.tracks, music_folder=music_folder), out)
        return
    text = export_set(
        fmt,
        planned.tracks,
        scorecard=planned.scorecard,
        notes=notes,
        name=title,
        relative_to=relative_to,
        extra=extra,
        music_folder=music_folder,
    )
    _emit(text, out)


@set_group.command("score")
@click.argument("pool_path", metavar="POOL", type=click.Path())
@playlist_option
@click.option(
    "--arc", "arc_text", default="journey", show_default=True, help="Arc to measure against."
)
@click.option("--keylock", is_flag=True, help="Compare keys as tagged (keylock on).")
@click.option("--overlap", type=float, default=DEFAULT_OVERLAP_S, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {tracks, transitions, score}.")
def score_command(
    pool_path: str,
    playlist_name: str | None,
    arc_text: str,
    keylock: bool,
    overlap: float,
    as_json: bool,
) -> None:
    """The scorecard of POOL played in the order given."""
    try:
        arc = parse_arc(arc_text)
    except ArcError as exc:
        _fail("score", str(exc))
    pool = _load("score", pool_path, playlist_name)
    card = score_order(
        pool.tracks, weights=CostWeights(keylock=keylock), arc=arc, overlap_s=overlap
    )
    if as_json:
        payload = json.loads(export_set("json", pool.tracks, scorecard=card))
        payload.pop("notes", None)
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for key, value in card.summary().items():
        click.echo(f"{key}: {value}")
    for tr in card.transitions:
        tempo = "?" if tr.tempo_change_pct is None else f"{tr.tempo_change_pct:+.1f} %"
        click.echo(f"{tr.from_id} → {tr.to_id}: {tr.relation or 'key unknown'}, {tempo}; {tr.tip}")


@set_group.command("costs")
@click.argument("pool_path", metavar="POOL", type=click.Path())
@playlist_option
@click.option("--keylock", is_flag=True, help="Compare keys as tagged (keylock on).")
@click.option(
    "--with-constraints",
    is_flag=True,
    help=f"Price the constraints below as the solver does (forbidden = {FORBIDDEN:g}) and add "
    "the cost of opening and closing the set with each track.",
)
@click.option("--first", help="Id of the track to open with (with --with-constraints).")
@click.option("--last", help="Id of the track to close with (with --with-constraints).")
@click.option(
    "--lock", "locks", multiple=True, metavar="A:B", help="Play B directly after A (repeatable)."
)
@click.option("--max-tempo-step", type=float, help="Largest tempo change allowed, in %.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {tracks: [{id, path}], matrix}.")
def costs_command(
    pool_path: str,
    playlist_name: str | None,
    keylock: bool,
    with_constraints: bool,
    first: str | None,
    last: str | None,
    locks: tuple[str, ...],
    max_tempo_step: float | None,
    as_json: bool,
) -> None:
    """The transition cost matrix the solver uses for POOL (row = from, column = to)."""
    if not with_constraints and (first or last or locks or max_tempo_step is not None):
        _fail("costs", "--first, --last, --lock and --max-tempo-step need --with-constraints")
    pool = _load("costs", pool_path, playlist_name)
    request = SetRequest(
        first=first,
        last=last,
        locked_pairs=tuple(_locked_pairs("costs", locks)),
        max_tempo_step_pct=max_tempo_step,
        weights=CostWeights(keylock=keylock),
    )
    try:
        problem = constrained_problem(pool.tracks, request)
    except SetError as exc:
        _fail("costs", str(exc))
    matrix = problem.cost
    payload: dict[str, object] = {
        "tracks": [{"id": t.id, "path": t.path} for t in pool.tracks],
        "matrix": matrix.tolist(),
    }
    if with_constraints:
        payload["opening"] = problem.opening.tolist()
        payload["closing"] = problem.closing.tolist()
        payload["forbidden"] = FORBIDDEN
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    ids = [t.id for t in pool.tracks]
    width = max(len(i) for i in ids)
    cell = max(width, 5)

    def show(value: float) -> str:
        return f"{'×':>{cell}}" if value >= FORBIDDEN / 2 else f"{value:>{cell}.2f}"

    click.echo(" " * width + " " + " ".join(f"{i:>{cell}}" for i in ids))
    for i, row in zip(ids, matrix, strict=True):
        click.echo(f"{i:>{width}} " + " ".join(show(v) for v in row))
    if with_constraints:
        click.echo(f"{'open':>{width}} " + " ".join(show(v) for v in problem.opening))
        click.echo(f"{'close':>{width}} " + " ".join(show(v) for v in problem.closing))
        click.echo(f"× = forbidden (priced {FORBIDDEN:g})")


def register(main: click.Group) -> None:
    """Attach ``aidj set`` to the command group."""
    from service.cli.render import render_command

    set_group.add_command(render_command)
    main.add_command(set_group)
