"""The sweep: re-enqueue items stuck in ``queued`` or ``running`` (a lost event, a dead worker).

Directus hooks are fire-and-forget: an event is lost when the service is down, and a job dies with its
worker. The Directus row is the outbox, so every minute this looks for items of each swept pipeline
whose status has not moved for ``SWEEP_STALE_S`` (or that sit queued with no job at all for
``SWEEP_LOST_S``: their event was lost) and starts their job again (the deterministic job id
keeps a waiting or running job from being doubled). A job shown as running whose item lock has
expired (the run stopped extending it) on a worker that stopped heartbeating is abandoned and
replaced. An item recovered ``SWEEP_MAX_RECOVERIES`` times is failed
(with the pipeline's undo, e.g. a refund) rather than retried forever. DJs active in the last hour
without a sign-up grant (the job their log-in started was lost) get the grant job, and Paddle events
stored but still ``received`` after ``SWEEP_STALE_S`` (their job was lost) get theirs, and so do set
renders asked for and never started.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import Worker

from service import ledger, metrics, set_audio
from service.config import load_config
from service.integrations.directus import DirectusClient
from service.jobs.events import Pipeline, load_event_map
from service.jobs.queue import enqueue, redis_connection
from service.jobs.state import ACTIVE, directus_client, item_lock_key, job_logging
from service.stack.access import role_id

log = logging.getLogger(__name__)

RECOVERY_COUNT_TTL_S = 24 * 3600
# Accounts checked for a missing sign-up grant: those active this recently.
GRANT_ACTIVE_WITHIN_S = 3600
GRANT_BATCH = 100
_ALIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


@dataclass
class SweepReport:
    """What one sweep did, by job id."""

    enqueued: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # items that raised; tried again next pass


def _cutoff(stale_s: float, now: datetime) -> str:
    return (now - timedelta(seconds=stale_s)).isoformat(timespec="milliseconds")


def stuck_items(
    directus: DirectusClient, pipeline: Pipeline, stale_s: float, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Items of the pipeline's collection still queued or running, unchanged for ``stale_s``."""
    cutoff = _cutoff(stale_s, now or datetime.now(UTC))
    return list(
        directus.iter_items(
            pipeline.collection,
            filter={
                "_and": [
                    {"status": {"_in": list(ACTIVE)}},
                    {
                        "_or": [
                            {"date_updated": {"_lt": cutoff}},
                            {
                                "_and": [
                                    {"date_updated": {"_null": True}},
                                    {"date_created": {"_lt": cutoff}},
                                ]
                            },
                        ]
                    },
                ]
            },
            fields=["id", "status", "date_created", "date_updated"],
        )
    )


def _age_s(item: Mapping[str, Any], now: datetime) -> float:
    """Seconds since the item last changed."""
    stamp = item.get("date_updated") or item.get("date_created")
    if not stamp:
        return float("inf")
    moment = datetime.fromisoformat(str(stamp))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (now - moment).total_seconds()


def worker_alive(connection: redis.Redis, name: str | None, dead_after_s: float) -> bool:
    """True when the named worker exists and heartbeated within ``dead_after_s``."""
    if not name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=connection)
    if worker is None or worker.last_heartbeat is None:
        return False
    age = datetime.now(UTC) - worker.last_heartbeat.replace(tzinfo=UTC)
    return age.total_seconds() <= dead_after_s


def _give_up(pipeline: Pipeline, item_id: str) -> None:
    module = importlib.import_module(pipeline.job.rsplit(".", 1)[0])
    module.terminal_failure(
        item_id,
        "This could not be finished after several attempts; the team has been told. "
        "Please try again later.",
    )


