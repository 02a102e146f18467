"""Retention of uploaded audio: deleted ``UPLOAD_RETENTION_DAYS`` after its last use, the DJ warned
``UPLOAD_WARNING_DAYS`` before.

An upload's last use is the latest of the playlist's own change and the newest set built from it.
When that is older than the retention minus the warning, the DJ is mailed once (remembered in Redis
until the deletion); when older than the retention, the upload's audio files are deleted from
storage (the tracks keep their values, and the playlist file stays so the DJ can upload the audio
again), with the previews and mixes rendered from it. Part of the nightly privacy job, which reports the counts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import redis

from service import set_audio
from service.integrations.directus import DirectusClient
from service.integrations.mail import MailRejected, OutgoingMail, mail_client_from_config
from service.privacy import SYSTEM, audit, iso, now, parse_time

log = logging.getLogger(__name__)

WARNED_PREFIX = "aidj:upload-warned:"


def last_use(directus: DirectusClient, playlist: Mapping[str, Any]) -> dt.datetime | None:
    """When the upload was last used: its playlist's last change or the newest set built from it."""
    moments = [parse_time(playlist.get("date_updated")), parse_time(playlist.get("date_created"))]
    newest = directus.list_items("sets", filter={"playlist": {"_eq": playlist["id"]}},
                                 fields=["date_created"], sort=["-date_created"], limit=1)  # fmt: skip
    if newest:
        moments.append(parse_time(newest[0].get("date_created")))
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _audio_files(directus: DirectusClient, playlist: Mapping[str, Any]) -> list[str]:
    files = directus.list_items("directus_files", filter={"folder": {"_eq": playlist["upload_folder"]}},
                                fields=["id"], limit=-1)  # fmt: skip
    return [str(f["id"]) for f in files if str(f["id"]) != str(playlist.get("source_file"))]


def warning_mail(
    config: Mapping[str, Any], email: str, name: str, playlist: str, on: str
) -> OutgoingMail:
    """The warning before an upload's audio is deleted."""
    site = str(config["SITE_URL"]).rstrip("/")
    text = (f"Hello {name},\n\nThe audio files you uploaded with \"{playlist}\" have not been used for a while. "
            f"We delete uploaded audio {config['UPLOAD_RETENTION_DAYS']} days after its last use, so they will be "
            f"deleted on {on}. Build a set from the playlist before then to keep them, or download your data "
            f"from your privacy centre: {site}/account/privacy\n\nYour tracks' values and your sets stay; the "
            f"previews and mixes rendered from this audio go with it.\n")  # fmt: skip
    return OutgoingMail(to=email, subject="Your uploaded audio will be deleted soon", text=text)


def enforce(directus: DirectusClient, connection: redis.Redis | None, config: Mapping[str, Any],
            *, at: dt.datetime | None = None) -> dict[str, int]:  # fmt: skip
    """Warn and delete per the upload retention; counts of uploads warned and audio files deleted."""
    moment = at or now()
    keep = dt.timedelta(days=int(config["UPLOAD_RETENTION_DAYS"]))
    warn = dt.timedelta(days=int(config["UPLOAD_WARNING_DAYS"]))
    counts = {"uploads_warned": 0, "audio_files_deleted": 0, "rendered_files_deleted": 0}
    candidates = directus.list_items(
        "playlists",
        filter={"upload_folder": {"_nnull": True}, "date_created": {"_lt": iso(moment - keep + warn)}},
        fields=["id", "name", "owner", "upload_folder", "source_file", "date_created", "date_updated"], limit=-1,
    )  # fmt: skip
    mailer = None
    for playlist in candidates:
        used = last_use(directus, playlist)
        if used is None or used > moment - keep + warn:
            continue
        files = _audio_files(directus, playlist)
        if not files:
            continue
        if used <= moment - keep:
            directus.delete_items("directus_files", files)
            counts["audio_files_deleted"] += len(files)
            counts["rendered_files_deleted"] += set_audio.forget_renders(
                directus, str(playlist["id"])
            )
            audit(directus, str(config["SECRET_KEY"]), "retention.audio_deleted", actor=SYSTEM,
                  subject=str(playlist["owner"]), detail={"files": len(files)})  # fmt: skip
            if connection is not None:
                connection.delete(WARNED_PREFIX + str(playlist["id"]))
            continue
        key = WARNED_PREFIX + str(playlist["id"])
        if connection is not None and connection.exists(key):
            continue
        owner = directus.get_item("directus_users", str(playlist["owner"]),
                                  fields=["email", "display_name", "status"])  # fmt: skip
        if owner.get("status") == "active" and owner.get("email"):
            mailer = mailer or mail_client_from_config(config)
            try:
                mailer.send(warning_mail(config, owner["email"], owner.get("display_name") or "there",
                                         str(playlist.get("name") or "your playlist"), iso(used + keep)[:10]))  # fmt: skip
            except MailRejected as exc:
                log.warning("retention warning refused: %s", exc)
            counts["uploads_warned"] += 1
        if connection is not None:
            connection.set(key, iso(moment), ex=int(warn.total_seconds()) + 7 * 86400)
    return counts


def nightly(directus: DirectusClient, connection: redis.Redis | None, config: Mapping[str, Any],
            *, at: dt.datetime | None = None) -> dict[str, int]:  # fmt: skip
    """Everything the privacy policy's retention promises, once: deletions past their grace period,
    expired export archives, uploaded audio past its retention (and the warnings before)."""
    from service.privacy.erase import purge_due

    counts = purge_due(directus, connection, str(config["SECRET_KEY"]), at=at)
    counts.update(enforce(directus, connection, config, at=at))
    counts["set_audio_orphans"] = set_audio.delete_orphans(directus, at)
    return dict(sorted(counts.items()))
