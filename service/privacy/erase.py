"""Deletion: deactivate at once, purge after the grace period (or at once for a child's account).

:func:`deactivate` is what the DJ's confirmation does: the account is suspended (Directus refuses its
log-ins), every site session and Directus session ends, queued or running work is cancelled, and
nothing is mailed any more (mail jobs send only to active accounts). :func:`restore` undoes it within
the grace period.

:func:`erase_user` is the purge, per store:

- ``sets`` (with ``set_tracks``), ``playlists`` (with ``playlist_tracks``), ``tracks``: deleted;
- every uploaded file (the upload folders, playlist sources, track files), every rendered preview and
  mix of the DJ's sets (:mod:`service.set_audio`) and every export archive:
  deleted from ``directus_files``, which removes them from storage, then the folders;
- ``consent_records``: kept as the minimal proof of consent the law needs (purpose, legal basis,
  granted or withdrawn, document version, time), the user replaced by a keyed hash;
- ``token_ledger``: kept for financial law, the owner replaced by a keyed hash, references naming the
  DJ rewritten with it; Paddle events and subscriptions keep their figures and lose the DJ
  (``billing.forget_user``); ``privacy_requests``: kept the same way (who asked is the hash);
- ``usage_events`` of the DJ: deleted;
- Redis: sessions, rate-limit counters of the address, item locks, job records naming the DJ;
- the ``directus_users`` row, then Directus's own activity and revision rows that copy any of this
  (extension ``aidj-privacy``).

It is idempotent: a second run finds nothing and reports zeros. It returns the counts per store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

import redis
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from service import set_audio, usage
from service.integrations.directus import (
    DirectusClient,
    DirectusError,
    DirectusForbidden,
    DirectusNotFound,
)
from service.privacy import (
    COLLECTION,
    GRACE_DAYS,
    SYSTEM,
    audit,
    iso,
    now,
    parse_time,
    pseudonym,
    transition,
)

log = logging.getLogger(__name__)

USER_FIELDS = ["id", "email", "display_name", "first_name", "status", "deletion_requested_at"]
SESSION_PREFIX = "aidj:session:"
USER_SESSIONS_PREFIX = "aidj:user-sessions:"
RATE_PREFIX = "aidj:rate:"
RATE_ACTIONS = ("login", "signup", "reset", "resend")
#: Where export archives are kept (a private Directus folder: files are served to DJs by the site).
EXPORT_FOLDER = "privacy-exports"
_ACTIVE = ("queued", "running")
_BATCH = 200


def _chunks(items: list[Any], size: int = _BATCH) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ids(
    directus: DirectusClient, collection: str, filter: dict[str, Any], *fields: str
) -> list[dict[str, Any]]:
    return list(directus.iter_items(collection, filter=filter, fields=["id", *fields]))


# -- deactivation --------------------------------------------------------------------------------------
def end_sessions(connection: redis.Redis, user_id: str) -> int:
    """End every site session of the DJ (the Directus sessions go with the suspension)."""
    sids = [s.decode() if isinstance(s, bytes) else s
            for s in connection.smembers(USER_SESSIONS_PREFIX + user_id)]  # fmt: skip
    connection.delete(USER_SESSIONS_PREFIX + user_id, *(SESSION_PREFIX + sid for sid in sids))
    return len(sids)


def cancel_work(directus: DirectusClient, connection: redis.Redis, user_id: str) -> int:
    """Fail the DJ's queued or running imports and sets, and stop their jobs."""
    from service.jobs.queue import job_id  # the job ids the pipelines use

    cancelled = 0
    for collection, pipeline in (("playlists", "ingest"), ("sets", "generate")):
        for item in _ids(
            directus,
            collection,
            {"owner": {"_eq": user_id}, "status": {"_in": list(_ACTIVE)}},
            "status",
        ):
            jid = job_id(pipeline, item["id"])
            try:
                job = Job.fetch(jid, connection=connection)
                if job.get_status(refresh=False) == "started":
                    send_stop_job_command(connection, jid)
                else:
                    job.cancel()
            except (NoSuchJobError, InvalidJobOperation):
                pass
            directus.update_item(collection, item["id"], {
                "status": "failed", "error": "Cancelled: the account is being deleted."})  # fmt: skip
            cancelled += 1
    return cancelled


