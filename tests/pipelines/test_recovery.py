"""Recovery: lost events, dead workers and repeated deliveries end in one result and one charge."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from rq.job import Job

from service.jobs.sweep import sweep
from service.web.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.pipelines.helpers import (
    charges,
    make_dj,
    make_library,
    signed_post,
    wait_for,
    wait_for_status,
)
from tests.support.stack import TEST_SERVICE_ENV

pytestmark = pytest.mark.stack

STALE_S = float(TEST_SERVICE_ENV["SWEEP_STALE_S"])
DEAD_S = float(TEST_SERVICE_ENV["SWEEP_DEAD_WORKER_S"])
LOST_S = float(TEST_SERVICE_ENV["SWEEP_LOST_S"])


def _sweep(stack):
    return sweep(stack.service, stack.redis, stale_s=STALE_S, dead_worker_s=DEAD_S, lost_s=LOST_S)


def _a_set_in_planning(stack, *, time_budget_s: float, seed: int | None = None) -> tuple[dict, str]:
    """A 100-track set whose job has charged and is planning; returns the set and its job id."""
    owner = make_dj(stack.service, grant=5)
    library = {"seed": seed} if seed is not None else {}
    playlist = make_library(stack.service, owner, 100, **library)
    created = stack.service.create_item(
        "sets",
        {"owner": owner, "playlist": playlist, "parameters": {"time_budget_s": time_budget_s}},
    )
    wait_for(
        lambda: stack.service.get_item("sets", created["id"])["progress"] >= 30,
        30,
        "the set job to be charged and planning",
    )
    return created, f"set-generate-{created['id']}"


def test_a_worker_killed_mid_set_is_recovered_done_once_and_charged_once(
    stack, service_processes
) -> None:
    created, job_id = _a_set_in_planning(stack, time_budget_s=6)
    [worker] = [w for w in service_processes.workers if w.poll() is None]

    service_processes.kill_worker(worker)

    stuck = stack.service.get_item("sets", created["id"])
    assert stuck["status"] == "running"
    assert [e["delta"] for e in charges(stack.service, created["id"])] == [-1]
    service_processes.start_worker()
    report = wait_for(lambda: _sweep(stack).abandoned, 30, "the sweep to find the dead worker")
    assert report == [job_id]
    done = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"), 60)
    assert done["status"] == "done", done["error"]
    assert [e["delta"] for e in charges(stack.service, created["id"])] == [-1]
    rows = stack.service.list_items(
        "set_tracks", filter={"set": {"_eq": created["id"]}}, fields=["position", "track"], limit=-1
    )
    assert sorted(r["position"] for r in rows) == list(range(1, 101))
    assert len({r["track"] for r in rows}) == 100
    # Once done, the sweep leaves it alone.
    time.sleep(STALE_S + 0.5)
    assert job_id not in _sweep(stack).enqueued


def test_a_work_horse_that_outlives_its_worker_is_not_run_twice(stack, service_processes) -> None:
    created, job_id = _a_set_in_planning(stack, time_budget_s=9, seed=11)
    [worker] = [w for w in service_processes.workers if w.poll() is None]
    os.kill(worker.pid, signal.SIGKILL)  # the worker only: its work horse plans on
    worker.wait()
    service_processes.start_worker()
    time.sleep(STALE_S + 0.3)

    # Judge the silent worker dead at once: only the item lock can say the run is alive.
    report = sweep(stack.service, stack.redis, stale_s=STALE_S, dead_worker_s=0.1, lost_s=LOST_S)

    assert job_id in report.waiting  # the horse keeps the item lock alive
    assert job_id not in report.abandoned + report.enqueued
    done = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"), 60)
    assert done["status"] == "done", done["error"]
    assert [e["delta"] for e in charges(stack.service, created["id"])] == [-1]


def test_an_event_lost_while_the_service_is_down_is_recovered_by_the_sweep(
    stack, service_processes
) -> None:
    owner = make_dj(stack.service, grant=2)
    playlist = make_library(stack.service, owner, 8)
    service_processes.stop_web()
    try:
        created = stack.service.create_item("sets", {"owner": owner, "playlist": playlist})
        # The extension retries for about 4 s, then gives up and logs.
        time.sleep(5.5)
        job_id = f"set-generate-{created['id']}"
        assert not Job.exists(job_id, connection=stack.redis)
        assert stack.service.get_item("sets", created["id"])["status"] == "queued"
    finally:
        service_processes.start_web()

    report = _sweep(stack)

    assert job_id in report.enqueued
    done = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"), 30)
    assert done["status"] == "done", done["error"]
    assert [e["delta"] for e in charges(stack.service, created["id"])] == [-1]


def test_a_queued_item_whose_event_never_arrived_is_enqueued_soon_and_once(
    stack, service_processes
) -> None:
    owner = make_dj(stack.service, grant=2)
    service_processes.stop_workers()
    try:
        playlist = make_library(stack.service, owner, 6)
        created = stack.service.create_item("sets", {"owner": owner, "playlist": playlist})
        job_id = f"set-generate-{created['id']}"
        wait_for(lambda: Job.exists(job_id, connection=stack.redis), 10, "the job")
        Job.fetch(job_id, connection=stack.redis).delete()  # as if the event had been lost
        time.sleep(LOST_S + 0.2)
        first, second = _sweep(stack), _sweep(stack)
        assert job_id in first.enqueued
        assert job_id not in second.enqueued
    finally:
        service_processes.start_worker()
    assert wait_for_status(stack.service, "sets", created["id"], ("done",), 30)
    assert len(charges(stack.service, created["id"])) == 1


def test_one_item_the_sweep_cannot_handle_does_not_stop_the_others(
    stack, service_processes, monkeypatch
) -> None:
    import service.jobs.sweep as sweep_module

    owner = make_dj(stack.service, grant=4)
    service_processes.stop_workers()
    try:
        playlist = make_library(stack.service, owner, 6)
        sets = [
            stack.service.create_item("sets", {"owner": owner, "playlist": playlist})
            for _ in range(2)
        ]
        job_ids = [f"set-generate-{s['id']}" for s in sets]
        for job_id in job_ids:
            wait_for(lambda job_id=job_id: Job.exists(job_id, connection=stack.redis), 10, "job")
            Job.fetch(job_id, connection=stack.redis).delete()  # both events lost
        time.sleep(LOST_S + 0.2)
        real_enqueue = sweep_module.enqueue
        broken = job_ids[0].removeprefix("set-generate-")

        def enqueue(pipeline, item_id, **kwargs):
            if item_id == broken:
                raise RuntimeError("a job record half gone")
            return real_enqueue(pipeline, item_id, **kwargs)

        monkeypatch.setattr(sweep_module, "enqueue", enqueue)
        report = _sweep(stack)
        assert job_ids[0] in report.errors
        assert job_ids[1] in report.enqueued
        monkeypatch.setattr(sweep_module, "enqueue", real_enqueue)
        assert job_ids[0] in _sweep(stack).enqueued  # tried again on the next pass
    finally:
        service_processes.start_worker()
    for created in sets:
        assert wait_for_status(stack.service, "sets", created["id"], ("done",), 30)


def test_the_sweep_does_not_double_a_job_that_is_waiting(stack, service_processes) -> None:
    owner = make_dj(stack.service, grant=2)
    service_processes.stop_workers()
    try:
        playlist = make_library(stack.service, owner, 6)
        created = stack.service.create_item("sets", {"owner": owner, "playlist": playlist})
        job_id = f"set-generate-{created['id']}"
        wait_for(lambda: Job.exists(job_id, connection=stack.redis), 10, "the job")
        time.sleep(STALE_S + 0.5)
        report = _sweep(stack)
        assert job_id in report.waiting and job_id not in report.enqueued
    finally:
        service_processes.start_worker()
    assert wait_for_status(stack.service, "sets", created["id"], ("done",), 30)
    assert len(charges(stack.service, created["id"])) == 1


def _event(key: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "event": "items.create",
        "collection": "sets",
        "keys": [key],
        "user": None,
        "ts": time.time(),
    }


def test_forged_stale_and_malformed_requests_start_nothing(stack, service_processes) -> None:
    url, secret = service_processes.url, stack.settings.hook_secret
    key = str(uuid.uuid4())
    forged = signed_post(url, "guessed-secret", _event(key))
    stale = signed_post(url, secret, _event(key), timestamp=int(time.time()) - 600)
    body = b'{"id": "x"'
    stamp = str(int(time.time()))
    malformed = requests.post(
        f"{url}/hooks/directus",
        data=body,
        headers={TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, body)},
        timeout=5,
    )
    assert (forged.status_code, stale.status_code, malformed.status_code) == (401, 401, 400)
    assert not Job.exists(f"set-generate-{key}", connection=stack.redis)


def test_the_same_event_delivered_five_times_at_once_starts_one_job(
    stack, service_processes
) -> None:
    url, secret = service_processes.url, stack.settings.hook_secret
    key = str(uuid.uuid4())  # no such set: the one job finds nothing to do
    event = _event(key)
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: signed_post(url, secret, event), range(5)))
    assert [a.status_code for a in answers] == [202] * 5
    assert sorted(a.json()["status"] for a in answers) == ["accepted"] + ["duplicate"] * 4
    assert json.loads(json.dumps(answers[0].json()))["id"] == event["id"]
    job = wait_for(
        lambda: (
            Job.exists(f"set-generate-{key}", connection=stack.redis)
            and Job.fetch(f"set-generate-{key}", connection=stack.redis)
        ),
        10,
        "the job",
    )
    assert job.meta["item_id"] == key


def test_a_job_killed_by_its_timeout_on_the_last_attempt_fails_the_set_and_refunds_once(
    stack, monkeypatch
) -> None:
    from rq.timeouts import JobTimeoutException

    from service import ledger
    from service.jobs.state import on_job_failure

    for name, value in stack.settings.service_env().items():
        monkeypatch.setenv(name, value)
    owner = make_dj(stack.service, grant=2)
    created = stack.service.create_item("sets", {"owner": owner, "status": "done"})
    stack.service.update_item("sets", created["id"], {"status": "running", "progress": 60})
    ledger.charge(stack.service, owner, 1, f"set:{created['id']}")
    job = Job.create(
        "service.jobs.generate.run",
        args=[created["id"]],
        connection=stack.redis,
        meta={"pipeline": "generate", "item_id": created["id"]},
    )
    job.retries_left = 0
    timeout = JobTimeoutException("Task exceeded maximum timeout value (300 seconds)")

    for _ in range(2):  # RQ may report the same failure twice; the refund stays single
        on_job_failure(job, stack.redis, JobTimeoutException, timeout, None)

    failed = stack.service.get_item("sets", created["id"])
    assert failed["status"] == "failed" and failed["finished_at"]
    assert "Something went wrong on our side" in failed["error"]
    assert sorted(e["delta"] for e in charges(stack.service, created["id"])) == [-1, 1]
    assert ledger.balance(stack.service, owner) == 2


def test_a_failure_with_retries_left_leaves_the_item_to_the_retry(stack, monkeypatch) -> None:
    from service.jobs.state import on_job_failure

    for name, value in stack.settings.service_env().items():
        monkeypatch.setenv(name, value)
    owner = make_dj(stack.service, grant=2)
    created = stack.service.create_item("sets", {"owner": owner, "status": "done"})
    stack.service.update_item("sets", created["id"], {"status": "running"})
    job = Job.create(
        "service.jobs.generate.run",
        args=[created["id"]],
        connection=stack.redis,
        meta={"pipeline": "generate", "item_id": created["id"]},
    )
    job.retries_left = 2

    on_job_failure(job, stack.redis, RuntimeError, RuntimeError("flaky"), None)

    assert stack.service.get_item("sets", created["id"])["status"] == "running"


def test_a_verified_dj_whose_grant_job_was_lost_gets_the_grant_from_the_sweep(
    stack, service_processes
) -> None:
    from service import ledger
    from service.jobs.sweep import sweep_signup_grants
    from service.stack.access import role_id

    service_processes.stop_workers()
    try:
        email, password = f"lost-{uuid.uuid4().hex[:8]}@example.com", "a-long-password-1"
        user = stack.service.create_item(
            "directus_users",
            {"email": email, "password": password, "role": role_id("DJ"), "status": "active"},
        )
        job_id = f"user-signup-grant-{user['id']}"
        # Logged in (last_access set) but not verified: no grant, not even from the sweep.
        stack.service.login(email, password, proof_secret=stack.settings.hook_secret)
        assert job_id not in sweep_signup_grants(stack.service, stack.redis)
        # Verified, and the job the site's log-in enqueued was lost: the sweep makes up for it.
        stack.service.update_item(
            "directus_users", user["id"], {"email_verified_at": "2026-11-29T00:00:00Z"}
        )
        assert job_id in sweep_signup_grants(stack.service, stack.redis)
    finally:
        service_processes.start_worker()
    grant = ledger.signup_grant_amount(stack.service)
    wait_for(lambda: ledger.balance(stack.service, user["id"]) == grant, 20, "the grant")
    assert job_id not in sweep_signup_grants(stack.service, stack.redis)
