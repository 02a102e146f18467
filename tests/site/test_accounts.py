"""Accounts: sign-up with the age check and consent records, verification, log-in, log-out, reset."""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage

import pytest

from service import ledger
from service.integrations.directus import DirectusAuthError, DirectusError
from service.legal import current_document
from service.stack.access import role_id
from service.web import security
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


def _log_in(client, email: str, password: str):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf(client)}
    )


def test_a_new_dj_signs_up_verifies_and_logs_in_with_consents_recorded(
    stack, client, run_jobs
) -> None:
    form, response = _signup(client, marketing="yes", age_confirmed="", date_of_birth="2001-04-30")
    assert response.status_code == 200
    assert "Check your email" in response.text

    user = stack.service.list_items(
        "directus_users",
        filter={"email": {"_eq": form["email"]}},
        fields=["id", "status", "display_name", "age_confirmed", "marketing_opt_in", "role",
                "email_verified_at"],
    )[0]  # fmt: skip
    assert user["email_verified_at"] is None and user["role"] == role_id("DJ")
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

    # Not verified yet: the right password gets a plain "verify first" and a way to a new link.
    early = _log_in(client, form["email"], form["password"])
    assert early.status_code == 403
    assert "Verify your email address first" in early.text
    assert 'action="/verify-email/resend"' in early.text
    assert client.get("/dashboard").status_code == 302  # no session

    run_jobs()  # the verification mail job
    verify = _link(stack.mailbox.wait_for(form["email"]), "/verify-email")
    assert verify.startswith(stack.settings.site_url + "/verify-email?token=")
    page = client.get(verify.removeprefix(stack.settings.site_url))
    assert page.status_code == 200 and "verified" in page.text
    assert ledger.balance(stack.service, user["id"]) == 0  # no tokens before the first log-in

    response = _log_in(client, form["email"], form["password"])
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200 and "Hello Nova" in dashboard.text
    run_jobs()  # the sign-up grant the first verified log-in started
    assert ledger.balance(stack.service, user["id"]) == ledger.signup_grant_amount(stack.service)


def test_an_unverified_account_gets_no_sign_up_grant_and_no_session(
    stack, client, run_jobs
) -> None:
    form, _ = _signup(client)
    user_id = _user_id(stack, form["email"])
    assert _log_in(client, form["email"], form["password"]).status_code == 403
    run_jobs()
    assert ledger.balance(stack.service, user_id) == 0
    assert ledger.history(stack.service, user_id) == []


def _user_id(stack, email: str) -> str:
    return stack.service.list_items(
        "directus_users", filter={"email": {"_eq": email}}, fields=["id"]
    )[0]["id"]


def test_a_new_verification_link_can_be_asked_for_without_revealing_accounts(
    stack, client, run_jobs
) -> None:
    form, _ = _signup(client)
    run_jobs()
    first = _link(stack.mailbox.wait_for(form["email"]), "/verify-email")
    asked = client.post(
        "/verify-email/resend", data={"email": form["email"], "csrf_token": csrf(client)}
    )
    stranger = client.post(
        "/verify-email/resend", data={"email": "ghost@example.com", "csrf_token": csrf(client)}
    )
    assert asked.status_code == stranger.status_code == 200
    assert asked.text.replace(form["email"], "X") == stranger.text.replace("ghost@example.com", "X")
    run_jobs()
    mails = [m for m in stack.mailbox.messages if form["email"] in str(m["To"])]
    assert len(mails) == 2
    assert not [m for m in stack.mailbox.messages if "ghost@example.com" in str(m["To"])]
    # Both links work until the address is verified.
    assert client.get(first.removeprefix(stack.settings.site_url)).status_code == 200


def test_a_verification_link_for_an_address_since_changed_is_refused(
    stack, client, run_jobs
) -> None:
    form, _ = _signup(client)
    run_jobs()
    link = _link(stack.mailbox.wait_for(form["email"]), "/verify-email")
    user_id = _user_id(stack, form["email"])
    stack.service.update_item(
        "directus_users", user_id, {"email": f"moved-{secrets.token_hex(4)}@example.com"}
    )
    assert client.get(link.removeprefix(stack.settings.site_url)).status_code == 400
    assert stack.service.get_item("directus_users", user_id)["email_verified_at"] is None