def deactivate(
    directus: DirectusClient,
    connection: redis.Redis,
    secret: str,
    request: dict[str, Any],
    *,
    actor: str,
) -> dict[str, Any]:
    """Start a verified deletion: suspend the account, end its sessions, cancel its work, start the grace."""
    user_id = str(request["user"])
    moment = now()
    directus.update_item(
        "directus_users", user_id, {"status": "suspended", "deletion_requested_at": iso(moment)}
    )
    sessions = end_sessions(connection, user_id)
    # Directus's own sessions (refresh tokens) end too, not only when they next try to refresh.
    revoked = directus.call("POST", "/aidj-privacy/revoke", json={"user": user_id}) or {}
    sessions += int(revoked.get("directus_sessions", 0))
    cancelled = cancel_work(directus, connection, user_id)
    purge_at = moment.replace(microsecond=0) + dt.timedelta(days=GRACE_DAYS)
    return transition(directus, secret, request, "in_progress", actor=actor,
                      changes={"expires_at": iso(purge_at)},
                      detail={"sessions_ended": sessions, "work_cancelled": cancelled, "purge_at": iso(purge_at)})  # fmt: skip


def restore(
    directus: DirectusClient, secret: str, request: dict[str, Any], *, actor: str
) -> dict[str, Any]:
    """Cancel a deletion within its grace period: the account is active again."""
    user_id = str(request["user"])
    directus.update_item(
        "directus_users", user_id, {"status": "active", "deletion_requested_at": None}
    )
    return transition(
        directus, secret, request, "cancelled", actor=actor, detail={"restored": True}
    )


# -- the purge ---------------------------------------------------------------------------------------
def forget_redis(connection: redis.Redis, user_id: str, email: str | None) -> int:
    """Delete the Redis keys about the DJ: sessions, rate-limit counters, locks, job records."""
    removed = end_sessions(connection, user_id)
    keys: list[str] = []
    if email:
        for action in RATE_ACTIONS:
            digest = hashlib.sha256(f"{action}\0account:{email.lower()}".encode()).hexdigest()[:32]
            keys.append(f"{RATE_PREFIX}{action}:{digest}")
    for key in connection.scan_iter(match=f"*{user_id}*", count=1000):
        keys.append(key.decode() if isinstance(key, bytes) else key)
    if keys:
        removed += int(connection.delete(*keys))
    # Registries (sorted sets) and queues (lists) list job ids that name the DJ.
    for key in connection.scan_iter(match="rq:*", count=1000):
        kind = connection.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "zset":
            members = [m for m, _ in connection.zscan_iter(key, match=f"*{user_id}*")]
            if members:
                removed += int(connection.zrem(key, *members))
        elif kind == "list":
            for member in connection.lrange(key, 0, -1):
                if user_id in (member.decode() if isinstance(member, bytes) else member):
                    removed += int(connection.lrem(key, 0, member))
    return removed


