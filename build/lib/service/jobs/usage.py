"""The nightly usage job: sum the last two days' raw events into ``usage_daily``, purge old ones.

Two days, because an event may land just after midnight and summing is idempotent (one row per
day, kind and category). Run by ``rq cron`` every night (``service/jobs/cron.py``).
"""

from __future__ import annotations

import datetime as dt
import logging

from service import usage
from service.config import load_config
from service.jobs.state import directus_client, job_logging

log = logging.getLogger(__name__)


def nightly(today: dt.date | None = None) -> dict[str, int]:
    """RQ cron entry point: aggregate yesterday and the day before, purge expired raw events."""
    job_logging()
    config = load_config()
    directus = directus_client(config)
    today = today or dt.datetime.now(dt.UTC).date()
    rows = 0
    for back in (2, 1):
        rows += len(usage.aggregate_day(directus, today - dt.timedelta(days=back)))
    purged = usage.purge_raw(directus, int(config["USAGE_RAW_RETENTION_DAYS"]))
    log.info("usage: %d daily rows written, %d raw events purged", rows, purged)
    return {"daily_rows": rows, "purged": purged}
