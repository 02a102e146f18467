"""Usage analytics: what DJs do with the product, counted without knowing who or what.

A raw event (``usage_events``) says what happened (a set generated, an export downloaded, an
upload), a category (the export format, the AI provider; never content), a size (tracks, bytes)
and who, as a keyed hash of the DJ's id (``actor``): enough to count distinct DJs, useless without
the service's key to name one. Each night the events of a day are summed into ``usage_daily``
(events, distinct DJs, summed size per day, kind and category), which holds nothing personal and is
kept; raw events are deleted after ``USAGE_RAW_RETENTION_DAYS``. Recording never fails the action
being counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections import defaultdict
from typing import Any

from service.integrations.directus import DirectusClient, DirectusError

log = logging.getLogger(__name__)

KINDS = ("set_generated", "export_downloaded", "upload")
RAW = "usage_events"
DAILY = "usage_daily"


def actor(secret: str, user_id: str) -> str:
    """The pseudonym of a DJ in usage events: HMAC-SHA256 of their id with the service's key."""
    return hmac.new(secret.encode(), f"usage:{user_id}".encode(), hashlib.sha256).hexdigest()


def record(
    directus: DirectusClient,
    secret: str,
    user_id: str,
    kind: str,
    *,
    value: float | None = None,
    detail: str | None = None,
) -> None:
    """Count one event; a failure is logged, never raised."""
    if kind not in KINDS:
        raise ValueError(f"unknown usage kind {kind!r}")
    try:
        directus.create_item(
            RAW,
            {"actor": actor(secret, user_id), "kind": kind, "value": value,
             "detail": (detail or None) and str(detail)[:40]},
        )  # fmt: skip
    except DirectusError as exc:
        log.warning("usage event %s not recorded: %s", kind, exc)


def _day_bounds(day: dt.date) -> tuple[str, str]:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return start.isoformat(), (start + dt.timedelta(days=1)).isoformat()


def aggregate_day(directus: DirectusClient, day: dt.date) -> list[dict[str, Any]]:
    """Sum the raw events of ``day`` (UTC) into ``usage_daily``; running it again changes nothing."""
    start, end = _day_bounds(day)
    groups: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(
        lambda: {"events": 0, "actors": set(), "value_sum": 0.0, "valued": False}
    )
    for event in directus.iter_items(
        RAW,
        filter={"date_created": {"_gte": start, "_lt": end}},
        fields=["actor", "kind", "detail", "value"],
    ):
        group = groups[(event["kind"], event.get("detail"))]
        group["events"] += 1
        group["actors"].add(event["actor"])
        if event.get("value") is not None:
            group["value_sum"] += float(event["value"])
            group["valued"] = True
    rows = []
    for (kind, detail), group in sorted(
        groups.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        key = f"{day.isoformat()}|{kind}|{detail or ''}"
        row = {
            "key": key,
            "day": day.isoformat(),
            "kind": kind,
            "detail": detail,
            "events": group["events"],
            "actors": len(group["actors"]),
            "value_sum": group["value_sum"] if group["valued"] else None,
        }
        existing = directus.list_items(DAILY, filter={"key": {"_eq": key}}, fields=["id"], limit=1)
        if existing:
            directus.update_item(DAILY, existing[0]["id"], row)
        else:
            directus.create_item(DAILY, row)
        rows.append(row)
    return rows


def purge_raw(directus: DirectusClient, retention_days: int, now: dt.datetime | None = None) -> int:
    """Delete raw events older than ``retention_days``; returns how many went."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=retention_days)
    old = [
        item["id"]
        for item in directus.iter_items(
            RAW, filter={"date_created": {"_lt": cutoff.isoformat()}}, fields=["id"]
        )
    ]
    for start in range(0, len(old), 500):
        directus.delete_items(RAW, old[start : start + 500])
    return len(old)
