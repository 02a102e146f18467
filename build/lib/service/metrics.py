"""Operating figures for Prometheus: requests, jobs, queues, sweep recoveries, ledger, webhook refusals.

The figures live in Redis, not in process memory: gunicorn's workers, RQ's work horses (a fresh
process per job) and the scheduler all add to the same counters, on one machine or several, and any
web process answers ``/metrics`` with the whole picture. Each observation is one pipelined Redis
write; Redis being down never fails the work being measured (the figure is lost, with a log line).

Counters are hashes ``aidj:metrics:<name>`` keyed by their label values; a histogram adds one field
per bucket plus ``sum`` and ``count``. Queue depths are read from RQ when scraped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX = "aidj:metrics:"


@dataclass(frozen=True)
class Metric:
    """One figure: its name, what it counts, its labels, and buckets when it is a histogram."""

    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


REQUEST_SECONDS = Metric(
    "aidj_http_request_duration_seconds",
    "Time to answer a request, by route, method and status class.",
    ("route", "method", "status"),
    (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOBS = Metric(
    "aidj_jobs_total", "Jobs that ended, by pipeline and outcome.", ("pipeline", "outcome")
)
JOB_SECONDS = Metric(
    "aidj_job_duration_seconds",
    "Time a job ran, by pipeline.",
    ("pipeline",),
    (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0, 600.0),
)
SWEEP_RECOVERIES = Metric(
    "aidj_sweep_recoveries_total",
    "Items the sweep re-enqueued, found abandoned or failed for good, by pipeline.",
    ("pipeline", "action"),
)
LEDGER_ENTRIES = Metric(
    "aidj_ledger_entries_total", "Token ledger entries written, by reason.", ("reason",)
)
WEBHOOK_REJECTIONS = Metric(
    "aidj_webhook_rejections_total", "Webhook deliveries refused, by sender and reason.",
    ("source", "reason"),
)  # fmt: skip
COUNTERS = (JOBS, SWEEP_RECOVERIES, LEDGER_ENTRIES, WEBHOOK_REJECTIONS)
HISTOGRAMS = (REQUEST_SECONDS, JOB_SECONDS)


def _field(values: Sequence[str]) -> str:
    return json.dumps(list(values))


def _connection(connection: redis.Redis | None) -> redis.Redis:
    if connection is not None:
        return connection
    from service.jobs.queue import redis_connection  # the service's one Redis client per URL

    return redis_connection()


def count(connection: redis.Redis | None, metric: Metric, *values: str, amount: int = 1) -> None:
    """Add ``amount`` to a counter for these label values (the service's Redis when None)."""
    try:
        _connection(connection).hincrby(PREFIX + metric.name, _field(values), amount)
    except redis.RedisError as exc:
        log.warning("metric %s not recorded: %s", metric.name, exc)


def observe(connection: redis.Redis | None, metric: Metric, value: float, *values: str) -> None:
    """Record one observation of a histogram for these label values."""
    key = PREFIX + metric.name
    labels = _field(values)
    pipe = _connection(connection).pipeline(transaction=False)
    for bound in metric.buckets:
        if value <= bound:
            pipe.hincrby(key, f"{labels}|le|{bound}", 1)
    pipe.hincrbyfloat(key, f"{labels}|sum", value)
    pipe.hincrby(key, f"{labels}|count", 1)
    try:
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("metric %s not recorded: %s", metric.name, exc)


def _decode(raw: Mapping[bytes, bytes]) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in raw.items()}


class RedisCollector(Collector):
    """Reads every figure from Redis (and the queues from RQ) when Prometheus scrapes."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def collect(self) -> Iterator[object]:
        for metric in COUNTERS:
            family = CounterMetricFamily(
                metric.name.removesuffix("_total"), metric.help, labels=metric.labels
            )
            for labels, value in _decode(self.connection.hgetall(PREFIX + metric.name)).items():
                family.add_metric(json.loads(labels), value)
            yield family
        for metric in HISTOGRAMS:
            family = HistogramMetricFamily(metric.name, metric.help, labels=metric.labels)
            fields = _decode(self.connection.hgetall(PREFIX + metric.name))
            series = {f.split("|", 1)[0] for f in fields}
            for labels in sorted(series):
                buckets = [
                    (str(bound), fields.get(f"{labels}|le|{bound}", 0.0))
                    for bound in metric.buckets
                ]
                buckets.append(("+Inf", fields.get(f"{labels}|count", 0.0)))
                family.add_metric(json.loads(labels), buckets, fields.get(f"{labels}|sum", 0.0))
            yield family
        yield from self._queues()

    def _queues(self) -> Iterator[object]:
        from rq import Queue
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        depth = GaugeMetricFamily(
            "aidj_queue_jobs", "Jobs waiting, running or failed.", labels=["queue", "state"]
        )
        for queue in Queue.all(connection=self.connection):
            depth.add_metric([queue.name, "waiting"], queue.count)
            depth.add_metric([queue.name, "running"], StartedJobRegistry(queue=queue).count)
            depth.add_metric([queue.name, "failed"], FailedJobRegistry(queue=queue).count)
        yield depth


def exposition(connection: redis.Redis) -> bytes:
    """Every figure in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(connection))
    return generate_latest(registry)