def erase_user(
    directus: DirectusClient,
    connection: redis.Redis | None,
    secret: str,
    user_id: str,
    *,
    actor: str = SYSTEM,
    reason: str = "deletion",
) -> dict[str, int]:
    """Remove everything held about ``user_id`` (see the module docstring); counts per store."""
    counts: Counter[str] = Counter()
    try:
        user = directus.get_item("directus_users", user_id, fields=USER_FIELDS)
    except (DirectusNotFound, DirectusForbidden):  # Directus answers 403 for a missing row
        user = None
    email = (user or {}).get("email")
    hashed = pseudonym(secret, user_id)
    items: list[str] = []

    # Sets, with their track order.
    owned_sets = _ids(directus, "sets", {"owner": {"_eq": user_id}}, "render")
    sets = [s["id"] for s in owned_sets]
    for part in _chunks(sets):
        items += [str(r["id"]) for r in _ids(directus, "set_tracks", {"set": {"_in": part}})]
    for part in _chunks(sets):
        directus.delete_items("sets", part)
    counts["sets"] = len(sets)

    # Playlists with their entries, and the files of their uploads.
    playlists = _ids(
        directus, "playlists", {"owner": {"_eq": user_id}}, "source_file", "upload_folder"
    )
    files = {str(p["source_file"]) for p in playlists if p.get("source_file")}
    folders = {str(p["upload_folder"]) for p in playlists if p.get("upload_folder")}
    for part in _chunks([p["id"] for p in playlists]):
        items += [
            str(r["id"]) for r in _ids(directus, "playlist_tracks", {"playlist": {"_in": part}})
        ]

    tracks = _ids(directus, "tracks", {"owner": {"_eq": user_id}}, "file")
    files |= {str(t["file"]) for t in tracks if t.get("file")}
    files |= {f for s in owned_sets for f in set_audio.file_ids(s.get("render"))}
    for folder_part in _chunks(sorted(folders)):
        files |= {
            str(f["id"]) for f in _ids(directus, "directus_files", {"folder": {"_in": folder_part}})
        }

    requests = _ids(directus, COLLECTION, {"_or": [{"user": {"_eq": user_id}}, {"subject_hash": {"_eq": hashed}}]},
                    "export_file")  # fmt: skip
    files |= {str(r["export_file"]) for r in requests if r.get("export_file")}

    for part in _chunks([p["id"] for p in playlists]):
        directus.delete_items("playlists", part)
    counts["playlists"] = len(playlists)
    for part in _chunks([t["id"] for t in tracks]):
        directus.delete_items("tracks", part)
    counts["tracks"] = len(tracks)
    items += (
        [str(p["id"]) for p in playlists] + [str(t["id"]) for t in tracks] + [str(s) for s in sets]
    )

    # Files in storage, then their folders.
    if requests:
        directus.update_items(
            COLLECTION, [r["id"] for r in requests if r.get("export_file")], {"export_file": None}
        )
    for part in _chunks(sorted(files)):
        directus.delete_items("directus_files", part)
    counts["files"] = len(files)
    for folder in sorted(folders):
        try:
            directus.delete_item("directus_folders", folder)
            counts["folders"] += 1
        except (DirectusNotFound, DirectusForbidden):
            pass
    items += sorted(files) + sorted(folders)

    # Kept, pseudonymised: consent proofs, ledger rows, privacy requests.
    consents = _ids(directus, "consent_records", {"user": {"_eq": user_id}})
    if consents:
        directus.update_items(
            "consent_records", [c["id"] for c in consents], {"user": None, "subject_hash": hashed}
        )
    counts["consent_records_pseudonymised"] = len(consents)
    ledger = _ids(directus, "token_ledger", {"owner": {"_eq": user_id}}, "reference")
    if ledger:
        directus.update_batch("token_ledger", [
            {"id": row["id"], "owner": None, "owner_hash": hashed,
             "reference": str(row["reference"]).replace(user_id, hashed[:32])}
            for row in ledger
        ])  # fmt: skip
    counts["token_ledger_pseudonymised"] = len(ledger)
    mine = [r for r in requests if r.get("id")]
    if mine:
        directus.update_items(
            COLLECTION,
            [r["id"] for r in mine],
            {"user": None, "subject_hash": hashed, "details": None},
        )
    counts["privacy_requests_pseudonymised"] = len(mine)
    items += (
        [str(c["id"]) for c in consents]
        + [str(r["id"]) for r in ledger]
        + [str(r["id"]) for r in mine]
    )

    # Payment events and subscriptions: the figures stay, the link to the person goes (billing's rule).
    from service import billing

    counts["payment_records_unlinked"] = billing.forget_user(directus, user_id)

    # Raw usage events (keyed by the usage pseudonym).
    events = _ids(directus, "usage_events", {"actor": {"_eq": usage.actor(secret, user_id)}})
    for part in _chunks([e["id"] for e in events], 500):
        directus.delete_items("usage_events", part)
    counts["usage_events"] = len(events)

    if connection is not None:
        counts["redis_keys"] = forget_redis(connection, user_id, email)

    if user is not None:
        directus.delete_item("directus_users", user_id)
        counts["users"] = 1
    else:
        counts["users"] = 0

    needles = [user_id] + ([email] if email and len(email) >= 6 else [])
    try:
        forgotten = directus.call("POST", "/aidj-privacy/forget",
                                  json={"user": user_id, "items": sorted(set(items)), "needles": needles}) or {}  # fmt: skip
    except DirectusError as exc:
        log.error("Directus activity and revisions of a purged account were not erased: %s", exc)
        raise
    for table, count in forgotten.items():
        counts[table] = int(count)

    audit(directus, secret, f"privacy.erased.{reason}", actor=actor, subject=user_id,
          detail={k: v for k, v in sorted(counts.items())})  # fmt: skip
    log.info("erased one account: %s", dict(sorted(counts.items())))
    return dict(sorted(counts.items()))


