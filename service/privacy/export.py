"""The access and portability archive: everything held about one DJ, as a zip.

``manifest.json`` says what each file holds, when the archive was made and the schema version; one
JSON file per kind of data (profile, consent history, playlists with entries and problem reports,
tracks with values and their sources, sets with transitions and notes, token ledger, privacy
requests); each finished set as extended M3U8 and Rekordbox XML; and every file the DJ uploaded.
The same function serves the export job and ``aidj privacy export``.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

from service.dj.exports import to_m3u8, to_rekordbox
from service.integrations.directus import DirectusClient
from service.privacy import REQUEST_FIELDS, iso, now
from service.stack.settings import snapshot_version
from service.track_rows import TRACK_ROW_FIELDS, track_from_item

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
PROFILE_FIELDS = ["id", "email", "display_name", "first_name", "last_name", "language", "status",
                  "age_confirmed", "marketing_opt_in", "email_verified_at", "deletion_requested_at",
                  "last_access", "music_folder_macos", "music_folder_windows"]  # fmt: skip
DESCRIPTIONS = {
    "profile.json": "Your account: email, display name, marketing preference, verification and status.",
    "consents.json": "Every consent you gave or withdrew: purpose, legal basis, document version, time.",
    "playlists.json": "Your uploaded playlists with their entries (as written in the file) and problem reports.",
    "tracks.json": "Your tracks with every value (artist, title, BPM, key, energy…) and where each came from.",
    "sets.json": "Your sets: parameters, score card, notes, and each transition in play order.",
    "ledger.json": "Your token ledger: every grant, purchase, charge and refund.",
    "subscriptions.json": "Your subscription as Paddle last told us (plan, status, billing period).",
    "privacy_requests.json": "Your privacy requests and their history.",
    "sets/": "Each finished set as extended M3U8 and Rekordbox XML.",
    "files/": "Every file you uploaded, by upload.",
}


def _safe(name: str, fallback: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "-", name or "").strip(" .-")[:100]
    return stem or fallback


def collect(directus: DirectusClient, user_id: str) -> dict[str, Any]:
    """Every record of the DJ, per kind (what the JSON files of the archive hold)."""
    profile = directus.get_item("directus_users", user_id, fields=PROFILE_FIELDS)
    consents = list(directus.iter_items("consent_records", filter={"user": {"_eq": user_id}},
                                        fields=["id", "purpose", "legal_basis", "granted", "document_version",
                                                "source", "date_created"]))  # fmt: skip
    playlists = list(
        directus.iter_items("playlists", filter={"owner": {"_eq": user_id}}, fields=["*"])
    )
    for playlist in playlists:
        playlist["entries"] = list(directus.iter_items(
            "playlist_tracks", filter={"playlist": {"_eq": playlist["id"]}},
            fields=["id", "position", "line", "raw_entry", "track"]))  # fmt: skip
    tracks = list(directus.iter_items("tracks", filter={"owner": {"_eq": user_id}}, fields=["*"]))
    sets = list(directus.iter_items("sets", filter={"owner": {"_eq": user_id}}, fields=["*"]))
    for item in sets:
        item["transitions"] = list(directus.iter_items(
            "set_tracks", filter={"set": {"_eq": item["id"]}}, fields=["id", "position", "track", "transition"],
            sort=["position"]))  # fmt: skip
    ledger = list(directus.iter_items("token_ledger", filter={"owner": {"_eq": user_id}},
                                      fields=["id", "delta", "reason", "reference", "date_created"]))  # fmt: skip
    subscriptions = list(
        directus.iter_items("subscriptions", filter={"user": {"_eq": user_id}}, fields=["*"])
    )
    for sub in subscriptions:  # Paddle's personal links are for the DJ's browser, not an archive
        sub.pop("cancel_url", None)
        sub.pop("update_payment_method_url", None)
    requests = list(directus.iter_items("privacy_requests", filter={"user": {"_eq": user_id}},
                                        fields=[*REQUEST_FIELDS, "log"]))  # fmt: skip
    return {"profile": profile, "consents": consents, "playlists": playlists, "tracks": tracks,
            "sets": sets, "ledger": ledger, "subscriptions": subscriptions, "privacy_requests": requests}  # fmt: skip


def uploaded_files(directus: DirectusClient, user_id: str, playlists: list[dict[str, Any]],
                   tracks: list[dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
    """The DJ's files in storage: every file of their upload folders, and track files elsewhere."""
    found: dict[str, dict[str, Any]] = {}
    fields = ["id", "filename_download", "folder", "filesize", "type"]
    for playlist in playlists:
        if playlist.get("upload_folder"):
            for meta in directus.iter_items("directus_files", filter={"folder": {"_eq": playlist["upload_folder"]}},
                                            fields=fields):  # fmt: skip
                meta["upload"] = playlist.get("name") or playlist["id"]
                found[meta["id"]] = meta
    loose = {str(t["file"]) for t in tracks if t.get("file")} | {
        str(p["source_file"]) for p in playlists if p.get("source_file")}  # fmt: skip
    for file_id in sorted(loose - set(found)):
        meta = directus.get_item("directus_files", file_id, fields=fields)
        meta["upload"] = "other"
        found[file_id] = meta
    return list(found.values())


