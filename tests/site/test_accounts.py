"""Accounts: sign-up with the age check and consent records, verification, log-in, log-out, reset."""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage

import pytest

from service.integrations.directus import DirectusError
from service.web import security
from service.web.site.legal import current_document
from tests.site.conftest import csrf, log_in, new_client, site_config

pytestmark = pytest.mark.stack

LINK = re.compile(r"https?://[^\s\"'<>]+")


def _link(message: EmailMessage, path: str) -> str:
    body = message.get_body(preferencelist=("html", "plain")).get_content()
    for url in LINK.findall(body):
        url = url.replace("&amp;", "&")
        if path in url:
            return url
    raise AssertionError(f"no {path} link in the mail: {body[:500]}")


def _signup(client, **fields):
    form = {
        "display_name": "Nova",
        "email": f"nova-{secrets.token_hex(4)}@example.com",
        "password": "a-long-password-1",
        "age_confirmed": "yes",
        "accept_terms": "yes",
        "csrf_token": csrf(client),
    }
    form.update(fields)
    return form, client.post("/signup", data=form)


def test_a_new_dj_signs_up_verifies_and_logs_in_with_consents_recorded(stack, client) -> None:
    form, response = _signup(client, marketing="yes", age_confirmed="", date_of_birth="2001-04-30")
    assert response.status_code == 200
    assert "Check your email" in response.text

    user = stack.service.list_items(
        "directus_users",
        filter={"email": {"_eq": form["email"]}},
        fields=["id", "status", "display_name", "age_confirmed", "marketing_opt_in"],
    )[0]
    assert user["status"] == "unverified"
    assert user["display_name"] == "Nova" and user["age_confirmed"] and user["marketing_opt_in"]
    consents = stack.service.list_items(
        "consent_records", filter={"user": {"_eq": user["id"]}}, fields=["*"], sort=["id"]
    )
    by_purpose = {c["purpose"]: c for c in consents}
    assert set(by_purpose) == {"terms", "privacy_policy", "marketing_email"}
    assert by_purpose["privacy_policy"]["legal_basis"] == "contract"
    # The versions in force when the DJ signed up (other tests may publish newer ones).
    for purpose, slug in (("privacy_policy", "privacy"), ("terms", "terms")):
        document = current_document(stack.service, slug)
        assert by_purpose[purpose]["document"] == document["id"]
        assert by_purpose[purpose]["document_version"] == document["version"]
    assert by_purpose["terms"]["legal_basis"] == "contract"
    assert by_purpose["marketing_email"]["legal_basis"] == "consent"
    assert all(c["granted"] and c["source"] == "signup" and c["date_created"] for c in consents)

    # Not verified yet: log-in fails with the generic message.
    early = client.post(
        "/login",
        data={"email": form["email"], "password": form["password"], "csrf_token": csrf(client)},
    )
    assert early.status_code == 401

    verify = _link(stack.mailbox.wait_for(form["email"]), "/verify-email")
    assert verify.startswith(stack.settings.site_url + "/verify-email?token=")
    page = client.get(verify.removeprefix(stack.settings.site_url))
    assert page.status_code == 200 and "verified" in page.text

    response = client.post(
        "/login",
        data={"email": form["email"], "password": form["password"], "csrf_token": csrf(client)},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200 and "Hello Nova" in dashboard.text


def test_marketing_email_is_not_consented_unless_ticked(stack, client) -> None:
    form, response = _signup(client)
    assert response.status_code == 200
    user = stack.service.list_items(
        "directus_users",
        filter={"email": {"_eq": form["email"]}},
        fields=["id", "marketing_opt_in"],
    )[0]
    purposes = {
        c["purpose"]
        for c in stack.service.list_items("consent_records", filter={"user": {"_eq": user["id"]}})
    }
    assert purposes == {"terms", "privacy_policy"}
    assert user["marketing_opt_in"] is False


def test_a_child_under_13_is_refused_and_nothing_about_them_is_stored(stack, client) -> None:
    email = f"kid-{secrets.token_hex(4)}@example.com"
    birth = "2020-01-01"
    _, response = _signup(client, email=email, date_of_birth=birth, age_confirmed="yes")
    assert response.status_code == 403
    assert "13 or older" in response.text
    assert email not in response.text and birth not in response.text
    assert stack.service.list_items("directus_users", filter={"email": {"_eq": email}}) == []
    assert not [m for m in stack.mailbox.messages if email in str(m["To"])]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"accept_terms": ""}, "accept the terms"),
        ({"age_confirmed": ""}, "13 or older"),
        ({"email": "not-an-email"}, "Enter an email address"),
        ({"password": "short"}, "at least 10 characters"),
        ({"display_name": "  "}, "Choose the name"),
    ],
)
def test_an_incomplete_sign_up_says_what_is_missing_and_registers_nobody(
    stack, client, fields, message
) -> None:
    form, response = _signup(client, **fields)
    assert response.status_code == 400
    assert message in response.text
    assert form["password"] not in response.text or form["password"] == "short"
    assert (
        stack.service.list_items("directus_users", filter={"email": {"_eq": form["email"]}}) == []
    )


