"""Legal pages rendered from the ``legal_documents`` version in force (``service.legal``)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template

from service.legal import current_document, document_version, published_versions, render_markdown
from service.web.site import bp, directus


def _legal_page(slug: str) -> Any:
    document = current_document(directus(), slug)
    if document is None:
        abort(404)
    return render_template(
        "legal/document.html", document=document, body=render_markdown(document["body"] or "")
    )


@bp.get("/privacy")
def privacy() -> Any:
    """The privacy policy in force."""
    return _legal_page("privacy")


@bp.get("/terms")
def terms() -> Any:
    """The terms of service in force."""
    return _legal_page("terms")


@bp.get("/cookies")
def cookies() -> Any:
    """The cookie notice: one strictly necessary session cookie, nothing else."""
    return render_template("legal/cookies.html")


@bp.get("/privacy/versions")
def privacy_versions() -> Any:
    """Every version of the privacy policy that has been in force, with its dates."""
    return render_template(
        "legal/versions.html", versions=published_versions(directus(), "privacy")
    )


@bp.get("/privacy/versions/<version>")
def privacy_version(version: str) -> Any:
    """One past or present version of the privacy policy, as it was published."""
    document = document_version(directus(), "privacy", version[:32])
    if document is None:
        abort(404)
    return render_template(
        "legal/document.html", document=document, body=render_markdown(document["body"] or "")
    )
