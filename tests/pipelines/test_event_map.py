"""The one event map: every forwarded event starts an importable job on an existing collection."""

from __future__ import annotations

import importlib
import json
import re

import pytest
import yaml

from service.jobs.events import EVENT_MAP_FILE, load_event_map, parse_event_map
from service.jobs.queue import AUDIO_QUEUE, QUEUES, job_id
from service.stack.settings import REPO_ROOT, SNAPSHOT_FILE

EVENT_MAP = load_event_map()
SNAPSHOT_COLLECTIONS = {
    c["collection"] for c in yaml.safe_load(SNAPSHOT_FILE.read_text())["collections"]
}


@pytest.mark.parametrize("pipeline", list(EVENT_MAP.pipelines.values()), ids=lambda p: p.name)
def test_every_pipeline_names_an_importable_job_taking_the_item_id(pipeline) -> None:
    module_name, function = pipeline.job.rsplit(".", 1)
    module = importlib.import_module(module_name)
    assert callable(getattr(module, function))
    assert pipeline.collection in SNAPSHOT_COLLECTIONS | {"directus_users"}
    assert pipeline.timeout_s > 0


@pytest.mark.parametrize("pipeline", [p for p in EVENT_MAP.pipelines.values() if p.sweep])
def test_swept_pipelines_can_fail_an_item_from_outside_the_job(pipeline) -> None:
    module = importlib.import_module(pipeline.job.rsplit(".", 1)[0])
    assert callable(module.terminal_failure)


def test_every_forwarded_event_is_a_directus_action_on_a_known_collection() -> None:
    for rule in EVENT_MAP.forward:
        assert re.fullmatch(r"(items|users)\.(create|update|delete)", rule.event)
        assert rule.collection in SNAPSHOT_COLLECTIONS | {"directus_users"}
        assert EVENT_MAP.pipeline_for(rule.event, rule.collection).name == rule.pipeline


def test_no_event_name_is_written_twice_in_the_service_or_the_extension() -> None:
    from pathlib import Path

    sources = [Path("extensions/aidj-events/src/index.js"), Path("service/web/hooks.py")]
    sources += list(Path("service/jobs").glob("*.py"))
    for path in sources:
        text = path.read_text()
        for rule in EVENT_MAP.forward:
            assert f"'{rule.event}'" not in text and f'"{rule.event}"' not in text, (
                path,
                rule.event,
            )


def test_job_ids_are_deterministic_and_safe_for_rq() -> None:
    assert job_id("generate", "6f1c0f5e-1d2a-4c43-9d7b-3a1f0e2b9c11") == (
        "set-generate-6f1c0f5e-1d2a-4c43-9d7b-3a1f0e2b9c11"
    )
    assert job_id("ingest", "abc") == job_id("ingest", "abc")
    with pytest.raises(ValueError, match="cannot be part of a job id"):
        job_id("ingest", "../../etc")


def test_a_rule_naming_no_pipeline_is_refused() -> None:
    data = json.loads(EVENT_MAP_FILE.read_text())
    data["forward"].append({"event": "items.create", "collection": "tracks", "pipeline": "nope"})
    with pytest.raises(ValueError, match="nope"):
        parse_event_map(data)


def test_the_sweep_is_registered_with_rq_cron_at_the_configured_interval(monkeypatch) -> None:
    from rq import cron

    monkeypatch.setenv("SWEEP_INTERVAL_S", "45")
    import service.jobs.cron as cron_config

    cron._job_data_registry.clear()
    importlib.reload(cron_config)
    [entry] = [e for e in cron._job_data_registry if e["name"] == "sweep"]
    cron._job_data_registry.clear()
    assert entry["interval"] == 45
    assert entry["func"].__module__ == "service.jobs.sweep"


def test_audio_work_waits_on_its_own_queue_and_every_queue_has_a_worker() -> None:
    queues = {p.name: p.queue for p in EVENT_MAP.pipelines.values()}
    assert {name for name, queue in queues.items() if queue == AUDIO_QUEUE} == {"analyze", "render"}
    assert set(queues.values()) <= set(QUEUES)
    # Production: a worker (and a scheduler, for retries) on each queue.
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    commands = [s.get("command") or [] for s in services.values()]
    for queue in QUEUES:
        assert any(c[:2] == ["rq", "worker"] and queue in c for c in commands), queue
        assert any("--with-scheduler" in c and queue in c for c in commands), queue
