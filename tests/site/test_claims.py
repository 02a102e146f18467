"""The README and the home page say only what works today (issue 20, item 9): what they name is
what the code reads, writes and routes."""

from __future__ import annotations

import re

import pytest

from service.dj.playlists.detection import READ_TEXT
from service.stack.settings import REPO_ROOT
from service.web.site.sets import DOWNLOADS

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
# Capabilities that need code the site does not have yet, and the endpoint that would provide each.
NOT_BUILT = {"Paddle": "hooks.paddle", "Beatport": "site.beatport", "purchase": "site.buy"}


@pytest.mark.stack
def test_the_home_page_names_the_formats_the_code_reads_and_writes(client) -> None:
    page = client.get("/").text
    assert READ_TEXT in page
    for label, _, _ in DOWNLOADS.values():
        assert label in page
    assert "Buying more is not open yet" in page


@pytest.mark.stack
def test_the_readme_and_home_page_promise_nothing_unbuilt(site_app, client) -> None:
    endpoints = {rule.endpoint for rule in site_app.url_map.iter_rules()}
    page = client.get("/").text
    for word, endpoint in NOT_BUILT.items():
        if endpoint in endpoints:
            continue
        assert not re.search(rf"\b{word}\b", README, re.IGNORECASE), f"README names {word}"
        assert not re.search(rf"\b{word}\b", page, re.IGNORECASE), f"home page names {word}"


def test_the_readme_names_every_download_the_site_offers() -> None:
    for label, _, _ in DOWNLOADS.values():
        assert label.replace(" playlist", "") in README, label
