"""What every job shares: its clients, and the state it writes to its item.

Items carry ``status`` (queued, running, done, failed), ``progress`` 0–100, a human-readable
``error``, ``started_at`` and ``finished_at``. A job re-reads its item first and returns at once unless
the item is queued or running (already done or failed, or never asked for), so repeats are harmless;
an item lock keeps two runs of one item from overlapping.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from redis.exceptions import LockError
from redis.lock import Lock
from rq import get_current_job
from rq.job import Job

from service import logs, metrics
from service.config import load_config
from service.integrations.directus import (
    DirectusClient,
    DirectusError,
    DirectusForbidden,
    DirectusNotFound,
    DirectusUnavailable,
)
from service.jobs.events import load_event_map
from service.jobs.queue import redis_connection

log = logging.getLogger(__name__)

FINAL = ("done", "failed")
PROGRESS_STEP = 5
PROGRESS_EVERY_S = 10.0
ACTIVE = ("queued", "running")


class ItemBusy(RuntimeError):
    """Another job holds the item (a duplicate run); RQ retries this one later."""


def item_lock_key(collection: str, item_id: str) -> str:
    """The Redis key that keeps two jobs off one item at a time."""
    return f"aidj:item-lock:{collection}:{item_id}"


def item_lock(connection: redis.Redis, collection: str, item_id: str, ttl_s: float) -> Lock:
    """The item's lock: it lives ``ttl_s`` unless its holder keeps extending it (see KeepAlive)."""
    # Not thread-local: the keep-alive thread extends the lock the job's thread took.
    return connection.lock(item_lock_key(collection, item_id), timeout=ttl_s, thread_local=False)


class KeepAlive(threading.Thread):
    """Extends a held lock every third of its lifetime, so it lasts as long as the process does.

    A run that dies (SIGKILL, OOM, a lost machine) stops extending it, and the lock expires within
    ``ttl_s``: that is how the sweep tells a live run from a dead one, whichever process died.
    """

    def __init__(self, lock: Lock, ttl_s: float) -> None:
        super().__init__(daemon=True, name="item-lock-keepalive")
        self.lock, self.ttl_s = lock, ttl_s
        self.stopped = threading.Event()

    def run(self) -> None:
        """Extend until stopped or the lock is lost."""
        while not self.stopped.wait(self.ttl_s / 3):
            try:
                self.lock.extend(self.ttl_s, replace_ttl=True)
            except (LockError, redis.RedisError) as exc:
                log.warning("could not extend %s: %s", self.lock.name, exc)
                if isinstance(exc, LockError):
                    return

    def stop(self) -> None:
        """Stop extending (the caller releases the lock)."""
        self.stopped.set()
        self.join(timeout=5)


class JobFailure(Exception):
    """A failure no retry can fix; the message is what the DJ reads on the item."""


def now_iso() -> str:
    """The current UTC time as Directus stores timestamps."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@functools.cache
def _directus(url: str, token: str | None, timeout_s: float) -> DirectusClient:
    return DirectusClient(url, token, timeout=(3.05, timeout_s))


def directus_client(config: Mapping[str, Any] | None = None) -> DirectusClient:
    """The service's Directus client for jobs (one per process)."""
    config = config or load_config()
    return _directus(
        config["DIRECTUS_URL"], config["DIRECTUS_SERVICE_TOKEN"], float(config["HTTP_TIMEOUT_S"])
    )