def purge_due(
    directus: DirectusClient, connection: redis.Redis | None, secret: str, *, at: Any = None
) -> dict[str, int]:
    """The daily purge: every deletion whose grace period is over; and expired export archives."""
    moment = at or now()
    totals: Counter[str] = Counter()
    due = directus.list_items(
        COLLECTION,
        filter={"kind": {"_eq": "deletion"}, "state": {"_eq": "in_progress"}, "expires_at": {"_lte": iso(moment)}},
        fields=["id", "user", "kind", "state", "expires_at"], limit=-1,
    )  # fmt: skip
    for request in due:
        if request.get("user"):
            for store, count in erase_user(
                directus, connection, secret, str(request["user"])
            ).items():
                totals[store] += count
        transition(directus, secret, request, "complete", actor=SYSTEM, detail={"purged": True})
        totals["accounts"] += 1
    # Accounts suspended for deletion without a request row (e.g. a lost step): the same grace.
    for user in directus.list_items(
        "directus_users",
        filter={"deletion_requested_at": {"_nnull": True, "_lte": iso(moment - dt.timedelta(days=GRACE_DAYS))},
                "status": {"_eq": "suspended"}},
        fields=["id", "deletion_requested_at"], limit=-1,
    ):  # fmt: skip
        if parse_time(user.get("deletion_requested_at")):
            for store, count in erase_user(directus, connection, secret, str(user["id"])).items():
                totals[store] += count
            totals["accounts"] += 1
    totals["exports_expired"] = expire_exports(directus, secret, at=moment)
    log.info("privacy purge: %s", dict(sorted(totals.items())))
    return dict(sorted(totals.items()))


def expire_exports(directus: DirectusClient, secret: str, *, at: Any = None) -> int:
    """Delete export archives whose link has expired."""
    moment = at or now()
    expired = directus.list_items(
        COLLECTION,
        filter={"export_file": {"_nnull": True}, "expires_at": {"_lte": iso(moment)}},
        fields=["id", "export_file", "user"], limit=-1,
    )  # fmt: skip
    for request in expired:
        directus.update_item(COLLECTION, request["id"], {"export_file": None})
        with contextlib.suppress(DirectusNotFound):
            directus.delete_item("directus_files", str(request["export_file"]))
        audit(directus, secret, "privacy.export_expired", actor=SYSTEM,
              subject=str(request["user"]) if request.get("user") else None, request=str(request["id"]))  # fmt: skip
    return len(expired)
