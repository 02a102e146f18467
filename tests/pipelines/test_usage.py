"""Usage analytics: events count what happened without naming anyone, days are summed once however
often the job runs, raw events go after their retention, and staff see the sums in Insights."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from service import usage
from service.stack.access import load_access

pytestmark = pytest.mark.stack

SECRET = "usage-test-key"


def _events(stack, actor: str) -> list[dict]:
    return stack.service.list_items("usage_events", filter={"actor": {"_eq": actor}}, limit=-1)


def test_an_event_names_no_one_and_holds_no_content(stack) -> None:
    user_id = f"00000000-0000-4000-8000-{secrets.token_hex(6)}"
    usage.record(stack.service, SECRET, user_id, "export_downloaded", value=12, detail="rekordbox")

    (event,) = _events(stack, usage.actor(SECRET, user_id))
    assert event["kind"] == "export_downloaded" and event["detail"] == "rekordbox"
    assert event["value"] == 12
    assert user_id not in str(event) and len(event["actor"]) == 64


def test_a_day_is_summed_once_however_often_the_job_runs(stack) -> None:
    day = dt.date(2026, 3, 14)
    dj_a, dj_b = (f"dj-{secrets.token_hex(4)}" for _ in range(2))
    made = []
    for user, kind, value, detail in (
        (dj_a, "set_generated", 20, "local"), (dj_a, "set_generated", 16, "local"),
        (dj_b, "set_generated", 10, "local"), (dj_b, "upload", 5_000_000, "m3u8"),
    ):  # fmt: skip
        usage.record(stack.service, SECRET, user, kind, value=value, detail=detail)
        made += _events(stack, usage.actor(SECRET, user))
    for event in {e["id"]: e for e in made}.values():  # all on that day, at noon
        stack.admin.update_item("usage_events", event["id"], {"date_created": f"{day}T12:00:00Z"})

    first = usage.aggregate_day(stack.service, day)
    again = usage.aggregate_day(stack.service, day)

    assert first == again
    rows = stack.service.list_items(
        "usage_daily", filter={"day": {"_eq": day.isoformat()}}, limit=-1
    )
    by_kind = {(r["kind"], r["detail"]): r for r in rows}
    assert len(rows) == len(by_kind)  # one row per day, kind and category
    sets = by_kind[("set_generated", "local")]
    assert (sets["events"], sets["actors"], sets["value_sum"]) == (3, 2, 46.0)
    assert by_kind[("upload", "m3u8")]["value_sum"] == 5_000_000
    assert all("actor" not in r and dj_a not in str(r) for r in rows)


def test_raw_events_go_after_their_retention_and_newer_ones_stay(stack) -> None:
    user = f"dj-{secrets.token_hex(4)}"
    usage.record(stack.service, SECRET, user, "upload", value=1)
    usage.record(stack.service, SECRET, user, "upload", value=2)
    old, new = _events(stack, usage.actor(SECRET, user))
    stack.admin.update_item("usage_events", old["id"], {"date_created": "2025-01-01T00:00:00Z"})

    purged = usage.purge_raw(stack.service, retention_days=90)

    assert purged >= 1
    assert [e["id"] for e in _events(stack, usage.actor(SECRET, user))] == [new["id"]]


def test_staff_see_usage_in_insights(stack) -> None:
    dashboard = load_access()["insights"][0]
    stored = stack.admin.call("GET", f"/dashboards/{dashboard['id']}")
    assert stored["name"] == "Usage"
    panels = stack.admin.call("GET", "/panels", params={"filter[dashboard][_eq]": dashboard["id"]})
    assert {p["name"] for p in panels} == {p["name"] for p in dashboard["panels"]}
    assert all(p["options"]["collection"] == "usage_daily" for p in panels)
