"""The service's log lines: JSON in production, readable in development, each with its request and job.

A request id is taken from the proxy's ``X-Request-Id`` (or made up) when a request arrives, sent
back in the answer, stored in the meta of every job the request enqueues, and set again when the job
runs, so one id follows a DJ's click from the site through the queue into the worker's lines. The
job's own id is added there too. Log lines carry pseudonymous ids only (Directus UUIDs, job ids),
never an email address, a name or a file name a DJ chose.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = [
    "JsonFormatter",
    "configure",
    "current_job_id",
    "current_request_id",
    "new_request_id",
    "valid_request_id",
]

current_request_id: ContextVar[str | None] = ContextVar("aidj_request_id", default=None)
current_job_id: ContextVar[str | None] = ContextVar("aidj_job_id", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_READABLE = "%(asctime)s %(levelname)s %(name)s [%(aidj_request_id)s %(aidj_job_id)s] %(message)s"


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> str | None:
    """``value`` if it can be a request id (from a proxy's header), else None."""
    return value if value and _REQUEST_ID.match(value) else None


def _install_record_factory() -> None:
    """Every record made in this process carries the current request and job ids ("-" if none)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_aidj", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # Prefixed: RQ and others pass their own `job_id` as a log record's extra.
        record.aidj_request_id = current_request_id.get() or "-"
        record.aidj_job_id = current_job_id.get() or "-"
        return record

    factory._aidj = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and job ids, the error."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "aidj_request_id", "-"),
            "job_id": getattr(record, "aidj_job_id", "-"),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(env: str, level: int = logging.INFO) -> None:
    """Send the service's log lines to stderr once per process: JSON in production.

    Where the process already logs somewhere (a test runner, a host application), the lines go
    there instead, still carrying their request and job ids.
    """
    _install_record_factory()
    logger = logging.getLogger("service")
    logger.setLevel(level)
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if env == "production" else logging.Formatter(_READABLE))
    logger.addHandler(handler)
