"""The README and the home page say only what works today (issue 20, item 9): what they name is
what the code reads, writes and routes."""

from __future__ import annotations

import re

import pytest

from service.billing import unavailable_reason
from service.dj.playlists.detection import READ_TEXT
from service.stack.settings import REPO_ROOT
from service.web.site.sets import DOWNLOADS

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
# Capabilities that need code, and words of the endpoint names that would provide each.
CAPABILITIES = {
    "Paddle": ("paddle",),
    "Beatport": ("beatport",),
    "purchase": ("buy", "checkout", "purchase", "paddle"),  # tokens are sold through Paddle
    "continuous mix": ("render_set_audio", "set_audio_file"),  # rendered and served by the site
}


@pytest.mark.stack
def test_the_home_page_names_the_formats_the_code_reads_and_writes(client) -> None:
    page = client.get("/").text
    assert READ_TEXT in page
    for label, _, _ in DOWNLOADS.values():
        assert label in page


def _built(app, words: tuple[str, ...]) -> bool:
    return any(w in rule.endpoint for rule in app.url_map.iter_rules() for w in words)


@pytest.mark.stack
def test_the_home_page_says_buying_is_not_open_while_payments_are_not_configured(
    site_app, client
) -> None:
    page = client.get("/").text
    selling = unavailable_reason(site_app.config) is None
    assert ("Buying more is not open yet" in page) is not selling


@pytest.mark.stack
def test_the_readme_and_home_page_promise_nothing_unbuilt(site_app, client) -> None:
    page = client.get("/").text
    for word, endpoint_words in CAPABILITIES.items():
        if _built(site_app, endpoint_words):
            continue
        assert not re.search(rf"\b{word}\b", README, re.IGNORECASE), f"README names {word}"
        assert not re.search(rf"\b{word}\b", page, re.IGNORECASE), f"home page names {word}"


def test_the_readme_names_every_download_the_site_offers() -> None:
    for label, _, _ in DOWNLOADS.values():
        assert label.replace(" playlist", "") in README, label