def sweep(
    directus: DirectusClient,
    connection: redis.Redis,
    *,
    stale_s: float,
    dead_worker_s: float,
    lost_s: float | None = None,
    max_recoveries: int = 3,
) -> SweepReport:
    """One pass over every swept pipeline; returns what it did.

    A queued item with no job waiting or running lost its event: it is enqueued once it is
    ``lost_s`` old (the hook's own retries are over by then). Anything else active is looked at
    once it has not changed for ``stale_s``.
    """
    report = SweepReport()
    lost_s = stale_s if lost_s is None else min(lost_s, stale_s)
    for pipeline in load_event_map().pipelines.values():
        if not pipeline.sweep:
            continue
        now = datetime.now(UTC)
        for item in stuck_items(directus, pipeline, lost_s, now):
            jid = pipeline.job_id(str(item["id"]))
            try:
                _sweep_item(connection, pipeline, item, now, report, stale_s=stale_s,
                            dead_worker_s=dead_worker_s, max_recoveries=max_recoveries)  # fmt: skip
            except Exception:
                # One item that cannot be handled (a job record half gone, Redis hiccup) must not
                # cost the others their recovery: log it, try it again next pass.
                log.exception("sweep: %s could not be handled; the pass goes on", jid)
                report.errors.append(jid)
    return report


def _sweep_item(
    connection: redis.Redis,
    pipeline: Pipeline,
    item: Mapping[str, Any],
    now: datetime,
    report: SweepReport,
    *,
    stale_s: float,
    dead_worker_s: float,
    max_recoveries: int,
) -> None:
    """Look at one stuck item: leave it waiting, re-enqueue it, or fail it after too many tries."""
    item_id = str(item["id"])
    jid = pipeline.job_id(item_id)
    try:
        job: Job | None = Job.fetch(jid, connection=connection)
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        job, status = None, None
    lost = item["status"] == "queued" and status not in _ALIVE
    if not lost and _age_s(item, now) < stale_s:
        return
    if job is not None and status == JobStatus.STARTED:
        # A live run keeps its item lock alive; a worker that heartbeats may be about to
        # take it. Neither: the run died (worker, work horse or machine).
        if connection.exists(item_lock_key(pipeline.collection, item_id)) or worker_alive(
            connection, job.worker_name, dead_worker_s
        ):
            report.waiting.append(jid)
            return
        log.warning("%s: its run died (worker %s); re-running", jid, job.worker_name)
        job.delete()
        report.abandoned.append(jid)
        metrics.count(connection, metrics.SWEEP_RECOVERIES, pipeline.name, "abandoned")
    elif job is not None and status in (
        JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED
    ):  # fmt: skip
        report.waiting.append(jid)
        return
    count_key = f"aidj:sweep-recoveries:{jid}"
    recoveries = int(connection.incr(count_key))
    connection.expire(count_key, RECOVERY_COUNT_TTL_S)
    if recoveries > max_recoveries:
        log.error("%s: recovered %d times; failing the item", jid, recoveries - 1)
        _give_up(pipeline, item_id)
        report.failed.append(jid)
        metrics.count(connection, metrics.SWEEP_RECOVERIES, pipeline.name, "failed")
        return
    enqueue(pipeline.name, item_id, connection=connection)
    log.info("sweep: re-enqueued %s (%s)", jid, item["status"])
    report.enqueued.append(jid)
    metrics.count(connection, metrics.SWEEP_RECOVERIES, pipeline.name, "enqueued")


def sweep_signup_grants(
    directus: DirectusClient,
    connection: redis.Redis,
    *,
    active_within_s: float = GRANT_ACTIVE_WITHIN_S,
    now: datetime | None = None,
) -> list[str]:
    """Enqueue the sign-up grant for verified DJs active lately who have none (their job was lost).

    Only recently active accounts are checked, which keeps the pass small; a DJ whose event was lost
    gets the grant within a minute of logging in.
    """
    since = _cutoff(active_within_s, now or datetime.now(UTC))
    users = [
        str(user["id"])
        for user in directus.iter_items(
            "directus_users",
            filter={
                "role": {"_eq": role_id("DJ")},
                "last_access": {"_gte": since},
                "email_verified_at": {"_nnull": True},
            },
            fields=["id"],
        )
    ]
    missing: list[str] = []
    for start in range(0, len(users), GRANT_BATCH):
        batch = users[start : start + GRANT_BATCH]
        granted = {
            entry["reference"]
            for entry in directus.list_items(
                "token_ledger",
                filter={"reference": {"_in": [ledger.signup_reference(u) for u in batch]}},
                fields=["reference"],
                limit=-1,
            )
        }
        missing += [u for u in batch if ledger.signup_reference(u) not in granted]
    enqueued = []
    for user_id in missing:
        enqueued.append(enqueue("signup_grant", user_id, connection=connection).job_id)
        log.info("sweep: sign-up grant missing for %s; enqueued", user_id)
    return enqueued


