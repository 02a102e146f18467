"""Generate a set: charge tokens once, plan the order, write notes and ``set_tracks``.

Steps: re-read the set; charge ``app_settings.set_price_tokens`` under the unique ledger reference
``set:<id>`` (too few tokens: the set fails with a clear message and nothing is charged); load the
pool (the set's playlist, else the owner's whole library, only the owner's tracks); plan with the set
engine; ask the AI layer for notes (it falls back to local notes and says why); replace the set's
``set_tracks`` (each row carries the transition *into* that track); store scorecard and notes; done;
ask for the transition previews when the set's tracks have audio (:mod:`service.jobs.render`).
A terminal failure refunds once (``refund:set:<id>``). Whatever retries, duplicate deliveries or
crashes happen, the unique references keep it to one charge and at most one refund.

``parameters`` (all optional): ``duration_min``, ``arc``, ``bpm_min``, ``bpm_max``, ``first``,
``last``, ``include``, ``exclude`` (track ids), ``max_tempo_step_pct``, ``tolerance_pct``, ``seed``,
``time_budget_s``. What the parameters leave open is read from the brief.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from service import ledger, usage
from service.ai import provider_from_config
from service.ai.views import set_view
from service.config import load_config
from service.dj.sequencing.plan import PlannedSet, SetError, SetRequest, plan_set
from service.dj.tracks import Track
from service.integrations.directus import DirectusClient, DirectusError
from service.jobs import render, state
from service.jobs.queue import redis_connection
from service.track_rows import TRACK_ROW_FIELDS, track_from_item

log = logging.getLogger(__name__)

COLLECTION = "sets"
MAX_TIME_BUDGET_S = 10.0
BATCH = 200


class _Clock:
    """Seconds spent in each step, for the job's log line."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name], self.last = now - self.last, now

    def __str__(self) -> str:
        return " ".join(f"{name} {seconds:.2f}s" for name, seconds in self.laps.items())


def run(set_id: str) -> str:
    """RQ entry point: generate one set."""
    return state.run_job(COLLECTION, set_id, generate, undo=refund)


def terminal_failure(set_id: str, message: str) -> None:
    """Fail the set from outside its job (timeout, dead worker), refunding once."""
    state.terminal_failure(COLLECTION, set_id, message, refund)


def refund(directus: DirectusClient, item: dict[str, Any]) -> None:
    """Give back the set's charge, once; nothing when nothing was charged."""
    ledger.refund(directus, ledger.set_reference(str(item["id"])))


def _pool(directus: DirectusClient, item: dict[str, Any]) -> list[Track]:
    """The owner's tracks the set is chosen from, in playlist order when there is a playlist."""
    owner = item["owner"]
    fields = list(TRACK_ROW_FIELDS)
    if item.get("playlist"):
        playlist = directus.get_item("playlists", item["playlist"], fields=["owner", "status"])
        if playlist.get("owner") != owner:
            raise state.JobFailure("This playlist belongs to someone else.")
        if playlist.get("status") != "done":
            # Ingest not finished yet: a transient wait, retried by RQ with backoff.
            raise RuntimeError("the playlist is still being imported")
        links = directus.list_items(
            "playlist_tracks",
            filter={"playlist": {"_eq": item["playlist"]}},
            fields=["track", "position"],
            sort=["position"],
            limit=-1,
        )
        ids = list(dict.fromkeys(link["track"] for link in links if link.get("track")))
        rows: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), BATCH):
            for row in directus.list_items(
                "tracks",
                filter={"id": {"_in": ids[start : start + BATCH]}},
                fields=fields,
                limit=-1,
            ):
                rows[str(row["id"])] = row
        ordered = [rows[i] for i in ids if i in rows]
    else:
        ordered = list(
            directus.iter_items("tracks", filter={"owner": {"_eq": owner}}, fields=fields)
        )
    return [track_from_item(row) for row in ordered if row.get("owner") == owner]


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _request(
    params: dict[str, Any], brief: str | None, config: dict[str, Any]
) -> tuple[SetRequest, str | None]:
    """The engine's request from the set's parameters, with what they leave open read from the brief."""
    duration_min = _number(params.get("duration_min"))
    arc = params.get("arc")
    bpm_min, bpm_max = _number(params.get("bpm_min")), _number(params.get("bpm_max"))
    brief_provider = None
    if brief and (duration_min is None or arc is None or bpm_min is None):
        read = provider_from_config(config).interpret_brief(brief)
        brief_provider = read.provider
        duration_min = duration_min if duration_min is not None else read.duration_min
        arc = arc if arc is not None else read.arc
        if bpm_min is None and bpm_max is None:
            bpm_min, bpm_max = read.bpm_min, read.bpm_max
    bpm_range = None
    if bpm_min is not None or bpm_max is not None:
        bpm_range = (bpm_min or 0.0, bpm_max or 1000.0)
    request = SetRequest(
        duration_s=duration_min * 60.0 if duration_min else None,
        tolerance=(_number(params.get("tolerance_pct")) or 5.0) / 100.0,
        arc=arc or "journey",
        first=params.get("first") or None,
        last=params.get("last") or None,
        include=tuple(params.get("include") or ()),
        exclude=tuple(params.get("exclude") or ()),
        bpm_range=bpm_range,
        max_tempo_step_pct=_number(params.get("max_tempo_step_pct")),
        seed=int(params.get("seed") or 0),
        time_budget_s=min(MAX_TIME_BUDGET_S, _number(params.get("time_budget_s")) or 2.0),
    )
    return request, brief_provider


