"""Enqueue a pipeline for an item, once: deterministic job ids, retries with backoff, timeouts.

``enqueue("generate", set_id)`` is the one way any part of the product starts work. A second call for
the same item while the first job is waiting or running is a no-op that counts as success (the hook's
duplicate deliveries, the sweep, the site). A finished or failed job of the same id is replaced, so an
item put back to ``queued`` runs again; one put back while its last job is still ending is picked up
by the sweep once it has been queued for ``SWEEP_STALE_S``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from rq import Callback, Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from service.config import load_config
from service.jobs.events import Pipeline, load_event_map
from service.logs import current_request_id

log = logging.getLogger(__name__)

QUEUE_NAME = "default"
#: Long audio work (analysis, rendering), taken by a worker of its own.
AUDIO_QUEUE = "audio"
#: Every queue, in the order a worker that takes several serves them.
QUEUES = (QUEUE_NAME, AUDIO_QUEUE)
# Keep finished jobs briefly: RQ keeps a unique job id locked while its record exists.
RESULT_TTL_S = 60
# Failed jobs stay a week for the operator (`rq info`); enqueue replaces them on a re-run.
FAILURE_TTL_S = 7 * 24 * 3600
# Jobs waiting longer than this in the queue are dropped by RQ; the sweep re-enqueues their items.
QUEUED_TTL_S = 24 * 3600

_WAITING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass(frozen=True)
class Enqueued:
    """What :func:`enqueue` did: the job id, and whether this call created the job."""

    job_id: str
    created: bool


@functools.cache
def _connection(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)


def redis_connection(config: Mapping[str, Any] | None = None) -> redis.Redis:
    """The Redis the queues live on, from the service configuration (one client per URL)."""
    return _connection((config or load_config())["REDIS_URL"])


def job_queue(connection: redis.Redis, name: str = QUEUE_NAME) -> Queue:
    """A queue by name: ``default``, where most pipelines run, unless told."""
    return Queue(name, connection=connection)


def job_id(pipeline: str, item_id: str | int) -> str:
    """The deterministic job id of ``pipeline`` for ``item_id`` (e.g. ``set-generate-<id>``)."""
    return load_event_map().pipeline(pipeline).job_id(item_id)


def _submit(queue: Queue, spec: Pipeline, item_id: str | int, job_id: str) -> None:
    intervals = list(spec.retry_intervals_s)
    queue.enqueue(
        spec.job,
        str(item_id),
        job_id=job_id,
        unique=True,
        job_timeout=spec.timeout_s,
        result_ttl=RESULT_TTL_S,
        failure_ttl=FAILURE_TTL_S,
        ttl=QUEUED_TTL_S,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        on_success=Callback("service.jobs.state.on_job_success"),
        on_failure=Callback("service.jobs.state.on_job_failure"),
        description=f"{spec.name} {spec.collection}/{item_id}",
        # The request that asked for the work: its id follows the job into the worker's log lines.
        meta={
            "pipeline": spec.name,
            "item_id": str(item_id),
            "request_id": current_request_id.get(),
        },
    )


def enqueue(
    pipeline: str, item_id: str | int, *, connection: redis.Redis | None = None
) -> Enqueued:
    """Start ``pipeline`` for ``item_id`` unless its job is already waiting or running."""
    spec = load_event_map().pipeline(pipeline)
    connection = connection or redis_connection()
    queue = job_queue(connection, spec.queue)
    jid = spec.job_id(item_id)
    for _ in range(2):
        try:
            _submit(queue, spec, item_id, jid)
        except DuplicateJobError:
            try:
                existing = Job.fetch(jid, connection=connection)
                status = existing.get_status(refresh=False)
            except NoSuchJobError:
                continue  # it expired between the two calls: try once more
            if status in _WAITING:
                return Enqueued(jid, created=False)
            # Finished, failed, stopped or canceled: the item was asked to run again.
            existing.delete()
            continue
        log.info("enqueued %s", jid)
        return Enqueued(jid, created=True)
    # Another caller replaced the job at the same moment: theirs counts.
    return Enqueued(jid, created=False)
