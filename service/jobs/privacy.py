"""Privacy-centre jobs: build an export archive (``privacy_export``), mail a request's notice
(``privacy_notice``), and the nightly purge (``nightly``, from ``rq cron``).

The export re-reads its request and runs only a verified or in-progress access/portability request;
its progress goes to the request's ``progress`` (the site's progress bar). The notice mails what the
request's state calls for: a link to confirm it (received, asked from the logged-out side), the
deletion confirmation with its cancel link (a deletion in progress), the archive's link (an export
complete), the reason (rejected). Mail goes only to an address the account still has.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service import privacy
from service.config import load_config
from service.integrations.directus import DirectusClient, DirectusForbidden, DirectusNotFound
from service.integrations.mail import MailRejected, OutgoingMail, mail_client_from_config
from service.jobs import state
from service.jobs.queue import redis_connection
from service.privacy import links
from service.privacy.erase import EXPORT_FOLDER

log = logging.getLogger(__name__)

EXPORT_KINDS = ("access", "portability")


def run_export(directus: DirectusClient, secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """Build and store the archive of a verified access/portability request; returns the request."""
    from service.privacy.export import build_archive

    if request["state"] == "verified":
        request = privacy.transition(directus, secret, request, "in_progress", actor=privacy.SYSTEM)
    user_id = str(request["user"])
    last = {"p": -1}

    def progress(percent: int) -> None:
        if percent - last["p"] >= 5 or percent == 100:
            last["p"] = percent
            directus.update_item(privacy.COLLECTION, request["id"], {"progress": min(99, percent)})

    with tempfile.TemporaryDirectory(prefix="aidj-privacy-") as tmp:
        path = Path(tmp) / "export.zip"
        manifest = build_archive(directus, user_id, path, progress=progress)
        stored = directus.upload_file(
            path, f"aidjsets-export-{request['id'][:8]}.zip", mime_type="application/zip",
            metadata={"folder": directus.folder(EXPORT_FOLDER), "title": f"privacy export {request['id']}"},
        )  # fmt: skip
    expires = privacy.now() + dt.timedelta(days=privacy.EXPORT_TTL_DAYS)
    return privacy.transition(
        directus, secret, request, "complete", actor=privacy.SYSTEM,
        changes={"export_file": stored["id"], "expires_at": privacy.iso(expires), "progress": 100},
        detail={"files": len(manifest["files"])},
    )  # fmt: skip


def _open(request_id: str) -> tuple[DirectusClient, Mapping[str, Any], dict[str, Any] | None]:
    """A privacy job's start: its logging, Directus client and configuration, and the request
    (None when it is gone)."""
    state.job_logging()
    config = load_config()
    directus = state.directus_client(config)
    try:
        return directus, config, privacy.get_request(directus, request_id)
    except (DirectusNotFound, DirectusForbidden):
        return directus, config, None


def export(request_id: str) -> str:
    """RQ entry point: the archive of one access or portability request, then its mail."""
    directus, config, request = _open(request_id)
    if request is None:
        return "gone"
    secret = str(config["SECRET_KEY"])
    if request["kind"] not in EXPORT_KINDS or not request.get("user"):
        return "not an export"
    if request["state"] not in ("verified", "in_progress"):
        return f"nothing to do ({request['state']})"
    run_export(directus, secret, request)
    notice(request_id)
    return "done"


def terminal_failure(request_id: str, message: str) -> None:
    """An export that failed for good: reset its progress; it stays in progress for staff to see."""
    config = load_config()
    directus = state.directus_client(config)
    directus.update_item(
        privacy.COLLECTION, request_id, {"progress": 0, "reason": f"Export failed: {message}"}
    )


# -- mail --------------------------------------------------------------------------------------------
def _site(config: Any, path: str) -> str:
    return f"{str(config['SITE_URL']).rstrip('/')}{path}"


def notice_mail(config: Any, user: dict[str, Any], request: dict[str, Any]) -> OutgoingMail | None:
    """The mail a request's state calls for (None when there is nothing to say)."""
    secret = str(config["SECRET_KEY"])
    name = user.get("display_name") or user.get("first_name") or "there"
    kind, current = request["kind"], request["state"]
    what = {"access": "a copy of your data", "portability": "your data to take elsewhere",
            "correction": "a correction of your data", "deletion": "the deletion of your account",
            "objection": "an objection to marketing mail"}[kind]  # fmt: skip
    if current == "received":
        link = _site(
            config, f"/privacy/confirm?token={links.make(secret, 'confirm', request['id'])}"
        )
        hours = links.CONFIRM_TTL_S // 3600
        text = (f"Hello {name},\n\nSomeone asked AIDJSets for {what} using this address. If it was you, "
                f"confirm it here (the link works once, for {hours} hours):\n\n{link}\n\n"
                "If it was not you, ignore this message: nothing happens without the link.\n")  # fmt: skip
        return OutgoingMail(
            to=user["email"], subject="Confirm your privacy request to AIDJSets", text=text
        )
    if current == "in_progress" and kind == "deletion":
        link = _site(
            config, f"/privacy/cancel-deletion?token={links.make(secret, 'cancel', request['id'])}"
        )
        until = str(request.get("expires_at") or "")[:10]
        text = (f"Hello {name},\n\nYour AIDJSets account is deactivated and will be deleted for good on {until}, "
                f"with your playlists, tracks, sets and uploaded files.\n\nChanged your mind? Restore the "
                f"account before then:\n\n{link}\n\nAfter that date nothing can be restored.\n")  # fmt: skip
        return OutgoingMail(
            to=user["email"], subject="Your AIDJSets account will be deleted", text=text
        )
    if current == "complete" and kind in EXPORT_KINDS and request.get("export_file"):
        link = _site(
            config,
            f"/privacy/exports/{request['id']}?token={links.make(secret, 'export', request['id'])}",
        )
        text = (f"Hello {name},\n\nYour data is ready: a zip with a manifest, one JSON file per kind of data, "
                f"your sets as M3U8 and Rekordbox XML, and the files you uploaded.\n\n{link}\n\n"
                f"The link works for {privacy.EXPORT_TTL_DAYS} days; then the archive is deleted.\n")  # fmt: skip
        return OutgoingMail(
            to=user["email"], subject="Your AIDJSets data is ready to download", text=text
        )
    if current == "rejected":
        reason = request.get("reason") or "No reason was given."
        text = (f"Hello {name},\n\nWe could not carry out your request for {what}.\n\nReason: {reason}\n\n"
                "You can reply to this message or make a new request from your privacy centre.\n")  # fmt: skip
        return OutgoingMail(
            to=user["email"], subject="About your privacy request to AIDJSets", text=text
        )
    return None