#: The claim on an interval's sweep, shared by every scheduler on the Redis.
SWEEP_CLAIM_KEY = "aidj:sweep:claim"


def claim_interval(connection: redis.Redis, interval_s: float) -> bool:
    """True for the first caller in any ``0.9 * interval_s``: scaled out, every host's scheduler
    enqueues the sweep each interval, and only one of those runs may sweep."""
    ttl_ms = max(1, int(900 * interval_s))
    return bool(connection.set(SWEEP_CLAIM_KEY, "1", nx=True, px=ttl_ms))


def sweep_paddle_events(
    directus: DirectusClient,
    connection: redis.Redis,
    *,
    stale_s: float,
    now: datetime | None = None,
) -> list[str]:
    """Enqueue Paddle events stored but never applied (``received`` for ``stale_s``): a lost job.

    /hooks/paddle answers 200 once the event is stored and its job enqueued; if Redis then loses the
    job, Paddle will not deliver again, so the stored row is the outbox. Held events wait for staff.
    """
    rows = directus.list_items(
        "webhook_events",
        filter={
            "source": {"_eq": "paddle"},
            "status": {"_eq": "received"},
            "received_at": {"_lte": _cutoff(stale_s, now or datetime.now(UTC))},
        },
        fields=["id"],
        sort=["id"],
        limit=GRANT_BATCH,
    )
    enqueued = []
    for row in rows:
        job = enqueue("paddle", row["id"], connection=connection)
        if job.created:
            log.info("sweep: Paddle event %s was never applied; enqueued", row["id"])
            enqueued.append(job.job_id)
    return enqueued


#: Renders asked for longer ago than this are not looked at any more (the DJ asks again).
RENDER_LOOKBACK_S = 24 * 3600


def sweep_renders(
    directus: DirectusClient,
    connection: redis.Redis,
    *,
    stale_s: float,
    now: datetime | None = None,
) -> list[str]:
    """Enqueue renders asked for ``stale_s`` ago and never started: their job was lost (Redis down
    when asked), or the request came as the set's last render job was ending."""
    moment = now or datetime.now(UTC)
    rows = directus.list_items(
        "sets",
        filter={
            "render_request": {"_nnull": True},
            "date_updated": {
                "_between": [_cutoff(RENDER_LOOKBACK_S, moment), _cutoff(stale_s, moment)]
            },
        },
        fields=["id", "render", "render_request"],
        limit=GRANT_BATCH,
    )
    enqueued = []
    for row in rows:
        if set_audio.status(row) != "queued" or set_audio.waiting_s(row) < stale_s:
            continue
        job = enqueue("render", row["id"], connection=connection)
        if job.created:
            log.info("sweep: the render of set %s never started; enqueued", row["id"])
            enqueued.append(job.job_id)
    return enqueued


def run(config: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """RQ cron entry point: one sweep with the service configuration, once per interval."""
    job_logging()
    config = config or load_config()
    connection = redis_connection(config)
    if not claim_interval(connection, float(config["SWEEP_INTERVAL_S"])):
        log.info("sweep: this interval was swept by another scheduler's run")
        return {"skipped": ["swept this interval"]}
    report = sweep(
        directus_client(config),
        connection,
        stale_s=float(config["SWEEP_STALE_S"]),
        dead_worker_s=float(config["SWEEP_DEAD_WORKER_S"]),
        lost_s=float(config["SWEEP_LOST_S"]),
        max_recoveries=int(config["SWEEP_MAX_RECOVERIES"]),
    )
    grants = sweep_signup_grants(directus_client(config), connection)
    paddle = sweep_paddle_events(
        directus_client(config), connection, stale_s=float(config["SWEEP_STALE_S"])
    )
    renders = sweep_renders(
        directus_client(config), connection, stale_s=float(config["SWEEP_STALE_S"])
    )
    return {**report.__dict__, "signup_grants": grants, "paddle_events": paddle,
            "renders": renders}  # fmt: skip