def _set_tracks(set_id: str, planned: PlannedSet, notes: dict[str, str]) -> list[dict[str, Any]]:
    """One row per track in play order; each carries the transition into it from the previous one."""
    into = {t.to_id: t for t in planned.scorecard.transitions}
    rows = []
    for position, track in enumerate(planned.tracks, start=1):
        report = into.get(track.id) if position > 1 else None
        transition = None
        if report is not None:
            transition = {
                **report.to_json(),
                "from_track": report.from_id,
                "note": notes.get(f"{report.from_id}>{report.to_id}"),
            }
        rows.append(
            {"set": set_id, "track": track.id, "position": position, "transition": transition}
        )
    return rows


def generate(directus: DirectusClient, item: dict[str, Any], progress: state.ItemState) -> None:
    """Charge, plan, annotate, write: the set's whole pipeline."""
    set_id, owner = str(item["id"]), item["owner"]
    config = load_config()
    clock = _Clock()
    reference = ledger.set_reference(set_id)
    if ledger.find(directus, f"refund:{reference}") is not None:
        raise state.JobFailure(
            "This set failed earlier and its tokens were refunded; create a new set to try again."
        )
    try:
        charged, _ = ledger.charge(
            directus, owner, ledger.set_price(directus), reference, lock=redis_connection(config)
        )
    except ledger.InsufficientTokens as exc:
        raise state.JobFailure(str(exc)) from None
    progress.progress(15, tokens_charged=-charged.delta)
    clock.lap("charge")

    pool = _pool(directus, item)
    if not pool:
        raise state.JobFailure(
            "There are no tracks to build the set from; import a playlist first."
        )
    progress.progress(30)
    clock.lap("pool")

    request, _ = _request(dict(item.get("parameters") or {}), item.get("brief"), config)
    # The DJ's budget is the planning step's wall time: a busy worker stops the search on the clock
    # rather than spending the budget's full work however long it takes.
    request = dataclasses.replace(request, started_at=time.monotonic())
    try:
        planned = plan_set(pool, request)
    except SetError as exc:
        raise state.JobFailure(f"The set could not be planned: {exc}") from None
    progress.progress(60)
    clock.lap("plan")

    arc_name = planned.arc.name if planned.arc else None
    view = set_view(list(planned.tracks), planned.scorecard, arc_name)
    notes = provider_from_config(config).annotate(view, item.get("brief"))
    by_pair = {f"{n.from_id}>{n.to_id}": n.note for n in notes.transitions}
    progress.progress(80)
    clock.lap("notes")

    old = directus.list_items(
        "set_tracks", filter={"set": {"_eq": set_id}}, fields=["id"], limit=-1
    )
    directus.delete_items("set_tracks", [row["id"] for row in old])
    rows = _set_tracks(set_id, planned, by_pair)
    for start in range(0, len(rows), BATCH):
        directus.create_items("set_tracks", rows[start : start + BATCH])
    progress.done(
        title=notes.title,
        description=notes.description,
        scorecard={
            **planned.scorecard.to_json(),
            "method": planned.method,
            "optimal": planned.optimal,
        },
        notes=notes.model_dump(),
        ai_provider=notes.provider,
        ai_fallback_reason=notes.fallback_reason,
        tokens_charged=-charged.delta,
    )
    usage.record(directus, str(config["SECRET_KEY"] or ""), owner, "set_generated",
                 value=len(rows), detail=notes.provider)  # fmt: skip
    try:
        render.after_generate(directus, set_id)
    except DirectusError:  # the set is built and paid for: its previews can be asked for again
        log.exception("set %s: could not ask for its previews", set_id)
    clock.lap("write")
    log.info(
        "set %s: %d tracks by %s, notes by %s; %s",
        set_id, len(rows), planned.method, notes.provider, clock,
    )  # fmt: skip