def notice(request_id: str) -> str:
    """RQ entry point: mail the notice the request's current state calls for."""
    state.job_logging()
    config = load_config()
    directus = state.directus_client(config)
    try:
        request = privacy.get_request(directus, request_id)
        if not request.get("user"):
            return "no account"
        user = directus.get_item("directus_users", str(request["user"]),
                                 fields=["id", "email", "display_name", "first_name", "status"])  # fmt: skip
    except (DirectusNotFound, DirectusForbidden):
        return "gone"
    if not user.get("email"):
        return "no address"
    mail = notice_mail(config, user, request)
    if mail is None:
        return "nothing to say"
    try:
        mail_client_from_config(config).send(mail)
    except MailRejected as exc:
        log.warning("privacy notice for %s refused for good: %s", request_id, exc)
        return "refused"
    return "sent"


def record_staff_request(directus: DirectusClient, secret: str, request: dict[str, Any]) -> None:
    """A request staff created in the Studio gets what :func:`privacy.open_request` records: the
    subject's pseudonym, the due date and the audit entry (once)."""
    if request.get("subject_hash") or not request.get("user"):
        return
    user_id = str(request["user"])
    due = privacy.parse_time(request.get("date_created")) or privacy.now()
    directus.update_item(privacy.COLLECTION, request["id"], {
        "subject_hash": privacy.pseudonym(secret, user_id),
        "due_at": request.get("due_at") or privacy.iso(due + dt.timedelta(days=privacy.DUE_DAYS))})  # fmt: skip
    privacy.audit(directus, secret, "privacy_request.received", actor="staff", subject=user_id,
                  request=str(request["id"]), detail={"kind": request["kind"],
                  "child_account": bool(request.get("child_account"))})  # fmt: skip


