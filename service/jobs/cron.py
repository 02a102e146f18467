"""``rq cron service/jobs/cron.py``: the sweep (every ``SWEEP_INTERVAL_S``, default a minute) and the
nightly usage aggregation (03:20 UTC) and the privacy purge (03:40 UTC: deletions past
their grace period, expired export archives)."""

from __future__ import annotations

from rq import cron

from service.config import load_config
from service.jobs.privacy import nightly as privacy_nightly
from service.jobs.queue import QUEUE_NAME, RESULT_TTL_S
from service.jobs.sweep import run as sweep
from service.jobs.usage import nightly as usage_nightly

cron.register(
    sweep,
    QUEUE_NAME,
    interval=int(load_config()["SWEEP_INTERVAL_S"]),
    job_timeout=120,
    result_ttl=RESULT_TTL_S,
    name="sweep",
)

cron.register(
    usage_nightly,
    QUEUE_NAME,
    cron="20 3 * * *",
    job_timeout=1800,
    result_ttl=RESULT_TTL_S,
    name="usage-nightly",
)

cron.register(
    privacy_nightly,
    QUEUE_NAME,
    cron="40 3 * * *",
    job_timeout=3600,
    result_ttl=RESULT_TTL_S,
    name="privacy-nightly",
)
