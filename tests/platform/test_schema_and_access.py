"""Schema and access are code: they apply on an empty database, and applying again changes nothing."""

from __future__ import annotations

import pytest
import yaml

from service.integrations.directus import DirectusAuthError, DirectusForbidden
from service.stack import directus
from service.stack.access import apply_access, load_access
from service.stack.settings import SNAPSHOT_FILE

pytestmark = pytest.mark.stack

DATA_COLLECTIONS = sorted(
    c["collection"] for c in yaml.safe_load(SNAPSHOT_FILE.read_text())["collections"]
)


def test_the_snapshot_holds_the_first_features_collections() -> None:
    needed = {
        "playlists", "tracks", "playlist_tracks", "sets", "set_tracks", "token_ledger",
        "consent_records", "legal_documents", "privacy_requests", "audit_log", "webhook_events",
    }  # fmt: skip
    assert needed <= set(DATA_COLLECTIONS)
    # Core tier allows 25 collections; leave room to grow.
    assert len(DATA_COLLECTIONS) <= 20


def test_every_field_has_studio_metadata_so_snapshots_keep_it() -> None:
    # A field without meta gets a column but silently drops out of snapshots.
    fields = yaml.safe_load(SNAPSHOT_FILE.read_text())["fields"]
    assert [f"{f['collection']}.{f['field']}" for f in fields if not f.get("meta")] == []


def test_every_collection_exists_in_directus(stack) -> None:
    names = {c["collection"] for c in stack.admin.call("GET", "/collections")}
    assert set(DATA_COLLECTIONS) <= names


def test_applying_the_schema_again_changes_nothing(stack) -> None:
    if stack.settings.database.client != "pg":
        pytest.skip("judged on the vendor the snapshot came from (SQLite reports type noise)")
    assert directus.schema_drift(stack.admin) is None
    directus.apply_schema(stack.settings)
    assert directus.schema_drift(stack.admin) is None


def test_applying_access_again_changes_nothing(stack) -> None:
    plan = apply_access(stack.admin, {"service_token": stack.settings.service_token})
    assert plan.changes == []


def test_access_check_reports_drift_without_changing_it(stack) -> None:
    staff = next(p for p in load_access()["policies"] if p["name"] == "Staff")
    stack.admin.call("PATCH", f"/policies/{staff['id']}", json={"description": "edited by hand"})
    try:
        drift = apply_access(
            stack.admin, {"service_token": stack.settings.service_token}, check=True
        )
        assert drift.changes == ["update policy Staff: description"]
        assert (
            stack.admin.call("GET", f"/policies/{staff['id']}")["description"] == "edited by hand"
        )
    finally:
        apply_access(stack.admin, {"service_token": stack.settings.service_token})
    assert (
        apply_access(
            stack.admin, {"service_token": stack.settings.service_token}, check=True
        ).changes
        == []
    )


def test_a_snapshot_of_the_applied_schema_matches_the_committed_one(stack, tmp_path) -> None:
    if stack.settings.database.client != "pg":
        pytest.skip("the committed snapshot comes from PostgreSQL; other vendors differ in types")
    fresh = directus.take_snapshot(stack.settings, tmp_path / "snapshot.yaml")
    assert yaml.safe_load(fresh.read_text()) == yaml.safe_load(SNAPSHOT_FILE.read_text())


def test_directus_is_no_front_door_for_the_public(stack) -> None:
    settings = stack.admin.call("GET", "/settings")
    assert settings["public_registration"] is False  # only the service creates DJ accounts
    assert settings["auth_login_attempts"] is None  # no lockout anyone could trigger
    assert settings["project_name"] == "AIDJSets"
    # The public policy grants nothing, on any collection.
    public = stack.admin.call(
        "GET", "/policies", params={"filter[name][_eq]": "$t:public_label", "fields": "id"}
    )
    for policy in public:
        assert (
            stack.admin.call("GET", "/permissions", params={"filter[policy][_eq]": policy["id"]})
            == []
        )
    anonymous = stack.admin.with_token(None)
    for path in ("/folders", "/users", "/items/playlists", "/files", "/roles", "/settings"):
        with pytest.raises((DirectusForbidden, DirectusAuthError)):  # never a 500
            anonymous.call("GET", path, authenticated=False)
    # Directus's own rate limit per address is on.
    info = stack.admin.call("GET", "/server/info")
    assert info["rateLimit"] == {"points": 200, "duration": 1}


def test_staff_need_two_factor_authentication_in_the_studio(stack) -> None:
    staff = next(p for p in load_access()["policies"] if p["name"] == "Staff")
    assert stack.admin.call("GET", f"/policies/{staff['id']}")["enforce_tfa"] is True


def test_every_track_field_in_the_field_table_has_its_directus_column() -> None:
    from service.dj.tracks import FIELDS

    snapshot_fields = {
        f["field"]
        for f in yaml.safe_load(SNAPSHOT_FILE.read_text())["fields"]
        if f["collection"] == "tracks"
    }
    declared = {field.directus for field in FIELDS if field.directus}
    assert declared <= snapshot_fields, declared - snapshot_fields
