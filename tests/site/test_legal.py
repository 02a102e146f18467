"""Legal pages come from the current published version, sanitised, with version and date."""

from __future__ import annotations

import datetime as dt

import pytest

from service.legal import (
    LEGAL_SEEDS,
    current_document,
    publish_legal_documents,
    render_markdown,
)


def test_staff_markdown_cannot_carry_a_script() -> None:
    html = render_markdown(
        "# Terms\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) "
        '<img src=x onerror="alert(1)">\n\n- one\n- two'
    )
    assert "<h1>Terms</h1>" in html and "<li>one</li>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_the_seeded_privacy_policy_is_the_published_text() -> None:
    privacy = next(seed for seed in LEGAL_SEEDS if seed.slug == "privacy")
    assert (privacy.version, privacy.effective_date) == ("2024-12-28", "2024-12-28")
    text = privacy.file.read_text(encoding="utf-8")
    assert text.startswith("# Privacy Policy")
    assert "Our Service is not intended for children under 13 years of age." in text
    terms = next(seed for seed in LEGAL_SEEDS if seed.slug == "terms")
    assert "Short terms written by the AIDJSets team" in terms.file.read_text(encoding="utf-8")


@pytest.mark.stack
def test_publishing_twice_changes_nothing(stack) -> None:
    publish_legal_documents(stack.service)
    assert publish_legal_documents(stack.service) == []
    assert stack.service.count("legal_documents", {"slug": {"_eq": "privacy"}}) >= 1


@pytest.mark.stack
def test_the_privacy_page_shows_the_version_in_force(stack, client) -> None:
    publish_legal_documents(stack.service)
    in_force = current_document(stack.service, "privacy")
    page = client.get("/privacy")
    assert page.status_code == 200
    meta = f"version {in_force['version']} · in effect from {in_force['effective_date']}"
    assert meta in page.text

    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    future = stack.admin.create_item(
        "legal_documents",
        {"slug": "privacy", "title": "Privacy Policy", "version": "next", "status": "published",
         "effective_date": tomorrow, "body": "# Not yet"},
    )  # fmt: skip
    draft = stack.admin.create_item(
        "legal_documents",
        {"slug": "privacy", "title": "Privacy Policy", "version": "draft", "status": "draft",
         "effective_date": "2025-01-01", "body": "# Draft"},
    )  # fmt: skip
    try:
        page = client.get("/privacy")
        assert meta in page.text and "Not yet" not in page.text
        assert "Draft" not in page.text
    finally:
        stack.admin.delete_items("legal_documents", [future["id"], draft["id"]])


def test_the_seeded_privacy_policy_renders_with_its_sections() -> None:
    privacy = next(seed for seed in LEGAL_SEEDS if seed.slug == "privacy")
    html = render_markdown(privacy.file.read_text(encoding="utf-8"))
    assert html.count("<h2>") == 13
    assert "<li>Access: Request a copy of your personal data</li>" in html


@pytest.mark.stack
def test_the_cookie_notice_says_only_a_necessary_cookie_is_used(client) -> None:
    page = client.get("/cookies").text
    assert "strictly necessary" in page and "aidj_session" in page
    assert "No tracking" in client.get("/").text


def test_the_privacy_policy_in_force_describes_this_product() -> None:
    latest = max((s for s in LEGAL_SEEDS if s.slug == "privacy"), key=lambda s: s.effective_date)
    text = latest.file.read_text(encoding="utf-8")
    assert latest.version == "2026-11-29"
    for untrue in (
        "Privacy Shield",
        "Analyze website traffic",
        "Transform SDK",
        "[email protected]",
    ):
        assert untrue not in text
    for promise in ("aidj_session", "30 days", "7 days", "Paddle", "Gemini", "privacy@aidjsets.example.com",
                    "one-click unsubscribe"):  # fmt: skip
        assert promise in text
    assert render_markdown(text).count("<h2>") == 13


@pytest.mark.stack
def test_a_published_version_in_effect_is_immutable_and_stays_readable(stack, client) -> None:
    import requests

    publish_legal_documents(stack.service)
    old = next(d for d in stack.admin.list_items("legal_documents", filter={"slug": {"_eq": "privacy"},
               "version": {"_eq": "2024-12-28"}}, limit=1))  # fmt: skip
    url = f"{stack.settings.directus_url}/items/legal_documents/{old['id']}"
    for token in (stack.settings.admin_token, stack.settings.service_token):
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            requests.patch(
                url, json={"body": "# Rewritten"}, headers=headers, timeout=10
            ).status_code
            == 403
        )
        assert requests.delete(url, headers=headers, timeout=10).status_code == 403
    assert stack.admin.get_item("legal_documents", old["id"])["body"].startswith("# Privacy Policy")
    page = client.get("/privacy/versions")
    assert "Version 2024-12-28" in page.text and "until 2026-11-29" in page.text
    past = client.get("/privacy/versions/2024-12-28")
    assert past.status_code == 200 and "Privacy Shield" in past.text  # the old text, as it was
    assert client.get("/privacy/versions/nope").status_code == 404
