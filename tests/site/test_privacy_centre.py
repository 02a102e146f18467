"""The privacy centre on the site: a DJ can take their data away, delete their account and change
their mind, ask without logging in through a single-use emailed link, and stop marketing mail with
one click."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from service import privacy
from service.jobs.privacy import staff_action
from service.privacy import links
from service.privacy.marketing import marketing_mail, recipients
from tests.site.conftest import csrf, log_in, make_library, new_client, worker_environment

pytestmark = pytest.mark.stack


def _link(message, path: str) -> str:
    body = message.get_body(("plain",)).get_content()
    found = re.search(rf"https?://[^\s]+({re.escape(path)}[^\s]*)", body)
    assert found, body
    return found.group(1)


def _token(path: str) -> str:
    return path.split("token=", 1)[1]


def test_a_dj_can_download_their_data_from_the_privacy_centre(
    stack, site_app, dj_client, run_jobs
) -> None:
    dj, browser = dj_client
    make_library(stack.service, dj.id)
    page = browser.get("/account/privacy")
    assert page.status_code == 200 and "Get a copy of your data" in page.text

    wrong = browser.post("/account/privacy/requests",
                         data={"kind": "access", "password": "not-it", "csrf_token": csrf(browser)})  # fmt: skip
    assert wrong.status_code == 403
    assert privacy.requests_of(stack.service, dj.id) == []  # an unverified request does nothing

    asked = browser.post("/account/privacy/requests",
                         data={"kind": "access", "password": dj.password, "csrf_token": csrf(browser)})  # fmt: skip
    assert asked.status_code == 303
    (req,) = privacy.requests_of(stack.service, dj.id)
    assert req["state"] == "verified" and req["verified_by"] == "password"
    assert browser.get(f"/account/privacy/requests/{req['id']}/status").json["status"] == "queued"
    assert "progress" in browser.get("/account/privacy").text

    run_jobs()
    done = privacy.get_request(stack.service, req["id"])
    assert done["state"] == "complete" and done["progress"] == 100 and done["export_file"]
    mail = stack.mailbox.wait_for(dj.email, subject_contains="ready to download")
    path = _link(mail, "/privacy/exports/")
    download = browser.get(path)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        assert "manifest.json" in archive.namelist() and "tracks.json" in archive.namelist()
    assert browser.get(path[:-3] + "abc").status_code == 404  # a tampered link
    stranger = log_in(new_client(site_app), _other_dj(stack, site_app))
    assert stranger.get(path).status_code == 404


def _other_dj(stack, site_app):
    import secrets

    from service import ledger
    from service.stack.access import role_id
    from tests.site.conftest import DJ

    email, password = f"dj-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(12)
    user = stack.service.create_item("directus_users", {
        "email": email, "password": password, "role": role_id("DJ"), "status": "active",
        "email_verified_at": "2026-01-01T00:00:00Z"})  # fmt: skip
    ledger.grant(stack.service, user["id"], 3, ledger.signup_reference(user["id"]))
    return DJ(user["id"], email, password)


def test_a_deleted_account_is_locked_until_the_dj_cancels_from_the_email(
    stack, site_app, dj_client, run_jobs
) -> None:
    dj, browser = dj_client
    import json as _json

    from service.web.security import SESSION_PREFIX

    site_redis = site_app.extensions["redis"]
    with browser.session_transaction() as cookie:
        record = _json.loads(site_redis.get(SESSION_PREFIX + cookie["sid"]))
    refused = browser.post("/account/privacy/requests",
                           data={"kind": "deletion", "password": dj.password, "csrf_token": csrf(browser)})  # fmt: skip
    assert refused.status_code == 400  # the confirmation box was not ticked
    gone = browser.post("/account/privacy/requests",
                        data={"kind": "deletion", "confirm": "yes", "password": dj.password,
                              "csrf_token": csrf(browser)})  # fmt: skip
    assert gone.status_code == 303 and gone.headers["Location"].startswith("/login")
    assert browser.get("/dashboard").status_code == 302  # logged out
    from service.integrations.directus import DirectusError

    with pytest.raises(DirectusError):  # the Directus session behind the site's is revoked too
        stack.service.with_token(None).refresh(record["refresh_token"])
    again = new_client(site_app)
    assert again.post("/login", data={"email": dj.email, "password": dj.password,
                                      "csrf_token": csrf(again)}).status_code == 401  # fmt: skip
    user = stack.service.get_item(
        "directus_users", dj.id, fields=["status", "deletion_requested_at"]
    )
    assert user["status"] == "suspended" and user["deletion_requested_at"]

    run_jobs()
    path = _link(
        stack.mailbox.wait_for(dj.email, subject_contains="will be deleted"),
        "/privacy/cancel-deletion",
    )
    visitor = new_client(site_app)
    assert (
        visitor.get(path).status_code == 200
    )  # a page with a button: opening the link does nothing
    assert (
        stack.service.get_item("directus_users", dj.id, fields=["status"])["status"] == "suspended"
    )
    restored = visitor.post(
        "/privacy/cancel-deletion", data={"token": _token(path), "csrf_token": csrf(visitor)}
    )
    assert restored.status_code == 303
    log_in(new_client(site_app), dj)
    reused = visitor.post(
        "/privacy/cancel-deletion", data={"token": _token(path), "csrf_token": csrf(visitor)}
    )
    assert reused.status_code == 400
    trail = stack.admin.list_items("audit_log", filter={"request": {"_nnull": True},
                                   "subject": {"_eq": privacy.pseudonym(site_app.config["SECRET_KEY"], dj.id)}},
                                   sort=["id"], limit=-1)  # fmt: skip
    assert [t["action"] for t in trail] == ["privacy_request.received", "privacy_request.verified",
                                            "privacy_request.in_progress", "privacy_request.cancelled"]  # fmt: skip


def test_a_request_by_email_runs_only_through_its_single_use_link(
    stack, site_app, make_dj, run_jobs, monkeypatch
) -> None:
    dj = make_dj(marketing_opt_in=True)
    visitor = new_client(site_app)
    answer = visitor.post(
        "/privacy/request",
        data={"email": dj.email, "kind": "objection", "csrf_token": csrf(visitor)},
    )
    unknown = visitor.post("/privacy/request",
                           data={"email": "nobody-here@example.com", "kind": "objection", "csrf_token": csrf(visitor)})  # fmt: skip
    assert answer.status_code == unknown.status_code == 200 and answer.text == unknown.text
    (req,) = privacy.requests_of(stack.service, dj.id)
    assert req["state"] == "received"

    run_jobs()
    path = _link(
        stack.mailbox.wait_for(dj.email, subject_contains="Confirm your privacy request"),
        "/privacy/confirm",
    )
    token = _token(path)
    monkeypatch.setitem(links._TTLS, "confirm", -1)
    expired = visitor.post("/privacy/confirm", data={"token": token, "csrf_token": csrf(visitor)})
    assert expired.status_code == 400
    assert (
        privacy.get_request(stack.service, req["id"])["state"] == "received"
    )  # unverified: nothing ran
    monkeypatch.setitem(links._TTLS, "confirm", links.CONFIRM_TTL_S)

    ok = visitor.post("/privacy/confirm", data={"token": token, "csrf_token": csrf(visitor)})
    assert ok.status_code == 200
    done = privacy.get_request(stack.service, req["id"])
    assert done["state"] == "complete" and done["verified_by"] == "email_link"
    assert not stack.service.get_item("directus_users", dj.id, fields=["marketing_opt_in"])[
        "marketing_opt_in"
    ]
    reused = visitor.post("/privacy/confirm", data={"token": token, "csrf_token": csrf(visitor)})
    assert reused.status_code == 400


def test_a_withdrawn_marketing_consent_stops_marketing_mail(stack, site_app, make_dj) -> None:
    dj = make_dj(marketing_opt_in=True)
    config = dict(site_app.config)
    assert dj.id in {u["id"] for u in recipients(stack.service)}
    mail = marketing_mail(config, {"id": dj.id, "email": dj.email}, "News", "New arcs are out.")
    from service.integrations.mail.client import build_message

    headers = build_message(mail, "AIDJSets <news@example.com>")
    assert headers["List-Unsubscribe"].startswith("<http") and headers["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click")  # fmt: skip
    url = mail.unsubscribe_url.split("://", 1)[1].split("/", 1)[1]

    logged_out = (
        site_app.test_client()
    )  # a mail provider's one-click POST: no session, no CSRF token
    forged = logged_out.post(
        "/unsubscribe?token=" + links.make("someone-elses-key", "unsubscribe", dj.id)
    )
    assert forged.status_code == 400
    assert dj.id in {u["id"] for u in recipients(stack.service)}
    assert logged_out.post("/" + url).status_code == 200
    assert dj.id not in {u["id"] for u in recipients(stack.service)}
    withdrawn = stack.service.list_items("consent_records", filter={"user": {"_eq": dj.id},
                                         "purpose": {"_eq": "marketing_email"}}, limit=-1)  # fmt: skip
    assert [(c["granted"], c["source"], c["legal_basis"]) for c in withdrawn] == [
        (False, "unsubscribe_link", "consent")
    ]


def test_the_dj_changes_marketing_and_profile_and_sees_the_consent_history(
    stack, site_app, dj_client
) -> None:
    dj, browser = dj_client
    assert (
        browser.post(
            "/account/privacy/marketing", data={"marketing": "yes", "csrf_token": csrf(browser)}
        ).status_code
        == 303
    )
    assert (
        browser.post(
            "/account/privacy/marketing", data={"marketing": "no", "csrf_token": csrf(browser)}
        ).status_code
        == 303
    )
    page = browser.get("/account/privacy").text
    assert page.count("marketing email") == 2 and "withdrawn" in page and "given" in page
    renamed = browser.post("/account/privacy/profile", data={"display_name": "DJ Renamed", "email": dj.email,
                                                              "csrf_token": csrf(browser)})  # fmt: skip
    assert renamed.status_code == 303
    assert (
        stack.service.get_item("directus_users", dj.id, fields=["display_name"])["display_name"]
        == "DJ Renamed"
    )


def test_staff_rejecting_a_request_mails_the_reason(stack, site_app, make_dj, monkeypatch) -> None:
    for name, value in worker_environment(site_app).items():
        monkeypatch.setenv(name, value)
    dj = make_dj()
    secret = str(site_app.config["SECRET_KEY"])
    req = privacy.open_request(stack.service, secret, dj.id, "correction")
    # Staff in the Studio: a plain update of the row, as Directus makes it.
    stack.admin.update_item(
        "privacy_requests", req["id"], {"state": "rejected", "reason": "We hold no such record."}
    )
    assert staff_action(req["id"]) == "sent"  # the Studio's change is forwarded to this job
    mail = stack.mailbox.wait_for(dj.email, subject_contains="About your privacy request")
    assert "We hold no such record." in mail.get_body(("plain",)).get_content()
    trail = stack.admin.list_items(
        "audit_log", filter={"request": {"_eq": req["id"]}}, sort=["id"], limit=-1
    )
    assert [e["action"] for e in trail] == ["privacy_request.received", "privacy_request.rejected"]
    staff_action(req["id"])  # a repeated delivery records nothing twice
    assert stack.admin.count("audit_log", {"request": {"_eq": req["id"]}}) == 2


def test_a_corrected_track_value_gets_source_dj_and_wins_over_tags(
    stack, site_app, dj_client
) -> None:
    dj, browser = dj_client
    library = make_library(stack.service, dj.id)
    track_id = library["tracks"][0]
    assert browser.get(f"/tracks/{track_id}/edit").status_code == 200
    bad = browser.post(f"/tracks/{track_id}/edit", data={"title": "First Light", "key": "H#", "bpm": "999",
                                                         "csrf_token": csrf(browser)})  # fmt: skip
    assert bad.status_code == 400
    saved = browser.post(f"/tracks/{track_id}/edit", data={
        "artist": "Lumen Drift", "title": "First Light", "bpm": "124", "key": "E minor", "energy": "5",
        "genre": "Deep House", "label": "Night Shift", "csrf_token": csrf(browser)})  # fmt: skip
    assert saved.status_code == 303
    track = stack.service.get_item(
        "tracks", track_id, fields=["bpm", "key", "energy", "genre", "label", "sources"]
    )
    assert (track["bpm"], track["key"], track["energy"], track["genre"]) == (
        124,
        "9A",
        5,
        "Deep House",
    )
    assert {track["sources"][n] for n in ("bpm", "key", "energy", "genre", "label")} == {"dj"}

    from service.jobs.ingest import _merge_changes

    # A re-import with the file's tags fills gaps only: the DJ's values stay.
    assert (
        _merge_changes(track, {"bpm": 122.0, "key": "3A", "sources": {"bpm": "tag", "key": "tag"}})
        == {}
    )


def test_a_material_change_is_mailed_once_to_every_dj_and_accepted_at_next_log_in(
    stack, site_app, make_dj, monkeypatch
) -> None:
    import datetime as dt
    import secrets

    from service.jobs import legal

    for name, value in worker_environment(site_app).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEGAL_MAIL_RATE_PER_S", "1000")
    dj = make_dj()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    changed = stack.admin.create_item("legal_documents", {
        "slug": "terms", "title": "Terms of Service", "version": f"mc-{secrets.token_hex(3)}", "status": "published",
        "effective_date": today, "material_change": True, "body": "# Terms\n\nChanged terms."})  # fmt: skip
    try:
        assert legal.run(str(changed["id"])).startswith("mailed")
        stack.mailbox.wait_for(dj.email, subject_contains="We changed our terms of service")
        assert legal.run(str(changed["id"])) == "mailed 0"  # a retry mails nobody twice
        assert stack.admin.get_item("legal_documents", changed["id"])["notice_progress"] == 100

        browser = new_client(site_app)
        login = browser.post(
            "/login", data={"email": dj.email, "password": dj.password, "csrf_token": csrf(browser)}
        )
        assert login.headers["Location"].startswith("/account/accept")
        assert browser.get("/dashboard").headers["Location"].startswith("/account/accept")
        assert browser.get("/terms").status_code == 200  # the texts stay readable
        accepted = browser.post("/account/accept", data={"csrf_token": csrf(browser)})
        assert accepted.status_code == 303
        assert browser.get("/dashboard").status_code == 200
        (record,) = stack.service.list_items("consent_records", filter={"user": {"_eq": dj.id},
                                             "source": {"_eq": "reacceptance"}}, limit=-1)  # fmt: skip
        assert (record["document"], record["document_version"], record["granted"]) == (
            changed["id"], changed["version"], True)  # fmt: skip
    finally:
        # Supersede it, so that other tests' DJs are not asked to accept it.
        seed = next(s for s in legal_seeds() if s.slug == "terms")
        stack.admin.create_item("legal_documents", {
            "slug": "terms", "title": seed.title, "version": f"{seed.version}-again-{secrets.token_hex(2)}",
            "status": "published", "effective_date": today, "body": seed.file.read_text(encoding="utf-8")})  # fmt: skip


def legal_seeds():
    from service.legal import LEGAL_SEEDS

    return LEGAL_SEEDS