def test_log_in_failures_do_not_reveal_whether_an_email_has_an_account(client, make_dj) -> None:
    dj = make_dj()
    wrong_password = client.post(
        "/login", data={"email": dj.email, "password": "nope-nope-nope", "csrf_token": csrf(client)}
    )
    unknown = client.post(
        "/login",
        data={
            "email": "nobody@example.com",
            "password": "nope-nope-nope",
            "csrf_token": csrf(client),
        },
    )
    assert wrong_password.status_code == unknown.status_code == 401
    main = re.compile(r"<main.*</main>", re.S)
    assert main.search(wrong_password.text).group(0).replace(dj.email, "X") == main.search(
        unknown.text
    ).group(0).replace("nobody@example.com", "X")


def test_log_in_is_rate_limited_per_address_even_with_the_right_password(stack, make_dj) -> None:
    from service.web.app import create_app

    app = create_app(site_config(stack, RATE_LIMIT_LOGIN=3))
    browser = new_client(app)
    dj = make_dj()
    for _ in range(3):
        browser.post(
            "/login",
            data={"email": dj.email, "password": "wrong-wrong", "csrf_token": csrf(browser)},
        )
    blocked = browser.post(
        "/login", data={"email": dj.email, "password": dj.password, "csrf_token": csrf(browser)}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many attempts" in blocked.text


def test_sign_up_is_rate_limited_per_address(stack) -> None:
    from service.web.app import create_app

    app = create_app(site_config(stack, RATE_LIMIT_SIGNUP=2))
    browser = new_client(app)
    statuses = [
        browser.post("/signup", data={"csrf_token": csrf(browser)}).status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_reset_requests_are_rate_limited_per_email(stack, make_dj) -> None:
    from service.web.app import create_app

    app = create_app(site_config(stack, RATE_LIMIT_RESET=2))
    dj = make_dj()
    statuses = []
    for _ in range(3):
        browser = new_client(app)  # a new address each time: the email's own limit still holds
        statuses.append(
            browser.post(
                "/forgot-password", data={"email": dj.email, "csrf_token": csrf(browser)}
            ).status_code
        )
    assert statuses == [200, 200, 429]


def test_logging_out_ends_the_session_here_and_in_directus(stack, site_app, dj_client) -> None:
    _, browser = dj_client
    with browser.session_transaction() as session:
        sid = session["sid"]
    record = site_app.extensions["redis"].get(security.SESSION_PREFIX + sid)
    refresh_token = __import__("json").loads(record)["refresh_token"]

    response = browser.post("/logout", data={"csrf_token": csrf(browser)})
    assert response.status_code == 302
    assert site_app.extensions["redis"].get(security.SESSION_PREFIX + sid) is None
    assert browser.get("/dashboard").status_code == 302
    with pytest.raises(DirectusError):
        stack.service.with_token(None).refresh(refresh_token)


def test_logging_in_starts_a_fresh_session_id(site_app, make_dj) -> None:
    dj = make_dj()
    browser = new_client(site_app)
    with browser.session_transaction() as session:
        session["sid"] = "planted-by-an-attacker"
    log_in(browser, dj)
    with browser.session_transaction() as session:
        assert session["sid"] != "planted-by-an-attacker"


def test_the_session_cookie_is_http_only_and_same_site_lax(site_app, make_dj) -> None:
    browser = new_client(site_app)
    dj = make_dj()
    response = browser.post(
        "/login", data={"email": dj.email, "password": dj.password, "csrf_token": csrf(browser)}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over http in tests


def test_the_session_cookie_is_secure_when_the_site_is_served_over_https(stack, make_dj) -> None:
    from service.web.app import create_app

    app = create_app(site_config(stack, SITE_URL="https://aidjsets.example.com"))
    browser = new_client(app)
    dj = make_dj()
    page = browser.get("/login", base_url="https://aidjsets.example.com")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = browser.post(
        "/login",
        data={"email": dj.email, "password": dj.password, "csrf_token": token},
        base_url="https://aidjsets.example.com",
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_forgotten_password_is_reset_through_the_mailed_link(
    stack, site_app, client, make_dj
) -> None:
    dj = make_dj()
    elsewhere = log_in(new_client(site_app), dj)  # e.g. a laptop left logged in
    assert elsewhere.get("/dashboard").status_code == 200
    response = client.post("/forgot-password", data={"email": dj.email, "csrf_token": csrf(client)})
    unknown = client.post(
        "/forgot-password", data={"email": "ghost@example.com", "csrf_token": csrf(client)}
    )
    assert response.status_code == unknown.status_code == 200
    assert "If an account uses this address" in response.text
    assert "If an account uses this address" in unknown.text

    link = _link(stack.mailbox.wait_for(dj.email), "/reset-password")
    assert link.startswith(stack.settings.site_url + "/reset-password?token=")
    token = link.split("token=", 1)[1]
    form = client.get(link.removeprefix(stack.settings.site_url))
    assert form.status_code == 200 and 'name="password_again"' in form.text
    new_password = "a-brand-new-password"
    done = client.post(
        "/reset-password",
        data={"token": token, "password": new_password, "password_again": new_password,
              "csrf_token": csrf(client)},
    )  # fmt: skip
    assert done.status_code == 302

    old = client.post(
        "/login", data={"email": dj.email, "password": dj.password, "csrf_token": csrf(client)}
    )
    assert old.status_code == 401
    assert elsewhere.get("/dashboard").status_code == 302  # logged out everywhere
    dj.password = new_password
    log_in(client, dj)
    assert not [m for m in stack.mailbox.messages if "ghost@example.com" in str(m["To"])]


def test_a_used_or_forged_reset_token_is_refused(client) -> None:
    response = client.post(
        "/reset-password",
        data={"token": "forged", "password": "a-long-password", "password_again": "a-long-password",
              "csrf_token": csrf(client)},
    )  # fmt: skip
    assert response.status_code == 400
    assert "expired or was already used" in response.text


def test_a_forged_verification_token_is_refused(client) -> None:
    response = client.get("/verify-email?token=forged")
    assert response.status_code == 400
    assert "did not work" in response.text


def test_signing_up_again_with_a_taken_email_changes_nothing_and_says_the_same(
    stack, client, make_dj
) -> None:
    dj = make_dj(display_name="Original")
    _, response = _signup(client, email=dj.email, display_name="Impostor", marketing="yes")
    assert response.status_code == 200
    assert "Check your email" in response.text
    user = stack.service.get_item(
        "directus_users", dj.id, fields=["display_name", "marketing_opt_in"]
    )
    assert user == {"display_name": "Original", "marketing_opt_in": False}
    assert stack.service.count("consent_records", filter={"user": {"_eq": dj.id}}) == 0
