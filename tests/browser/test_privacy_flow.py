"""The privacy centre in a real browser: a DJ takes their data away as a zip, deletes their account,
is locked out, and restores it from the mailed link within the grace period."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_main_flow import _active_dj, _mailed_link
from tests.site.conftest import make_library

pytestmark = [pytest.mark.stack, pytest.mark.browser]


def _log_in(page, site_url: str, email: str, password: str) -> None:
    page.goto(f"{site_url}/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def test_export_download_then_delete_and_restore_from_the_email(stack, site_url, page) -> None:
    user_id, email, password = _active_dj(stack)
    make_library(stack.service, user_id)
    _log_in(page, site_url, email, password)
    page.get_by_role("heading", name="Hello Keys").wait_for()

    page.get_by_role("link", name="Privacy", exact=True).click()
    page.get_by_role("heading", name="Your privacy centre").wait_for()
    page.locator("#export-password").fill(password)
    page.get_by_role("button", name="Prepare my data").click()
    download_link = page.get_by_role("link", name=re.compile("^Download"))
    download_link.wait_for(timeout=90_000)  # the progress bar's script reloads the page when ready
    screenshot(page, "20-privacy-centre")
    with page.expect_download() as download_info:
        download_link.click()
    with zipfile.ZipFile(Path(download_info.value.path())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert {"tracks.json", "profile.json", "sets.json"} <= {
            f["name"] for f in manifest["files"]
        }
        assert json.loads(archive.read("profile.json"))["email"] == email
    stack.mailbox.wait_for(email, subject_contains="ready to download", timeout_s=30)

    page.get_by_label("Delete my account and everything in it").check()
    page.locator("#delete-password").fill(password)
    page.get_by_role("button", name="Delete my account").click()
    page.wait_for_url(re.compile(r"/login$"))
    assert "deactivated" in page.content()

    _log_in(page, site_url, email, password)
    assert "do not match an active account" in page.content()

    cancel = _mailed_link(stack.mailbox.wait_for(email, subject_contains="will be deleted", timeout_s=30),
                          "/privacy/cancel-deletion")  # fmt: skip
    page.goto(cancel)
    page.get_by_role("button", name="Restore my account").click()
    page.wait_for_url(re.compile(r"/login$"))
    _log_in(page, site_url, email, password)
    page.get_by_role("heading", name="Hello Keys").wait_for()
    assert page.csp_errors == []
