"""Every route of the site, generated from its URL map: a new route is covered without editing this.

- Cross-account: a DJ asking for another DJ's item by id gets 404, exactly as for an item that does
  not exist; a visitor who is not logged in is sent to log in (pages) or refused (the rest).
- CSRF: no unsafe request is carried out without the session's token.
- Body limits: no route reads a large body, except an upload of a logged-in DJ.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tests.site.conftest import DJ, csrf, log_in, make_done_set, make_library, new_client

pytestmark = pytest.mark.stack

# Routes meant for visitors and machines; every other route is for logged-in DJs only.
PUBLIC_ENDPOINTS = {
    "static", "health.healthz", "health.readyz", "health.prometheus_metrics", "hooks.directus_event",
    "hooks.paddle_event", "site.home", "site.signup",
    "site.login", "site.logout", "site.forgot_password", "site.reset_password",
    "site.verify_email", "site.resend_verification", "site.privacy", "site.terms", "site.cookies",
    "ops.login", "ops.logout",
    # The privacy centre's logged-out side: each acts only with a signed link (or mails one).
    "site.privacy_request_by_email", "site.privacy_confirm", "site.privacy_cancel_deletion",
    "site.privacy_export_download", "site.unsubscribe", "site.privacy_versions", "site.privacy_version",
}  # fmt: skip
# Pages for staff only (the RQ dashboard): everyone else is sent to the staff log-in.
STAFF_BLUEPRINTS = {"rq_dashboard"}


def _rules(app: Flask) -> Iterator[Rule]:
    return (rule for rule in app.url_map.iter_rules() if not rule.endpoint.endswith("static"))


def _staff_only(rule: Rule) -> bool:
    return rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS


def _methods(rule: Rule) -> list[str]:
    return sorted(m for m in (rule.methods or ()) if m not in ("HEAD", "OPTIONS"))


@pytest.fixture(scope="module")
def owner_items(stack, site_app) -> dict[str, Any]:
    """A DJ with a playlist and a finished set: the items another DJ will try to reach."""
    import secrets

    from service import ledger
    from service.stack.access import role_id
    from tests.site.conftest import make_dj as _make_dj_fixture  # noqa: F401

    email, password = f"owner-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    user = stack.service.create_item(
        "directus_users",
        {"email": email, "password": password, "role": role_id("DJ"), "status": "active",
         "email_verified_at": "2026-01-01T00:00:00Z"},
    )  # fmt: skip
    ledger.grant(stack.service, user["id"], 3, ledger.signup_reference(user["id"]))
    owner = DJ(user["id"], email, password)
    library = make_library(stack.service, owner.id)
    from service import privacy

    request = privacy.open_request(stack.service, "routes-test", owner.id, "access")
    set_id = make_done_set(stack.service, owner.id, library)
    # A rendered mix, so the set's audio route has a file to serve its owner.
    mix = stack.service.upload_file(b"ID3 a rendered mix", "mix.mp3")
    asked = {"mix": True, "at": "2026-11-30T10:00:00+00:00"}
    stack.service.update_item("sets", set_id, {"render_request": asked, "render": {
        "status": "done", "requested_at": asked["at"], "previews": [],
        "mix": {"file": mix["id"], "seconds": 1.0, "tracks": 2}}})  # fmt: skip
    return {
        "owner": owner,
        "set_id": set_id,
        "playlist_id": library["playlist"],
        "track_id": library["tracks"][0],
        "request_id": request["id"],
    }


def _fill(rule: Rule, items: dict[str, Any]) -> str:
    """The rule's path with the owner's ids (and a valid value for every other variable)."""
    values = {
        "set_id": items["set_id"], "playlist_id": items["playlist_id"], "fmt": "m3u8",
        "track_id": items["track_id"],
        "request_id": items["request_id"],
        "version": "2024-12-28", "name": "mix",
        # the RQ dashboard's own
        "instance_number": 0, "queue_name": "default", "registry_name": "failed",
        "job_id": "set-generate-x", "per_page": 10, "order": "asc", "page": 1,
    }  # fmt: skip
    missing = rule.arguments - values.keys()
    assert not missing, f"{rule.rule}: give this test a value for {sorted(missing)}"
    return rule.build({name: values[name] for name in rule.arguments})[1]


def _id_routes(app: Flask) -> list[Rule]:
    return [
        r for r in _rules(app)
        if r.arguments and r.endpoint not in PUBLIC_ENDPOINTS and not _staff_only(r)
    ]  # fmt: skip


def _private_routes(app: Flask) -> list[Rule]:
    return [r for r in _rules(app) if r.endpoint not in PUBLIC_ENDPOINTS and not _staff_only(r)]


def test_staff_pages_send_visitors_and_djs_to_the_staff_log_in(site_app, owner_items) -> None:
    visitor = new_client(site_app)
    dj = log_in(new_client(site_app), owner_items["owner"])
    staff_rules = [r for r in _rules(site_app) if _staff_only(r)]
    assert staff_rules, "the RQ dashboard is mounted"
    for browser in (visitor, dj):
        for rule in staff_rules:
            path = _fill(rule, owner_items) if rule.arguments else rule.rule
            for method in _methods(rule):
                response = browser.open(path, method=method, headers={"Origin": "http://localhost"})
                if response.status_code == 308:  # the router's own slash fix: follow it once
                    response = browser.open(
                        response.headers["Location"], method=method,
                        headers={"Origin": "http://localhost"},
                    )  # fmt: skip
                if method == "GET":
                    assert response.status_code == 302, f"{method} {path}"
                    assert response.headers["Location"].endswith("/ops/login")
                else:
                    assert response.status_code == 403, f"{method} {path}: {response.status_code}"


def test_every_private_route_sends_a_visitor_to_log_in_or_refuses(site_app, owner_items) -> None:
    visitor = new_client(site_app)
    for rule in _private_routes(site_app):
        path = _fill(rule, owner_items) if rule.arguments else rule.rule
        for method in _methods(rule):
            data = {"csrf_token": csrf(visitor)} if method != "GET" else None
            response = visitor.open(path, method=method, data=data)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login?next="), path
            else:
                assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    assert _id_routes(site_app), "the site has routes that take an id"


def test_another_dj_gets_404_for_every_route_that_takes_an_id(
    site_app, owner_items, make_dj
) -> None:
    other = log_in(new_client(site_app), make_dj())
    for rule in _id_routes(site_app):
        path = _fill(rule, owner_items)
        for method in _methods(rule):
            data = {"csrf_token": csrf(other)} if method != "GET" else None
            response = other.open(path, method=method, data=data)
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"


def test_the_owner_reaches_every_route_that_takes_an_id(site_app, owner_items) -> None:
    owner = log_in(new_client(site_app), owner_items["owner"])
    for rule in _id_routes(site_app):
        if "GET" not in _methods(rule):
            continue  # unsafe actions change the items; their own tests cover the owner
        path = _fill(rule, owner_items)
        assert owner.get(path).status_code == 200, path


def _unsafe_site_routes(app: Flask) -> list[tuple[Rule, str]]:
    return [
        (rule, method)
        for rule in _rules(app)
        if rule.endpoint.startswith("site.")
        for method in _methods(rule)
        if method in ("POST", "PUT", "PATCH", "DELETE")
    ]


def test_no_unsafe_request_is_carried_out_without_the_sessions_csrf_token(
    site_app, owner_items
) -> None:
    owner = log_in(new_client(site_app), owner_items["owner"])
    stranger = new_client(site_app)
    foreign_token = csrf(stranger)
    for rule, method in _unsafe_site_routes(site_app):
        path = _fill(rule, owner_items) if rule.arguments else rule.rule
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": foreign_token}):
            response = owner.open(path, method=method, data=data)
            assert response.status_code == 400, f"{method} {path} with {data}"
    # Nothing happened: the owner's set is still there.
    assert owner.get(f"/sets/{owner_items['set_id']}").status_code == 200


class _CountingBody(io.RawIOBase):
    """A request body that says how much of it was read."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.read_bytes

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.read_bytes  # the test client asks where the body starts; it starts here

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.read_bytes, 64 * 1024)
        buffer[:n] = b"x" * n
        self.read_bytes += n
        return n


def test_no_route_reads_a_large_body_but_a_logged_in_djs_upload(site_app, owner_items) -> None:
    owner = log_in(new_client(site_app), owner_items["owner"])
    visitor = new_client(site_app)
    large = 10 * 1024**2
    for rule in _rules(site_app):
        path = _fill(rule, owner_items) if rule.arguments else rule.rule
        for method in _methods(rule):
            if method == "GET":
                continue
            for who, browser in (("visitor", visitor), ("owner", owner)):
                body = _CountingBody(large)
                response = browser.open(
                    path, method=method, input_stream=body, content_length=large,
                    content_type="application/x-www-form-urlencoded",
                )  # fmt: skip
                where = f"{who} {method} {path}: {response.status_code}"
                if rule.endpoint == "site.upload" and who == "owner":
                    assert response.status_code != 413, where
                else:
                    assert 400 <= response.status_code < 500, where
                    assert body.read_bytes == 0, f"{where}, read {body.read_bytes} bytes"
