"""Re-acceptance of a materially changed legal text at the next log-in.

When the privacy policy or the terms in force are a ``material_change`` version the DJ has not
accepted yet (no granted consent record naming that document), log-in leads to a page showing what
changed; until they accept, the site's pages lead back there (log-out and the legal texts stay open).
Accepting records a consent record with the document and its version (source ``reacceptance``).
"""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, session, url_for

from service.legal import current_document
from service.privacy import audit
from service.web.site import bp, current_user_id, directus, login_required, safe_next

PENDING = "acceptance_pending"
PURPOSES = {"privacy": "privacy_policy", "terms": "terms"}
OPEN_ENDPOINTS = frozenset({"site.accept_changes", "site.logout", "site.privacy", "site.terms", "site.cookies",
                            "site.privacy_versions", "site.privacy_version"})  # fmt: skip


def pending_documents(user_id: str) -> list[dict[str, Any]]:
    """The material-change versions in force that the DJ has not accepted."""
    pending = []
    for slug in PURPOSES:
        document = current_document(directus(), slug)
        if not document or not document.get("material_change"):
            continue
        accepted = directus().count("consent_records", {"user": {"_eq": user_id},
                                    "document": {"_eq": document["id"]}, "granted": {"_eq": True}})  # fmt: skip
        if not accepted:
            pending.append(document)
    return pending


def after_login(user_id: str) -> str | None:
    """Where a DJ goes right after logging in when a changed text waits for acceptance."""
    if pending_documents(user_id):
        session[PENDING] = True
        return url_for("site.accept_changes")
    return None


@bp.before_app_request
def require_acceptance() -> Any:
    """While acceptance is pending, the site's pages lead to the acceptance page."""
    if not session.get(PENDING) or request.blueprint != "site" or g.get("user") is None:
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    return redirect(url_for("site.accept_changes", next=request.full_path.rstrip("?")))


@bp.route("/account/accept", methods=["GET", "POST"])
@login_required
def accept_changes() -> Any:
    """Show the changed texts; accepting records a consent record per document and version."""
    user_id = current_user_id()
    documents = pending_documents(user_id)
    next_path = safe_next(request.values.get("next")) or url_for("site.dashboard")
    if request.method == "GET":
        if not documents:
            session.pop(PENDING, None)
            return redirect(next_path)
        return render_template("privacy/accept.html", documents=documents, next=next_path)
    directus().create_items("consent_records", [
        {"user": user_id, "purpose": PURPOSES[d["slug"]], "legal_basis": "contract", "granted": True,
         "document": d["id"], "document_version": d["version"], "source": "reacceptance"}
        for d in documents
    ])  # fmt: skip
    for document in documents:
        from flask import current_app

        audit(directus(), str(current_app.config["SECRET_KEY"]), "consent.reaccepted", actor=user_id,
              subject=user_id, detail={"slug": document["slug"], "version": document["version"]})  # fmt: skip
    session.pop(PENDING, None)
    return redirect(next_path, code=303)