@dataclass
class ItemState:
    """Writes a job's progress to its item, never moving progress backwards."""

    directus: DirectusClient
    collection: str
    item_id: str
    last_progress: int = 0
    _written: int = -1
    _written_at: float = 0.0

    def start(self, item: Mapping[str, Any]) -> None:
        """Mark the item running; ``started_at`` is kept from an earlier attempt."""
        changes: dict[str, Any] = {"status": "running", "error": None, "finished_at": None}
        if not item.get("started_at"):
            changes["started_at"] = now_iso()
        self.directus.update_item(self.collection, self.item_id, changes)

    def progress(self, percent: float, **fields: Any) -> None:
        """Write progress (0–100) and any result fields gathered so far.

        Small steps are batched (a write per ``PROGRESS_STEP`` points, or ``PROGRESS_EVERY_S``
        seconds): a thousand-file upload should not cost a thousand writes. The periodic write also
        shows the sweep that the job is alive.
        """
        value = max(self.last_progress, min(99, int(percent)))
        self.last_progress = value
        now = time.monotonic()
        due = value >= self._written + PROGRESS_STEP or now - self._written_at >= PROGRESS_EVERY_S
        if not fields and (value == self._written or not due):
            return
        self.directus.update_item(self.collection, self.item_id, {"progress": value, **fields})
        self._written, self._written_at = value, now

    def done(self, **fields: Any) -> None:
        """Mark the item done with its results."""
        self.directus.update_item(
            self.collection,
            self.item_id,
            {"status": "done", "progress": 100, "error": None, "finished_at": now_iso(), **fields},
        )

    def fail(self, message: str, **fields: Any) -> None:
        """Mark the item failed with a sentence the DJ can read."""
        self.directus.update_item(
            self.collection,
            self.item_id,
            {"status": "failed", "error": message, "finished_at": now_iso(), **fields},
        )


def attempts_left() -> int:
    """Retries RQ will still make after this attempt (0 outside a job or on the last one)."""
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0


def friendly(exc: BaseException) -> str:
    """A sentence for the item's ``error`` from an unexpected exception."""
    if isinstance(exc, JobFailure):
        return str(exc)
    if isinstance(exc, DirectusUnavailable):
        return "The library service was unreachable; please try again in a few minutes."
    if isinstance(exc, DirectusError):
        return f"The library service refused a change ({exc.message}); please try again."
    return "Something went wrong on our side; the team has been told. Please try again."


def _record_job(job: Job, connection: redis.Redis, outcome: str) -> None:
    """Count the job's end and how long it ran, under its pipeline."""
    pipeline = str(job.meta.get("pipeline") or "unknown")
    metrics.count(connection, metrics.JOBS, pipeline, outcome)
    if job.started_at is not None:
        started = (
            job.started_at.replace(tzinfo=UTC) if job.started_at.tzinfo is None else job.started_at
        )
        seconds = (datetime.now(UTC) - started).total_seconds()
        metrics.observe(connection, metrics.JOB_SECONDS, max(0.0, seconds), pipeline)


def on_job_success(
    job: Job, connection: redis.Redis, result: Any, *args: Any, **kwargs: Any
) -> None:
    """RQ success callback: count the job (its result says what it did: done, busy, skipped…)."""
    _record_job(job, connection, "ok")


def on_job_failure(
    job: Job, connection: redis.Redis, exc_type: type, exc: BaseException, tb: Any
) -> None:
    """RQ failure callback: on the last attempt, mark the item failed and run the pipeline's undo.

    Reached when the job itself could not (a timeout, a worker found dead by RQ). A job that already
    marked its item final is left alone.
    """
    _record_job(job, connection, "retried" if job.retries_left else "failed")
    if job.retries_left:
        return  # RQ will try again
    pipeline = load_event_map().pipeline(job.meta.get("pipeline", ""))
    item_id = job.meta.get("item_id")
    module = importlib.import_module(pipeline.job.rsplit(".", 1)[0])
    terminal = getattr(module, "terminal_failure", None)
    if terminal is None or item_id is None:
        return
    try:
        terminal(item_id, friendly(exc) if exc is not None else "The job stopped unexpectedly.")
    except Exception:
        log.exception("could not record the failure of %s", job.id)


Work = Callable[[DirectusClient, dict[str, Any], ItemState], None]
Undo = Callable[[DirectusClient, dict[str, Any]], None]


