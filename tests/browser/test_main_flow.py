"""A DJ's whole journey in a real browser, keyboard-only use, and labelled forms."""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

from service import ledger
from service.dj.timeline import DEFAULT_OVERLAP_S as OVERLAP_S
from service.stack.access import role_id
from service.stack.demo import DEMO_TRACKS, write_demo_library
from service.web.site.legal import current_document
from tests.browser.conftest import screenshot
from tests.site.conftest import make_library

pytestmark = [pytest.mark.stack, pytest.mark.browser]

LINK = re.compile(r"https?://[^\s\"'<>]+")


def _mailed_link(message, path: str) -> str:
    body = message.get_body(preferencelist=("html", "plain")).get_content()
    return next(u.replace("&amp;", "&") for u in LINK.findall(body) if path in u)


def _active_dj(stack, tokens: int = 3) -> tuple[str, str, str]:
    email, password = f"kb-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    user = stack.service.create_item(
        "directus_users",
        {"email": email, "password": password, "role": role_id("DJ"), "status": "active",
         "display_name": "Keys", "email_verified_at": "2026-01-01T00:00:00Z"},
    )  # fmt: skip
    ledger.grant(stack.service, user["id"], tokens, ledger.signup_reference(user["id"]))
    return user["id"], email, password


def test_sign_up_verify_upload_build_and_download_a_set(stack, site_url, page, tmp_path) -> None:
    """The first hour: sign up, read the caught mail, verify, log in, say where the music lives,
    upload a playlist of climbing relative paths with full-length audio, build a 60-minute set and
    download Rekordbox XML whose locations are absolute under that music folder."""
    email, password = f"flow-{secrets.token_hex(4)}@example.com", "a-long-password-1"

    page.goto(f"{site_url}/signup")
    screenshot(page, "01-signup")
    page.get_by_label("Display name").fill("Browser DJ")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password (at least 10 characters)").fill(password)
    page.get_by_label("I am 13 or older").check()
    page.get_by_label(re.compile("I accept the")).check()
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    verify = _mailed_link(stack.mailbox.wait_for(email, timeout_s=30), "/verify-email")
    page.goto(verify)
    page.get_by_role("heading", name="Your email is verified").wait_for()

    page.goto(f"{site_url}/login")
    screenshot(page, "02-login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Hello Browser DJ").wait_for()
    # The sign-up grant arrives through the Directus hook and a worker.
    for _ in range(60):
        if page.get_by_test_id("balance").inner_text() != "0":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert int(page.get_by_test_id("balance").inner_text()) >= 1
    screenshot(page, "03-dashboard")

    # Where this DJ's music lives on their Mac: downloads place the playlist's names under it.
    page.get_by_role("link", name="Profile", exact=True).click()
    page.get_by_label("Music folder on your Mac").fill("/Users/browser-dj/Music")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()

    # A playlist exported beside the music folder names its files with climbing relative paths.
    audio, playlist_file = write_demo_library(tmp_path / "Music", entry_prefix="../Music/")
    assert "../Music/" in playlist_file.read_text()
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label(re.compile("^Playlist file")).set_input_files(str(playlist_file))
    page.get_by_label(re.compile("^Audio files")).set_input_files([str(p) for p in audio])
    screenshot(page, "04-upload")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/playlists/[0-9a-f-]{36}$"), timeout=120_000)
    build = page.get_by_role("link", name="Build a set from this playlist")
    build.wait_for(timeout=120_000)  # status.js reloads the page when the import is done
    assert f"{len(DEMO_TRACKS)} of {len(DEMO_TRACKS)} entries matched" in page.content()
    screenshot(page, "05-playlist")

    build.click()
    assert "This set costs" in page.get_by_test_id("price").inner_text()
    page.get_by_label(re.compile("^Target length in minutes")).fill("60")
    page.get_by_label("Energy arc").select_option("build")
    page.get_by_label(re.compile("^Brief")).fill("Deep start, <b>techno</b> finish")
    screenshot(page, "06-new-set")
    page.get_by_role("button", name=re.compile("^Build the set for")).click()
    page.wait_for_url(re.compile(r"/sets/[0-9a-f-]{36}$"))
    page.get_by_role("heading", name="Download").wait_for(timeout=90_000)
    played = page.locator("li.track").count()
    assert 9 <= played < len(DEMO_TRACKS)  # chosen to fill the hour, not every track
    assert page.locator(".badge").count() == played - 1
    assert page.locator("svg.energy-chart circle.point").count() == played
    assert "Deep start, <b>techno</b> finish" in page.locator(".brief").inner_text()
    assert "/Users/browser-dj/Music" in page.content() and "relocate" not in page.content()
    screenshot(page, "07-set")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Rekordbox XML").click()
    saved = Path(download_info.value.path())
    root = ET.parse(saved).getroot()
    assert root.tag == "DJ_PLAYLISTS"
    tracks = list(root.find("COLLECTION"))
    by_title = {t.title: t for t in DEMO_TRACKS}
    assert len(tracks) == played
    for element in tracks:
        spec = by_title[element.get("Name")]
        expected = "file://localhost/Users/browser-dj/Music/" + quote(spec.filename)
        assert element.get("Location") == expected
    seconds = [float(t.get("TotalTime")) for t in tracks]
    mixed_minutes = (sum(seconds) - OVERLAP_S * (len(seconds) - 1)) / 60
    assert 57 <= mixed_minutes <= 63, mixed_minutes
    playlist_node = root.find("PLAYLISTS").find("NODE").find("NODE")
    assert int(playlist_node.get("Entries")) == played

    # Every transition's preview renders by itself (status.js reloads the page when it is done),
    # and plays in the page: the browser reads its length through a range request.
    previews = page.locator("figure.preview audio")
    previews.first.wait_for(timeout=240_000)
    assert previews.count() == played - 1
    assert page.locator("figure.preview svg.waveform").count() == played - 1
    seconds = previews.first.evaluate(
        """audio => new Promise((done, failed) => {
            audio.addEventListener("loadedmetadata", () => done(audio.duration));
            audio.addEventListener("error", () => failed(String(audio.error && audio.error.code)));
            audio.preload = "metadata";
            audio.load();
        })"""
    )
    assert 30 <= seconds <= 60, seconds
    screenshot(page, "07-set-previews")
    assert page.csp_errors == []


