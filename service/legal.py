"""Legal documents: the texts kept in the repository, publishing them, and the version in force.

Used by the site (the legal pages), by provisioning (``aidj run``, ``aidj directus seed``) and by
tests alike. The body is Markdown written by staff in the Studio; it is converted to HTML and
sanitised with nh3 before it reaches a page, so a document can never carry a script.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown
import nh3

from service.integrations.directus import DirectusClient
from service.stack.settings import DATA_DIR

log = logging.getLogger(__name__)

LEGAL_SEED_DIR = DATA_DIR / "legal"


@dataclass(frozen=True)
class LegalSeed:
    """A legal text kept in the repository and published by the seed step."""

    slug: str
    title: str
    version: str
    effective_date: str
    file: Path


LEGAL_SEEDS = (
    LegalSeed(
        "privacy", "Privacy Policy", "2024-12-28", "2024-12-28", LEGAL_SEED_DIR / "privacy.md"
    ),
    LegalSeed("terms", "Terms of Service", "2026-11-27", "2026-11-27", LEGAL_SEED_DIR / "terms.md"),
    # The policy rewritten to describe what the service does (the privacy centre, real processors,
    # real retention); the 2024 text stays published for the record.
    LegalSeed(
        "privacy",
        "Privacy Policy",
        "2026-11-29",
        "2026-11-29",
        LEGAL_SEED_DIR / "privacy-2026-11-29.md",
    ),
)


def publish_legal_documents(client: DirectusClient) -> list[str]:
    """Publish each seeded text once (slug + version); returns the ``slug@version`` it created."""
    created = []
    for seed in LEGAL_SEEDS:
        existing = client.list_items(
            "legal_documents",
            filter={"slug": {"_eq": seed.slug}, "version": {"_eq": seed.version}},
            fields=["id"],
            limit=1,
        )
        if existing:
            continue
        client.create_item(
            "legal_documents",
            {
                "slug": seed.slug,
                "title": seed.title,
                "version": seed.version,
                "effective_date": seed.effective_date,
                "body": seed.file.read_text(encoding="utf-8"),
                "status": "published",
            },
        )
        created.append(f"{seed.slug}@{seed.version}")
        log.info("published %s version %s", seed.slug, seed.version)
    return created


def _in_effect(slug: str) -> dict[str, Any]:
    """The filter for published versions of ``slug`` whose effective date has come."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return {
        "slug": {"_eq": slug},
        "status": {"_eq": "published"},
        "effective_date": {"_lte": today},
    }


def current_document(client: DirectusClient, slug: str) -> dict[str, Any] | None:
    """The published version of ``slug`` in force today (the latest effective date not in the future)."""
    items = client.list_items(
        "legal_documents",
        filter=_in_effect(slug),
        fields=["id", "slug", "title", "version", "effective_date", "body", "material_change"],
        sort=["-effective_date", "-id"],
        limit=1,
    )
    return items[0] if items else None


def published_versions(client: DirectusClient, slug: str) -> list[dict[str, Any]]:
    """Every published version of ``slug`` already in effect, newest first, with its dates: each
    was in force from its effective date until the next one's."""
    items = client.list_items(
        "legal_documents",
        filter=_in_effect(slug),
        fields=["id", "slug", "title", "version", "effective_date", "material_change"],
        sort=["-effective_date", "-id"],
        limit=-1,
    )
    for newer, older in itertools.pairwise(items):
        older["superseded_on"] = newer["effective_date"]
    return items


def document_version(client: DirectusClient, slug: str, version: str) -> dict[str, Any] | None:
    """One published version of ``slug`` in effect or past, by its version label."""
    items = client.list_items(
        "legal_documents",
        filter={**_in_effect(slug), "version": {"_eq": version}},
        fields=["id", "slug", "title", "version", "effective_date", "body"],
        limit=1,
    )  # fmt: skip
    return items[0] if items else None


def render_markdown(text: str) -> str:
    """Staff-written Markdown as HTML with anything unsafe removed."""
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(html)
