"""The queue dashboard is for staff: they log in with their Studio account; nobody else gets in,
and its actions only come from the site itself."""

from __future__ import annotations

import secrets

import pytest

from service.stack.access import role_id
from service.web.app import create_app
from tests.site.conftest import csrf, new_client, site_config

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def app(stack):
    return create_app(site_config(stack))


@pytest.fixture(scope="module")
def staff(stack):
    """One staff account for the module (Directus Core has three Studio seats, admin included)."""
    account = _account(stack, "Staff")
    yield account
    stack.admin.call("DELETE", f"/users/{account[0]}")


def _account(stack, role: str, **fields) -> tuple[str, str, str]:
    email, password = f"{role.lower()}-{secrets.token_hex(4)}@example.com", "a-long-password-1"
    user = stack.admin.create_item(
        "directus_users",
        {"email": email, "password": password, "role": role_id(role), "status": "active", **fields},
    )
    return user["id"], email, password


def _ops_login(browser, email: str, password: str):
    return browser.post(
        "/ops/login", data={"email": email, "password": password, "csrf_token": csrf(browser)}
    )


def test_staff_log_in_and_see_the_queues(stack, app, staff) -> None:
    _, email, password = staff
    browser = new_client(app)
    assert _ops_login(browser, email, password).headers["Location"] == "/ops/rq/"
    page = browser.get("/ops/rq/", follow_redirects=True)
    assert page.status_code == 200 and "RQ" in page.text
    assert "'unsafe-inline'" in page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in browser.get("/login").headers["Content-Security-Policy"]


def test_a_dj_or_a_wrong_password_does_not_open_the_dashboard(stack, app, staff) -> None:
    _, dj_email, dj_password = _account(stack, "DJ", email_verified_at="2026-01-01T00:00:00Z")
    _, staff_email, _ = staff
    for email, password in ((dj_email, dj_password), (staff_email, "wrong-password-1")):
        browser = new_client(app)
        assert _ops_login(browser, email, password).status_code == 401
        assert browser.get("/ops/rq/").headers["Location"].endswith("/ops/login")


def test_dashboard_actions_come_from_this_site_only(stack, app, staff) -> None:
    _, email, password = staff
    browser = new_client(app)
    _ops_login(browser, email, password)
    path = "/ops/rq/queue/default/failed/empty"
    assert browser.post(path, headers={"Origin": "https://evil.example"}).status_code == 403
    assert browser.post(path, headers={"Origin": "http://localhost"}).status_code == 200


def test_a_suspended_staff_member_loses_the_dashboard_at_once(stack, app, staff) -> None:
    user_id, email, password = staff
    browser = new_client(app)
    _ops_login(browser, email, password)
    assert browser.get("/ops/rq/").status_code == 200
    stack.admin.update_item("directus_users", user_id, {"status": "suspended"})
    try:
        assert browser.get("/ops/rq/").headers["Location"].endswith("/ops/login")
    finally:
        stack.admin.update_item("directus_users", user_id, {"status": "active"})
