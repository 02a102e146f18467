"""Headless Debian Chromium driven by Playwright against the real stack and the real web service.

The browser is the machine's ``/usr/bin/chromium`` (no browser download), launched with a fresh
user-data directory. Screenshots go to ``test-artifacts/browser/`` (not committed) for reviewers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.legal import publish_legal_documents
from service.stack.settings import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def site_url(stack: Any, service_processes: Any) -> str:
    """The running web service, with the legal documents published."""
    publish_legal_documents(stack.service)
    return service_processes.url


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """One headless Chromium with a fresh user-data directory for the module."""
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI installs it through scripts/ensure-system-packages")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="aidj-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A new tab with no cookies; Content-Security-Policy violations are collected in ``csp_errors``."""
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    tab.set_default_timeout(15_000)
    tab.csp_errors = []
    tab.on(
        "console",
        lambda message: (
            tab.csp_errors.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield tab
    tab.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot for reviewers under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
