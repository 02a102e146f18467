"""Generate: a set created through Directus REST is charged once, planned, annotated and stored."""

from __future__ import annotations

import itertools
import secrets
import time

import pytest

from service import ledger
from tests.pipelines.helpers import (
    charges,
    make_dj,
    make_library,
    wait_for,
    wait_for_job_to_settle,
    wait_for_status,
)

pytestmark = pytest.mark.stack


def _set_tracks(directus, set_id: str) -> list[dict]:
    return directus.list_items(
        "set_tracks",
        filter={"set": {"_eq": set_id}},
        fields=["position", "track", "transition"],
        sort=["position"],
        limit=-1,
    )


def test_a_set_reaches_done_with_ordered_tracks_notes_and_one_charge(
    stack, service_processes
) -> None:
    owner = make_dj(stack.service, grant=5)
    playlist = make_library(stack.service, owner, 24)
    created = stack.service.create_item(
        "sets",
        {
            "owner": owner,
            "playlist": playlist,
            "brief": "a warm-up that builds slowly",
            "parameters": {"duration_min": 60, "arc": "build", "time_budget_s": 0.5},
        },
    )
    assert created["status"] == "queued"

    done = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"), 30)

    assert done["status"] == "done", done["error"]
    assert done["progress"] == 100 and done["started_at"] and done["finished_at"]
    assert done["title"] and done["description"]
    assert done["ai_provider"] == "local"
    assert done["scorecard"]["tracks"] >= 5
    rows = _set_tracks(stack.service, created["id"])
    assert [r["position"] for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == done["scorecard"]["tracks"]
    assert len({r["track"] for r in rows}) == len(rows)
    assert rows[0]["transition"] is None
    for previous, row in itertools.pairwise(rows):
        assert row["transition"]["from_track"] == previous["track"]
        assert row["transition"]["tip"]
    entries = charges(stack.service, created["id"])
    assert [(e["delta"], e["reason"]) for e in entries] == [(-1, "set_charge")]
    assert done["tokens_charged"] == 1
    assert ledger.balance(stack.service, owner) == 4


def test_too_few_tokens_fails_with_a_clear_message_and_charges_nothing(
    stack, service_processes
) -> None:
    owner = make_dj(stack.service, grant=0)
    playlist = make_library(stack.service, owner, 6)
    created = stack.service.create_item("sets", {"owner": owner, "playlist": playlist})

    failed = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"))

    assert failed["status"] == "failed"
    assert "costs 1 token" in failed["error"] and "balance is 0" in failed["error"]
    assert charges(stack.service, created["id"]) == []
    assert stack.service.count("set_tracks", {"set": {"_eq": created["id"]}}) == 0


def test_after_buying_tokens_the_same_set_can_be_queued_again(stack, service_processes) -> None:
    owner = make_dj(stack.service, grant=0)
    playlist = make_library(stack.service, owner, 6)
    created = stack.service.create_item("sets", {"owner": owner, "playlist": playlist})
    wait_for_status(stack.service, "sets", created["id"], ("failed",))
    ledger.grant(stack.service, owner, 2, f"test-purchase:{owner}", reason="purchase")
    # A request while the last job is still ending is left to the sweep; this test wants the hook.
    wait_for_job_to_settle(stack.redis, f"set-generate-{created['id']}")

    stack.service.update_item("sets", created["id"], {"status": "queued", "progress": 0})

    done = wait_for_status(stack.service, "sets", created["id"], ("done",))
    assert done["error"] is None
    assert [e["delta"] for e in charges(stack.service, created["id"])] == [-1]


def test_a_set_that_cannot_be_planned_is_refunded_once(stack, service_processes) -> None:
    owner = make_dj(stack.service, grant=3)
    playlist = make_library(stack.service, owner, 6)
    created = stack.service.create_item(
        "sets",
        {"owner": owner, "playlist": playlist, "parameters": {"first": "not-a-track-of-mine"}},
    )

    failed = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"))

    assert failed["status"] == "failed"
    assert "could not be planned" in failed["error"]
    entries = sorted((e["reason"], e["delta"]) for e in charges(stack.service, created["id"]))
    assert entries == [("refund", 1), ("set_charge", -1)]
    assert ledger.balance(stack.service, owner) == 3
    # Asking again changes nothing: no second charge, no second refund.
    wait_for_job_to_settle(stack.redis, f"set-generate-{created['id']}")
    stack.service.update_item("sets", created["id"], {"status": "queued"})
    again = wait_for_status(stack.service, "sets", created["id"], ("failed",))
    assert "refunded" in again["error"]
    assert len(charges(stack.service, created["id"])) == 2


def test_the_price_is_read_from_app_settings_without_a_deploy(stack, service_processes) -> None:
    owner = make_dj(stack.service, grant=5)
    playlist = make_library(stack.service, owner, 6)
    stack.admin.update_singleton("app_settings", {"set_price_tokens": 3})
    try:
        created = stack.service.create_item("sets", {"owner": owner, "playlist": playlist})
        done = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"))
    finally:
        stack.admin.update_singleton("app_settings", {"set_price_tokens": 1})
    assert done["status"] == "done"
    assert done["tokens_charged"] == 3
    assert ledger.balance(stack.service, owner) == 2


def test_a_set_only_uses_its_owners_tracks(stack, service_processes) -> None:
    owner, stranger = make_dj(stack.service), make_dj(stack.service)
    strangers_playlist = make_library(stack.service, stranger, 6)
    created = stack.service.create_item("sets", {"owner": owner, "playlist": strangers_playlist})
    failed = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"))
    assert failed["status"] == "failed"
    assert "belongs to someone else" in failed["error"]
    assert ledger.balance(stack.service, owner) == ledger.signup_grant_amount(stack.service)


def test_the_sign_up_grant_goes_to_a_verified_dj_once(stack, service_processes) -> None:
    from service.jobs.queue import enqueue
    from service.stack.access import role_id

    user = stack.service.create_item(
        "directus_users",
        {"email": f"fresh-{secrets.token_hex(4)}@example.com", "role": role_id("DJ"),
         "status": "active"},
    )  # fmt: skip
    enqueue("signup_grant", user["id"], connection=stack.redis)
    wait_for_job_to_settle(stack.redis, f"user-signup-grant-{user['id']}")
    assert ledger.balance(stack.service, user["id"]) == 0  # not verified: nothing

    stack.service.update_item(
        "directus_users", user["id"], {"email_verified_at": "2026-11-29T00:00:00Z"}
    )
    enqueue("signup_grant", user["id"], connection=stack.redis)
    grant = ledger.signup_grant_amount(stack.service)
    wait_for(lambda: ledger.balance(stack.service, user["id"]) == grant, 20, "the sign-up grant")
    # The demo seed writes the same reference: a second grant is impossible.
    _, created = ledger.grant(stack.service, user["id"], grant, ledger.signup_reference(user["id"]))
    assert created is False
    assert ledger.balance(stack.service, user["id"]) == grant
    assert [e.reason for e in ledger.history(stack.service, user["id"])] == ["signup_grant"]


def test_a_set_waiting_for_its_playlist_import_is_retried_and_then_done(
    stack, service_processes
) -> None:
    owner = make_dj(stack.service, grant=2)
    playlist = make_library(stack.service, owner, 6)
    stack.service.update_item("playlists", playlist, {"status": "running"})
    created = stack.service.create_item("sets", {"owner": owner, "playlist": playlist})
    wait_for(
        lambda: stack.service.get_item("sets", created["id"])["status"] == "running",
        15,
        "the first attempt",
    )
    time.sleep(1)
    stack.service.update_item("playlists", playlist, {"status": "done"})

    done = wait_for_status(stack.service, "sets", created["id"], ("done", "failed"), 40)

    assert done["status"] == "done", done["error"]
    assert [e["delta"] for e in charges(stack.service, created["id"])] == [-1]