def test_after_an_under_13_refusal_this_browser_must_give_a_date_of_birth(stack, client) -> None:
    _, refused = _signup(client, date_of_birth="2020-01-01", age_confirmed="")
    assert refused.status_code == 403
    assert 'name="age_confirmed"' not in client.get("/signup").text

    form, ticked = _signup(client, age_confirmed="yes", date_of_birth="")
    assert ticked.status_code == 400 and "Give your date of birth" in ticked.text
    assert (
        stack.service.list_items("directus_users", filter={"email": {"_eq": form["email"]}}) == []
    )
    _, adult = _signup(client, age_confirmed="", date_of_birth="1990-05-01")
    assert adult.status_code == 200
    with client.session_transaction() as session:  # what the browser keeps: a time, no person
        assert set(session) <= {"csrf", "age_refused_at"}


def test_nobody_can_sign_up_through_directus_itself(stack) -> None:
    email = f"bypass-{secrets.token_hex(4)}@example.com"
    with pytest.raises(DirectusError):
        stack.service.with_token(None).call(
            "POST",
            "/users/register",
            json={"email": email, "password": "a-long-password-1"},
            authenticated=False,
        )
    assert stack.service.list_items("directus_users", filter={"email": {"_eq": email}}) == []


def test_wrong_passwords_sent_to_directus_cannot_lock_a_dj_out(stack, client, make_dj) -> None:
    dj = make_dj()
    anonymous = stack.service.with_token(None)
    for _ in range(30):
        with pytest.raises(DirectusAuthError):
            anonymous.login(dj.email, "wrong-password-123")
    # Even the right password is refused there: only the site may log a DJ in.
    with pytest.raises(DirectusAuthError):
        anonymous.login(dj.email, dj.password)
    assert stack.service.get_item("directus_users", dj.id)["status"] == "active"
    assert _log_in(client, dj.email, dj.password).status_code == 302


def test_failed_log_ins_through_the_site_cannot_lock_a_dj_out(stack, site_app, make_dj) -> None:
    dj = make_dj()
    for _ in range(30):  # more than Directus's default 25 failed attempts
        assert _log_in(new_client(site_app), dj.email, "wrong-password-123").status_code == 401
    assert stack.service.get_item("directus_users", dj.id)["status"] == "active"
    assert _log_in(new_client(site_app), dj.email, dj.password).status_code == 302


def test_the_site_is_for_dj_accounts_only(stack, client) -> None:
    email, password = f"staff-{secrets.token_hex(4)}@example.com", "a-long-password-1"
    stack.admin.create_item(
        "directus_users",
        {"email": email, "password": password, "role": role_id("Staff"), "status": "active"},
    )
    response = _log_in(client, email, password)
    assert response.status_code == 401
    assert "do not match an active account" in response.text


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


def test_log_in_is_rate_limited_per_account_even_with_the_right_password(stack, make_dj) -> None:
    from service.web.app import create_app

    app = create_app(site_config(stack, RATE_LIMIT_LOGIN=3))
    dj = make_dj()
    for _ in range(3):  # from three addresses: the account's own limit still holds
        _log_in(new_client(app), dj.email, "wrong-wrong")
    blocked = _log_in(new_client(app), dj.email, dj.password)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many attempts" in blocked.text


def test_an_address_gets_more_attempts_than_one_account_but_not_unlimited(stack) -> None:
    from service.web.app import create_app

    app = create_app(site_config(stack, RATE_LIMIT_SIGNUP=2, RATE_LIMIT_ADDRESS_FACTOR=3))
    browser = new_client(app)
    statuses = [
        browser.post(
            "/signup", data={"email": f"x{n}@example.com", "csrf_token": csrf(browser)}
        ).status_code
        for n in range(7)
    ]
    assert statuses == [400] * 6 + [429]


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
    stack, client, make_dj, run_jobs
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
    run_jobs()
    assert not [m for m in stack.mailbox.messages if dj.email in str(m["To"])]  # verified already
