"""The event map (``service/data/events.json``): which Directus events start which pipeline.

The hook extension reads the same file, so an event name is written in one place only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.stack.settings import DATA_DIR

EVENT_MAP_FILE = DATA_DIR / "events.json"

# RQ job ids may hold letters, digits, "_" and "-" only.
_JOB_ID_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Pipeline:
    """One pipeline: the job function it runs and on which collection."""

    name: str
    job: str  # dotted path of a function taking the item id
    collection: str
    id_prefix: str
    timeout_s: int
    retry_intervals_s: tuple[int, ...]
    sweep: bool
    queue: str = "default"  # the RQ queue its jobs wait on (``audio`` for long audio work)

    def job_id(self, item_id: str | int) -> str:
        """The deterministic RQ job id for this pipeline and item, e.g. ``set-generate-<id>``."""
        job_id = f"{self.id_prefix}-{item_id}"
        if not _JOB_ID_SAFE.match(job_id):
            raise ValueError(f"item id {item_id!r} cannot be part of a job id")
        return job_id


@dataclass(frozen=True)
class Forward:
    """One forwarded event: Directus event name, collection, pipeline, payload condition."""

    event: str
    collection: str
    pipeline: str
    when: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventMap:
    """The whole map: forwarded events and pipelines by name."""

    forward: tuple[Forward, ...]
    pipelines: Mapping[str, Pipeline]

    def pipeline_for(self, event: str, collection: str) -> Pipeline | None:
        """The pipeline a forwarded ``event`` on ``collection`` starts, or None if not mapped."""
        for rule in self.forward:
            if rule.event == event and rule.collection == collection:
                return self.pipelines[rule.pipeline]
        return None

    def pipeline(self, name: str) -> Pipeline:
        """A pipeline by name; KeyError names the unknown one."""
        try:
            return self.pipelines[name]
        except KeyError:
            raise KeyError(f"no pipeline named {name!r} in {EVENT_MAP_FILE.name}") from None


def parse_event_map(data: Mapping[str, Any]) -> EventMap:
    """Build the map from its JSON form, refusing rules that name no pipeline."""
    pipelines = {
        name: Pipeline(
            name=name,
            job=spec["job"],
            collection=spec["collection"],
            id_prefix=spec["id_prefix"],
            timeout_s=int(spec["timeout_s"]),
            retry_intervals_s=tuple(int(s) for s in spec.get("retry_intervals_s", ())),
            sweep=bool(spec.get("sweep", False)),
            queue=str(spec.get("queue", "default")),
        )
        for name, spec in data["pipelines"].items()
    }
    forward = tuple(
        Forward(r["event"], r["collection"], r["pipeline"], dict(r.get("when") or {}))
        for r in data["forward"]
    )
    for rule in forward:
        if rule.pipeline not in pipelines:
            raise ValueError(
                f"{rule.event} on {rule.collection} names no pipeline {rule.pipeline!r}"
            )
    return EventMap(forward, pipelines)


@functools.cache
def load_event_map(path: Path = EVENT_MAP_FILE) -> EventMap:
    """The committed event map (read once per process)."""
    return parse_event_map(json.loads(path.read_text(encoding="utf-8")))
