"""``rq cron service/jobs/cron.py``: the periodic sweep (every ``SWEEP_INTERVAL_S``, default a minute)."""

from __future__ import annotations

from rq import cron

from service.config import load_config
from service.jobs.queue import QUEUE_NAME, RESULT_TTL_S
from service.jobs.sweep import run as sweep

cron.register(
    sweep,
    QUEUE_NAME,
    interval=int(load_config()["SWEEP_INTERVAL_S"]),
    job_timeout=120,
    result_ttl=RESULT_TTL_S,
    name="sweep",
)
