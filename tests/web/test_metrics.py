"""Prometheus sees what the operator needs: requests by route, jobs by outcome, queues, the ledger,
webhook refusals, sweep recoveries; and nobody without the token sees anything."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue, SimpleWorker

from service import ledger
from service.jobs.queue import enqueue
from service.web.app import create_app
from tests.pipelines.helpers import make_dj, wait_for

pytestmark = pytest.mark.stack

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def app(stack):
    return create_app(
        stack.settings.service_env()
        | {"DIRECTUS_SERVICE_TOKEN": stack.settings.service_token, "METRICS_TOKEN": TOKEN,
           "SECRET_KEY": "x"}
    )  # fmt: skip


def scrape(app) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(figures, name: str, **labels: str) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_token_and_exist_only_when_one_is_set(stack, app) -> None:
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    without = create_app(stack.settings.service_env() | {"SECRET_KEY": "x"})
    assert without.test_client().get("/metrics").status_code == 404


def test_requests_are_timed_by_route_never_by_id(app) -> None:
    before = scrape(app)
    for _ in range(3):
        app.test_client().get("/login")
    app.test_client().get("/sets/0b9c0000-0000-0000-0000-000000000000")
    after = scrape(app)

    name = "aidj_http_request_duration_seconds_count"
    assert (
        value(after, name, route="/login", method="GET", status="2xx")
        - value(before, name, route="/login", method="GET", status="2xx")
        == 3
    )
    routes = {dict(labels).get("route") for (metric, labels) in after if metric == name}
    assert "/sets/<set_id>" in routes
    assert not any(re.search(r"[0-9a-f]{8}-", route or "") for route in routes)


def test_jobs_ledger_webhooks_and_queues_are_counted(stack, app, monkeypatch) -> None:
    for name, setting in stack.settings.service_env().items():  # the job runs in this process
        monkeypatch.setenv(name, setting)
    before = scrape(app)
    owner = make_dj(stack.service, grant=0)
    stack.service.update_item("directus_users", owner, {"email_verified_at": None})
    # A queue no worker serves shows its waiting job (the stack's own worker may be running).
    probe = Queue("metrics-probe", connection=stack.redis)
    probe.enqueue("builtins.len", "x")
    waiting = scrape(app)
    probe.delete(delete_jobs=True)
    assert value(waiting, "aidj_queue_jobs", queue="metrics-probe", state="waiting") == 1
    enqueue("signup_grant", owner, connection=stack.redis)
    SimpleWorker([Queue("default", connection=stack.redis)], connection=stack.redis).work(
        burst=True
    )  # unless the stack's worker took it first
    app.test_client().post("/hooks/directus", data=b"{}")  # unsigned: refused
    ledger.grant(stack.service, owner, 2, f"test-grant:{owner}", reason="adjustment")
    ok_before = value(before, "aidj_jobs_total", pipeline="signup_grant", outcome="ok")

    def counted():
        figures = scrape(app)
        ok = value(figures, "aidj_jobs_total", pipeline="signup_grant", outcome="ok")
        return figures if ok > ok_before else None

    after = wait_for(counted, 30, "the sign-up grant job to be counted")
    assert value(after, "aidj_job_duration_seconds_count", pipeline="signup_grant") >= 1
    assert value(
        after, "aidj_webhook_rejections_total", source="directus",
        reason="missing timestamp or signature header",
    ) > value(
        before, "aidj_webhook_rejections_total", source="directus",
        reason="missing timestamp or signature header",
    )  # fmt: skip
    assert value(after, "aidj_ledger_entries_total", reason="adjustment") > value(
        before, "aidj_ledger_entries_total", reason="adjustment"
    )