def _set_exports(data: dict[str, Any]) -> dict[str, str]:
    tracks = {t["id"]: t for t in data["tracks"]}
    out: dict[str, str] = {}
    for n, item in enumerate(data["sets"], start=1):
        if item.get("status") != "done":
            continue
        rows = [tracks[r["track"]] for r in item["transitions"] if r.get("track") in tracks]
        ordered = [track_from_item({k: row.get(k) for k in TRACK_ROW_FIELDS}) for row in rows]
        stem = f"sets/{n:03d} {_safe(item.get('title') or '', 'set')}"
        out[f"{stem}.m3u8"] = to_m3u8(ordered)
        out[f"{stem}.xml"] = to_rekordbox(ordered, name=item.get("title") or "AIDJSets set")
    return out


def build_archive(
    directus: DirectusClient,
    user_id: str,
    destination: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write the DJ's archive to ``destination``; returns its manifest."""
    report = progress or (lambda _: None)
    made = iso(now())
    data = collect(directus, user_id)
    report(20)
    files = uploaded_files(directus, user_id, data["playlists"], data["tracks"])
    entries: dict[str, str] = {}
    names = {"profile": "profile.json", "consents": "consents.json", "playlists": "playlists.json",
             "tracks": "tracks.json", "sets": "sets.json", "ledger": "ledger.json",
             "subscriptions": "subscriptions.json",
             "privacy_requests": "privacy_requests.json"}  # fmt: skip
    manifest: dict[str, Any] = {"format_version": FORMAT_VERSION, "made_at": made,
                                "schema_version": snapshot_version(), "user": user_id, "files": []}  # fmt: skip
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for kind, name in names.items():
            archive.writestr(
                name, json.dumps(data[kind], ensure_ascii=False, indent=2, default=str) + "\n"
            )
            count = 1 if kind == "profile" else len(data[kind])
            manifest["files"].append({"name": name, "holds": DESCRIPTIONS[name], "records": count})
        for name, text in _set_exports(data).items():
            archive.writestr(name, text)
            entries[name] = "set"
            manifest["files"].append(
                {"name": name, "holds": "A set in play order, for DJ software."}
            )
        report(40)
        used: set[str] = set()
        with tempfile.TemporaryDirectory(prefix="aidj-export-") as tmp:
            for n, meta in enumerate(files, start=1):
                upload = _safe(str(meta.get("upload")), "upload")
                base = _safe(PurePath(meta.get("filename_download") or meta["id"]).name, meta["id"])
                name = f"files/{upload}/{base}"
                while name in used:
                    name = f"files/{upload}/{meta['id'][:8]}-{base}"
                used.add(name)
                local = Path(tmp) / "file"
                directus.download_file(meta["id"], local)
                archive.write(local, name)
                manifest["files"].append({"name": name, "holds": "A file you uploaded.",
                                          "bytes": local.stat().st_size})  # fmt: skip
                report(40 + int(55 * n / max(1, len(files))))
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    report(100)
    return manifest
