"""Every item route answers 404 to anyone but its owner; forms need the CSRF token; headers are set;
user and tag strings are escaped."""

from __future__ import annotations

import pytest

from service.web.security import CONTENT_SECURITY_POLICY
from tests.site.conftest import csrf, log_in, make_done_set, make_library, new_client

pytestmark = pytest.mark.stack

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def owned(stack, make_dj):
    """A DJ's playlist and finished set."""
    owner = make_dj()
    library = make_library(stack.service, owner.id)
    return {
        "owner": owner,
        "playlist": library["playlist"],
        "track": library["tracks"][0],
        "set": make_done_set(stack.service, owner.id, library),
    }


def item_routes(items: dict) -> list[tuple[str, str, dict]]:
    """Every route that touches an item, with the form it would be sent."""
    playlist, set_id, track = items["playlist"], items["set"], items["track"]
    routes = [
        ("GET", f"/playlists/{playlist}", {}),
        ("GET", f"/playlists/{playlist}/status", {}),
        ("GET", f"/sets/new?playlist={playlist}", {}),
        ("POST", "/sets", {"playlist": playlist, "arc": "build", "first": track, "step": "build"}),
        ("GET", f"/sets/{set_id}", {}),
        ("GET", f"/sets/{set_id}/status", {}),
    ]
    routes += [
        ("GET", f"/sets/{set_id}/download/{fmt}", {})
        for fmt in ("rekordbox", "nml", "m3u8", "csv", "json")
    ]
    return [*routes, ("POST", f"/sets/{set_id}/delete", {"confirm": "delete"})]  # last: removes it


def _send(client, method: str, path: str, form: dict):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={**form, "csrf_token": csrf(client)})


def _assert_untouched(stack, items: dict) -> None:
    assert stack.service.get_item("sets", items["set"], fields=["status"])["status"] == "done"
    assert stack.service.count("sets", {"owner": {"_eq": items["owner"].id}}) == 1


def test_another_dj_gets_404_on_every_item_route(stack, owned, dj_client) -> None:
    _, intruder = dj_client
    for method, path, form in item_routes(owned):
        response = _send(intruder, method, path, form)
        assert response.status_code == 404, (method, path, response.status_code)
        assert "Harbour" not in response.text and "Friday" not in response.text
    _assert_untouched(stack, owned)


def test_nobody_is_sent_to_log_in_or_gets_404_on_every_item_route(stack, owned, client) -> None:
    for method, path, form in item_routes(owned):
        response = _send(client, method, path, form)
        if method == "GET" and not path.endswith("/status"):
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.headers["Location"].startswith("/login?next=")
        else:
            assert response.status_code == 404, (method, path, response.status_code)
    _assert_untouched(stack, owned)


def test_the_owner_reaches_every_item_route(stack, owned, site_app) -> None:
    browser = log_in(new_client(site_app), owned["owner"])
    for method, path, form in item_routes(owned):
        response = _send(browser, method, path, form)
        assert response.status_code in (200, 303), (method, path, response.status_code)


@pytest.mark.parametrize(
    "key", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1 OR 1=1", "..%2f..%2fetc"]
)
def test_made_up_item_ids_are_404(dj_client, key) -> None:
    _, browser = dj_client
    assert browser.get(f"/sets/{key}").status_code == 404
    assert browser.get(f"/playlists/{key}").status_code == 404


def test_a_form_without_the_csrf_token_is_refused(stack, owned, site_app) -> None:
    browser = log_in(new_client(site_app), owned["owner"])
    no_token = browser.post(f"/sets/{owned['set']}/delete")
    wrong_token = browser.post(f"/sets/{owned['set']}/delete", data={"csrf_token": "guess"})
    assert no_token.status_code == wrong_token.status_code == 400
    assert "form expired" in no_token.text
    _assert_untouched(stack, owned)
    assert browser.post("/logout").status_code == 400
    assert browser.get("/dashboard").status_code == 200  # still logged in


def test_log_in_without_the_csrf_token_is_refused(client, make_dj) -> None:
    dj = make_dj()
    response = client.post("/login", data={"email": dj.email, "password": dj.password})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/privacy", "/terms", "/cookies"])
def test_every_page_carries_the_security_headers(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_pages_have_no_inline_scripts_or_styles(owned, site_app) -> None:
    browser = log_in(new_client(site_app), owned["owner"])
    for path in ("/dashboard", f"/sets/{owned['set']}", f"/playlists/{owned['playlist']}",
                 "/playlists/new", f"/sets/new?playlist={owned['playlist']}", "/signup"):  # fmt: skip
        html = browser.get(path).text
        assert "<script>" not in html and "<style" not in html, path
        assert " style=" not in html and "onclick" not in html.lower(), path


def test_hsts_is_sent_over_https(client) -> None:
    response = client.get("/login", base_url="https://aidjsets.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_track_titled_like_a_script_shows_as_text(stack, make_dj, site_app) -> None:
    dj = make_dj(display_name=SCRIPT)
    library = make_library(
        stack.service, dj.id, ((SCRIPT, f"DJ {SCRIPT}", 124.0, "8A", 5), ("Two", "B", 124, "8A", 5))
    )
    set_id = make_done_set(stack.service, dj.id, library)
    stack.service.update_item(
        "sets",
        set_id,
        {"title": SCRIPT, "description": SCRIPT, "notes": {"tags": [SCRIPT]}, "brief": SCRIPT},
    )
    stack.service.update_item(
        "playlists",
        library["playlist"],
        {"name": SCRIPT, "problems": [{"line": 3, "reason": SCRIPT, "path": SCRIPT}]},
    )
    browser = log_in(new_client(site_app), dj)
    for path in (f"/playlists/{library['playlist']}", f"/sets/{set_id}", "/dashboard"):
        html = browser.get(path).text
        assert SCRIPT not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    download = browser.get(f"/sets/{set_id}/download/rekordbox")
    assert SCRIPT not in download.text and "&lt;script&gt;" in download.text


@pytest.mark.parametrize(
    "target",
    ["//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com", "javascript:x"],
)
def test_log_in_never_sends_the_dj_to_another_site(client, make_dj, target) -> None:
    dj = make_dj()
    response = client.post(
        "/login",
        data={"email": dj.email, "password": dj.password, "next": target,
              "csrf_token": csrf(client)},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_log_in_returns_to_the_page_that_asked_for_it(stack, owned, client) -> None:
    path = f"/sets/{owned['set']}"
    assert client.get(path).headers["Location"] == f"/login?next={path}"
    response = client.post(
        "/login",
        data={"email": owned["owner"].email, "password": owned["owner"].password, "next": path,
              "csrf_token": csrf(client)},
    )  # fmt: skip
    assert response.headers["Location"] == path


def test_error_pages_and_status_answers_carry_the_headers_too(owned, site_app) -> None:
    browser = log_in(new_client(site_app), owned["owner"])
    for path in ("/no-such-page", f"/sets/{owned['set']}/status"):
        response = browser.get(path)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["Cache-Control"] == "no-store", path