def test_the_main_flow_works_with_the_keyboard_alone(stack, site_url, page) -> None:
    owner, email, password = _active_dj(stack)
    library = make_library(stack.service, owner)

    page.goto(f"{site_url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    def tab_to(text: str, limit: int = 25) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            label = page.evaluate(
                "(() => { const e = document.activeElement;"
                " return (e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent)"
                ".trim(); })()"
            )
            if label.startswith(text):
                return
        raise AssertionError(f"Tab never reached {text!r}")

    tab_to("Log in")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/login"))
    tab_to("Email")
    page.keyboard.type(email)
    tab_to("Password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Hello Keys").wait_for()

    page.goto(f"{site_url}/playlists/{library['playlist']}")
    tab_to("Build a set from this playlist")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/sets/new"))
    tab_to("Energy arc")
    page.keyboard.press("End")  # last arc in the list
    tab_to("Lowest BPM")
    page.keyboard.type("100")
    page.keyboard.press("Enter")  # Enter in a field reviews the set: nothing is spent yet
    page.get_by_role("heading", name="Build this set?").wait_for()
    assert stack.service.count("sets", {"owner": {"_eq": owner}}) == 0
    tab_to("Build the set for")
    focus_visible = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus_visible != "none"
    screenshot(page, "08-keyboard-focus")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sets/[0-9a-f-]{36}$"))
    assert stack.service.count("sets", {"owner": {"_eq": owner}}) == 1


def test_every_form_field_has_a_label(stack, site_url, page) -> None:
    owner, email, password = _active_dj(stack)
    library = make_library(stack.service, owner)
    unlabelled_js = (
        "Array.from(document.querySelectorAll('input, select, textarea'))"
        ".filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)"
        " && !e.getAttribute('aria-label')).map(e => e.name || e.id)"
    )
    for path in (
        "/signup",
        "/login",
        "/forgot-password",
        "/reset-password?token=x",
        "/privacy/request",
    ):
        page.goto(f"{site_url}{path}")
        assert page.evaluate(unlabelled_js) == [], path
    page.goto(f"{site_url}/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Hello Keys").wait_for()
    for path in ("/playlists/new", f"/sets/new?playlist={library['playlist']}", "/account/privacy",
                 f"/tracks/{library['tracks'][0]}/edit"):  # fmt: skip
        page.goto(f"{site_url}{path}")
        assert page.evaluate(unlabelled_js) == [], path
    page.goto(f"{site_url}/privacy")
    in_force = current_document(stack.service, "privacy")["version"]
    assert f"version {in_force}" in page.inner_text(".legal-meta")
    screenshot(page, "09-privacy")