def _read(directus: DirectusClient, collection: str, item_id: str) -> dict[str, Any] | None:
    try:
        return directus.get_item(collection, item_id)
    except (DirectusNotFound, DirectusForbidden):
        return None


def job_logging() -> None:
    """Log lines of this job: to the worker's output, with the job's id and its request's id."""
    logs.configure(str(load_config()["AIDJ_ENV"]))
    job = get_current_job()
    if job is not None:
        logs.current_job_id.set(job.id)
        logs.current_request_id.set((job.meta or {}).get("request_id"))


@contextlib.contextmanager
def item_locked(collection: str, item_id: str, config: Mapping[str, Any]) -> Iterator[bool]:
    """Hold the item's lock for the block, kept alive while the process lives; yields False on the
    last attempt when another run holds it (earlier attempts raise :class:`ItemBusy`, for RQ to
    retry). ``collection`` names what is locked: a pipeline sharing an item with another uses its
    own (``playlists-analysis`` beside ingest's ``playlists``)."""
    ttl_s = float(config["JOB_LOCK_TTL_S"])
    lock = item_lock(redis_connection(config), collection, item_id, ttl_s)
    if not lock.acquire(blocking=False):
        if attempts_left() > 0:
            raise ItemBusy(f"{collection}/{item_id} is being worked on by another job")
        # Last attempt: the other run owns the item; if it dies, the sweep recovers the item.
        log.warning("%s/%s is being worked on elsewhere; leaving it", collection, item_id)
        yield False
        return
    keepalive = KeepAlive(lock, ttl_s)
    keepalive.start()
    try:
        yield True
    finally:
        keepalive.stop()
        with contextlib.suppress(redis.RedisError, LockError):
            lock.release()


def run_job(collection: str, item_id: str, work: Work, *, undo: Undo | None = None) -> str:
    """Run ``work`` on the item once: re-read it, skip if final, record running/done/failed.

    A :class:`JobFailure` fails the item at once. Any other error is retried by RQ while attempts
    are left; on the last attempt the item is failed and ``undo`` runs (e.g. a refund).
    """
    job_logging()
    with item_locked(collection, item_id, load_config()) as held:
        return _run_locked(collection, item_id, work, undo) if held else "busy"


def _run_locked(collection: str, item_id: str, work: Work, undo: Undo | None) -> str:
    directus = directus_client()
    item = _read(directus, collection, item_id)
    if item is None:
        log.info("%s/%s is gone; nothing to do", collection, item_id)
        return "gone"
    if item.get("status") not in ACTIVE:
        # Final (done, failed) or not asked for (e.g. a draft): nothing to do.
        log.info("%s/%s is %s; nothing to do", collection, item_id, item.get("status"))
        return str(item.get("status"))
    state = ItemState(directus, collection, item_id, int(item.get("progress") or 0))
    try:
        state.start(item)
        work(directus, item, state)
    except JobFailure as exc:
        log.info("%s/%s failed: %s", collection, item_id, exc)
        _finish_failed(directus, collection, item_id, str(exc), undo)
        return "failed"
    except Exception as exc:
        if attempts_left() > 0:
            log.warning("%s/%s: %s; RQ will retry", collection, item_id, exc)
            raise
        log.exception("%s/%s failed on its last attempt", collection, item_id)
        _finish_failed(directus, collection, item_id, friendly(exc), undo)
        raise
    return "done"


def _finish_failed(
    directus: DirectusClient, collection: str, item_id: str, message: str, undo: Undo | None
) -> None:
    item = _read(directus, collection, item_id) or {"id": item_id}
    if undo is not None:
        undo(directus, item)
    ItemState(directus, collection, item_id).fail(message)


def terminal_failure(collection: str, item_id: str, message: str, undo: Undo | None) -> None:
    """Fail a non-final item from outside its job (RQ callback, sweep), running ``undo`` once."""
    directus = directus_client()
    item = _read(directus, collection, item_id)
    if item is None or item.get("status") in FINAL:
        return
    _finish_failed(directus, collection, item_id, message, undo)