def child_account(request_id: str) -> str:
    """RQ entry point: staff flagged an account as a child's: purge it at once, no grace, audited.

    Started (through :func:`staff_action`) when staff create a deletion request with
    ``child_account`` ticked; anything else (another kind, the box not ticked, a request already
    final) is left alone.
    """
    from service.privacy.erase import erase_user

    directus, config, request = _open(request_id)
    if request is None:
        return "gone"
    secret = str(config["SECRET_KEY"])
    if request["state"] in privacy.FINAL:
        return f"nothing to do ({request['state']})"
    if not request.get("child_account") or request["kind"] != "deletion" or not request.get("user"):
        return "not a child's account"
    actor = "staff"
    record_staff_request(directus, secret, request)
    if request["state"] == "received":
        request = privacy.verify(directus, secret, request, "staff", actor=actor)
    if request["state"] == "verified":
        request = privacy.transition(directus, secret, request, "in_progress", actor=actor,
                                     detail={"child_account": True})  # fmt: skip
    counts = erase_user(directus, redis_connection(config), secret, str(request["user"]), actor=actor,
                        reason="child")  # fmt: skip
    privacy.transition(directus, secret, request, "complete", actor=actor,
                       detail={"purged": True, "child_account": True})  # fmt: skip
    return f"purged ({sum(counts.values())} rows, files and keys)"


def staff_action(request_id: str) -> str:
    """RQ entry point for what staff do in the Studio (forwarded by the event map): a request created
    with ``child_account`` ticked purges that account at once; a request set to rejected mails the
    DJ the reason."""
    directus, config, request = _open(request_id)
    if request is None:
        return "gone"
    if request.get("child_account") and request["kind"] == "deletion":
        return child_account(request_id)
    if request["state"] not in privacy.FINAL:
        record_staff_request(directus, str(config["SECRET_KEY"]), request)
    if request["state"] == "rejected":
        # Staff changed the state in the Studio: the audit log records it once, then the DJ is told.
        secret = str(config["SECRET_KEY"])
        logged = directus.count(privacy.AUDIT, {"request": {"_eq": request_id},
                                                "action": {"_eq": "privacy_request.rejected"}})  # fmt: skip
        if not logged:
            privacy.audit(directus, secret, "privacy_request.rejected", actor="staff",
                          subject=str(request["user"]) if request.get("user") else None, request=request_id,
                          detail={"kind": request["kind"], "by": "studio"})  # fmt: skip
            if not request.get("completed_at"):
                directus.update_item(
                    privacy.COLLECTION, request_id, {"completed_at": privacy.iso(privacy.now())}
                )
        return notice(request_id)
    return "nothing to do"


#: An export verified or running this long without finishing lost its job (a crash, a lost enqueue).
EXPORT_STUCK_S = 3600


def resume_exports(directus: DirectusClient, connection: Any) -> int:
    """Enqueue again the exports that were verified but never finished (the job id dedupes)."""
    from service.jobs.queue import enqueue

    cutoff = privacy.iso(privacy.now() - dt.timedelta(seconds=EXPORT_STUCK_S))
    stuck = directus.list_items(
        privacy.COLLECTION,
        filter={"kind": {"_in": list(EXPORT_KINDS)}, "state": {"_in": ["verified", "in_progress"]},
                "date_updated": {"_lt": cutoff}},
        fields=["id"], limit=-1,
    )  # fmt: skip
    for request in stuck:
        enqueue("privacy_export", request["id"], connection=connection)
    return len(stuck)


def nightly(at: dt.datetime | None = None) -> dict[str, int]:
    """RQ cron entry point: the daily purge (deletions past their grace, expired exports, uploaded
    audio past its retention)."""
    from service.privacy.retention import nightly as enforce_retention

    state.job_logging()
    config = load_config()
    directus = state.directus_client(config)
    connection = redis_connection(config)
    counts = enforce_retention(directus, connection, config, at=at)
    counts["exports_resumed"] = resume_exports(directus, connection)
    log.info("privacy nightly: %s", counts)
    return counts
