"""After logging in, the site only ever sends a DJ back to one of its own pages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.web.site import safe_next

# Known ways to smuggle another site past a "starts with /" check, as they arrive in `next`
# (already percent-decoded once by the web framework).
OFF_SITE = [
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " /dashboard",
    "/dash board",
    "/\x00",
    "/%00",
    "/%0d%0aSet-Cookie:%20x=1",
    "evil.example",
    "",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_a_next_that_could_lead_off_site_is_dropped(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize(
    "target", ["/dashboard", "/sets/0b9c?tab=notes", "/playlists/new", "/sets/a%20b", "/"]
)
def test_a_page_of_the_site_is_kept(target: str) -> None:
    assert safe_next(target) == target


@given(st.text(max_size=80))
def test_whatever_is_kept_is_a_plain_path_of_this_site(target: str) -> None:
    kept = safe_next(target)
    if kept is not None:
        assert kept.startswith("/") and not kept.startswith(("//", "/\\"))
        assert kept.isprintable() and " " not in kept and "\\" not in kept
