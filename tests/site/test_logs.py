"""One request id follows a DJ's click from the site through the queue into the job's log lines;
production logs are JSON; log lines name no DJ."""

from __future__ import annotations

import json
import logging
import secrets

import pytest

from service.logs import JsonFormatter
from tests.site.conftest import csrf

pytestmark = pytest.mark.stack


def test_the_request_id_reaches_the_lines_of_the_job_it_started(
    stack, client, run_jobs, caplog
) -> None:
    email = f"traced-{secrets.token_hex(4)}@example.com"
    response = client.post(
        "/signup",
        data={"display_name": "Traced", "email": email, "password": "a-long-password-1",
              "age_confirmed": "yes", "accept_terms": "yes", "csrf_token": csrf(client)},
        headers={"X-Request-Id": "proxy-request-0001"},
    )  # fmt: skip
    assert response.headers["X-Request-Id"] == "proxy-request-0001"

    with caplog.at_level(logging.INFO, logger="service"):
        run_jobs()
    sent = [r for r in caplog.records if r.name.startswith("service.integrations.mail")]
    assert sent, "the verification mail job logged nothing"
    assert {r.aidj_request_id for r in sent} == {"proxy-request-0001"}
    assert all(r.aidj_job_id.startswith("user-verification-mail-") for r in sent)
    for record in caplog.records:
        assert email not in record.getMessage()


def test_a_request_without_a_usable_id_gets_one(client) -> None:
    given = client.get("/login", headers={"X-Request-Id": "bad id with spaces"})
    rid = given.headers["X-Request-Id"]
    assert rid and rid != "bad id with spaces" and " " not in rid


def test_production_lines_are_json_with_their_ids() -> None:
    record = logging.LogRecord(
        "service.jobs", logging.WARNING, __file__, 1, "set %s failed", ("s1",), None
    )
    record.aidj_request_id, record.aidj_job_id = "req-1", "set-generate-s1"

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "set s1 failed" and line["level"] == "warning"
    assert line["request_id"] == "req-1" and line["job_id"] == "set-generate-s1"
    assert line["logger"] == "service.jobs" and line["time"].endswith("+00:00")
