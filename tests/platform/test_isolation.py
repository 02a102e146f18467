"""Who may do what in Directus: DJs nothing directly, Staff content, the service its work."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from service.integrations.directus import DirectusClient, DirectusError, DirectusForbidden
from service.stack.access import load_access
from tests.platform.test_schema_and_access import DATA_COLLECTIONS

pytestmark = pytest.mark.stack

SINGLETONS = set(load_access()["singletons"])
ROLES = {role["name"]: role["id"] for role in load_access()["roles"]}


def _user_with_role(stack, role: str) -> DirectusClient:
    email = f"{role.lower()}-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(12)
    stack.admin.create_item(
        "directus_users",
        {"email": email, "password": password, "role": ROLES[role], "status": "active"},
    )
    # A DJ's log-in needs the service's proof (aidj-guard); staff log in as they are.
    tokens = stack.admin.login(email, password, proof_secret=stack.settings.hook_secret)
    return stack.admin.with_token(tokens.access_token)


@pytest.fixture(scope="module")
def dj(stack) -> DirectusClient:
    return _user_with_role(stack, "DJ")


@pytest.fixture(scope="module")
def staff(stack) -> Iterator[DirectusClient]:
    client = _user_with_role(stack, "Staff")
    yield client
    # Directus Core has three Studio seats, admin included: give this one back.
    stack.admin.call("DELETE", f"/users/{client.me(fields=['id'])['id']}")


@pytest.fixture(scope="module")
def some_playlist(stack) -> dict:
    owner = stack.admin.create_item(
        "directus_users",
        {"email": f"owner-{secrets.token_hex(4)}@example.com", "role": ROLES["DJ"]},
    )
    return stack.service.create_item("playlists", {"owner": owner["id"], "name": "Someone's"})


@pytest.mark.parametrize("collection", DATA_COLLECTIONS)
def test_a_dj_calling_directus_directly_can_do_nothing_with_data(dj, stack, collection) -> None:
    with pytest.raises(DirectusForbidden):
        dj.list_items(collection, limit=1)
    with pytest.raises(DirectusError) as created:
        dj.create_item(collection, {})
    # A singleton has no create route at all (404); everything else refuses (403).
    assert created.value.status == (404 if collection in SINGLETONS else 403)
    with pytest.raises(DirectusForbidden):
        dj.update_items(collection, [1], {})
    with pytest.raises(DirectusForbidden):
        dj.delete_items(collection, [1])


def test_a_dj_cannot_read_another_djs_playlist_directly(dj, some_playlist) -> None:
    with pytest.raises(DirectusForbidden):
        dj.get_item("playlists", some_playlist["id"])


def test_a_dj_cannot_list_users(dj) -> None:
    with pytest.raises(DirectusForbidden):
        dj.list_items("directus_users", limit=1)


def test_the_service_can_write_what_it_derives(stack, some_playlist) -> None:
    svc = stack.service
    track = svc.create_item(
        "tracks", {"owner": some_playlist["owner"], "title": "Strobe", "bpm": 128.0, "key": "8A"}
    )
    svc.create_items(
        "playlist_tracks", [{"playlist": some_playlist["id"], "track": track["id"], "position": 1}]
    )
    svc.update_item("playlists", some_playlist["id"], {"status": "done", "progress": 100})
    entry = svc.create_item(
        "token_ledger",
        {
            "owner": some_playlist["owner"],
            "delta": 3,
            "reason": "signup_grant",
            "reference": f"grant:{secrets.token_hex(4)}",
        },
    )
    assert entry["delta"] == 3
    assert svc.get_item("playlists", some_playlist["id"])["status"] == "done"
    assert svc.count("playlist_tracks", {"playlist": {"_eq": some_playlist["id"]}}) == 1
    assert svc.get_singleton("app_settings")["set_price_tokens"] >= 0


def test_a_ledger_reference_can_be_used_once(stack, some_playlist) -> None:
    entry = {
        "owner": some_playlist["owner"],
        "delta": -1,
        "reason": "set_charge",
        "reference": f"set:{secrets.token_hex(6)}",
    }
    stack.service.create_item("token_ledger", entry)
    with pytest.raises(DirectusError) as repeat:
        stack.service.create_item("token_ledger", entry)
    assert repeat.value.status == 400
    assert repeat.value.code == "RECORD_NOT_UNIQUE"


def test_staff_edit_legal_documents(staff) -> None:
    doc = staff.create_item(
        "legal_documents",
        {
            "slug": "privacy",
            "version": "2026-11",
            "title": "Privacy Policy",
            "body": "# Privacy",
            "effective_date": "2026-11-27",
        },
    )
    staff.update_item("legal_documents", doc["id"], {"status": "published"})
    assert staff.get_item("legal_documents", doc["id"])["status"] == "published"


def test_staff_cannot_touch_the_token_ledger_and_only_read_the_audit_log(staff) -> None:
    with pytest.raises(DirectusForbidden):
        staff.list_items("token_ledger", limit=1)
    assert isinstance(staff.list_items("audit_log", limit=1), list)  # a request's trail, beside it
    for collection in ("token_ledger", "audit_log"):
        with pytest.raises(DirectusError) as created:
            staff.create_item(
                collection, {"delta": 100, "reason": "adjustment", "reference": "x", "action": "x"}
            )
        assert created.value.status == 403


def test_staff_read_users_and_privacy_requests(staff, stack) -> None:
    assert staff.list_items("directus_users", limit=1)
    assert isinstance(staff.list_items("privacy_requests", limit=1), list)
