"""The privacy policy's promises, kept by the code: erasure leaves no trace, an export holds every
record of the DJ and nothing of anyone else, every step of a request is audited, and nothing can
change the audit log."""

from __future__ import annotations

import json
import logging
import secrets
import zipfile
from typing import Any

import pytest
import requests
import yaml
from click.testing import CliRunner

from service import ledger, privacy, set_audio, usage
from service.cli import main
from service.privacy import erase, links
from service.stack.settings import SNAPSHOT_FILE
from tests.site.conftest import (
    log_in,
    make_done_set,
    make_library,
    new_client,
    worker_environment,
)

pytestmark = pytest.mark.stack


def _secret(site_app) -> str:
    return str(site_app.config["SECRET_KEY"])


def _rich_dj(stack, site_app, make_dj) -> dict[str, Any]:
    """A DJ with a bit of everything: library, set, uploaded files, consents, ledger, usage, session."""
    name = f"Selector {secrets.token_hex(4)}"
    dj = make_dj(display_name=name, first_name=name, marketing_opt_in=True)
    library = make_library(stack.service, dj.id)
    set_id = make_done_set(stack.service, dj.id, library)
    folder = stack.service.call(
        "POST", "/folders", json={"name": f"upload {dj.id[:8]} {secrets.token_hex(4)}"}
    )
    file_name = f"secret-demo-{secrets.token_hex(4)}.mp3"
    audio = stack.service.upload_file(
        b"ID3fake-audio" * 50, file_name, metadata={"folder": folder["id"]}
    )
    source_name = f"my-crate-{secrets.token_hex(4)}.m3u8"
    source = stack.service.upload_file(b"#EXTM3U\n" + file_name.encode() + b"\n", source_name,
                                       metadata={"folder": folder["id"]})  # fmt: skip
    stack.service.update_item(
        "playlists",
        library["playlist"],
        {"upload_folder": folder["id"], "source_file": source["id"]},
    )
    stack.service.update_item("tracks", library["tracks"][0], {"file": audio["id"]})
    stack.service.create_items("consent_records", [
        {"user": dj.id, "purpose": "terms", "legal_basis": "contract", "granted": True, "source": "signup",
         "document_version": "2026-11-27"},
        {"user": dj.id, "purpose": "marketing_email", "legal_basis": "consent", "granted": True, "source": "signup"},
    ])  # fmt: skip
    ledger.record(stack.service, dj.id, -1, "set_charge", f"set:{set_id}")
    usage.record(stack.service, _secret(site_app), dj.id, "upload", value=1000, detail="m3u8")
    browser = log_in(new_client(site_app), dj)  # a session in Redis, an activity row in Directus
    return {"dj": dj, "name": name, "library": library, "set": set_id, "files": [audio["id"], source["id"]],
            "file_names": [file_name, source_name], "folder": folder["id"], "browser": browser}  # fmt: skip


def _cli(site_app, monkeypatch, *args: str) -> str:
    for name, value in worker_environment(site_app).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["privacy", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _everything(stack, site_redis) -> str:
    """A text dump of every store: every collection, Directus's own tables, storage and Redis."""
    snapshot = yaml.safe_load(SNAPSHOT_FILE.read_text())
    parts = []
    for collection in [c["collection"] for c in snapshot["collections"]]:
        parts.append(
            json.dumps(stack.admin.list_items(collection, fields=["*"], limit=-1), default=str)
        )
    for system in ("directus_users", "directus_files", "directus_folders", "directus_revisions",
                   "directus_activity", "directus_notifications"):  # fmt: skip
        path = "/" + system.removeprefix("directus_")
        parts.append(
            json.dumps(
                stack.admin.call("GET", path, params={"limit": -1, "fields": "*"}), default=str
            )
        )
    for path in stack.settings.uploads_dir.rglob("*"):
        parts.append(str(path))
        if path.is_file():
            parts.append(path.read_bytes().decode("latin-1"))
    for connection in (stack.redis, site_redis):
        for key in connection.scan_iter(count=1000):
            parts.append(key.decode("latin-1"))
            kind = connection.type(key).decode()
            if kind == "string":
                parts.append(connection.get(key).decode("latin-1"))
            elif kind == "hash":
                parts.append(str(connection.hgetall(key)))
            elif kind in ("set",):
                parts.append(str(connection.smembers(key)))
            elif kind == "zset":
                parts.append(str(connection.zrange(key, 0, -1)))
            elif kind == "list":
                parts.append(str(connection.lrange(key, 0, -1)))
    return "\n".join(parts)


def test_an_erased_dj_leaves_no_trace_and_other_djs_keep_everything(
    stack, site_app, site_redis, make_dj, monkeypatch, caplog
) -> None:
    gone = _rich_dj(stack, site_app, make_dj)
    kept = _rich_dj(stack, site_app, make_dj)
    before = _everything(stack, site_redis)
    assert gone["dj"].email in before and gone["dj"].id in before  # the scan does see a DJ

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="service"):
        output = _cli(site_app, monkeypatch, "erase", gone["dj"].email, "--now")

    assert "files" in output and "directus_revisions" in output
    after = _everything(stack, site_redis)
    for needle in (gone["dj"].id, gone["dj"].email, gone["name"], *gone["file_names"]):
        assert needle not in after, f"{needle!r} survived the erasure"
        assert needle not in caplog.text, f"{needle!r} is in the service's log"
    for needle in (kept["dj"].id, kept["dj"].email, kept["name"], *kept["file_names"]):
        assert needle in after, f"{needle!r} of another DJ went too"
    assert stack.service.count("tracks", {"owner": {"_eq": kept["dj"].id}}) == 4
    assert stack.service.count("set_tracks", {"set": {"_eq": kept["set"]}}) == 4

    hashed = privacy.pseudonym(_secret(site_app), gone["dj"].id)
    proofs = stack.service.list_items(
        "consent_records", filter={"subject_hash": {"_eq": hashed}}, limit=-1
    )
    assert {p["purpose"] for p in proofs} == {
        "terms",
        "marketing_email",
    }  # minimal proof, pseudonymised
    kept_ledger = stack.service.list_items(
        "token_ledger", filter={"owner_hash": {"_eq": hashed}}, limit=-1
    )
    assert sorted(row["delta"] for row in kept_ledger) == [-1, 3]  # financial records stay
    assert gone["browser"].get("/dashboard").status_code == 302  # the session is gone


def test_erasing_twice_changes_nothing_and_reports_zeros(
    stack, site_app, site_redis, make_dj
) -> None:
    dj = make_dj()
    make_library(stack.service, dj.id)
    first = erase.erase_user(stack.service, site_redis, _secret(site_app), dj.id)
    second = erase.erase_user(stack.service, site_redis, _secret(site_app), dj.id)
    assert first["tracks"] == 4 and first["users"] == 1
    assert second["tracks"] == 0 and second["users"] == 0 and second["playlists"] == 0


def test_a_30_day_old_deletion_request_leaves_no_trace(
    stack, site_app, site_redis, make_dj
) -> None:
    secret = _secret(site_app)
    dj = make_dj()
    make_library(stack.service, dj.id)
    request = privacy.open_request(stack.service, secret, dj.id, "deletion")
    request = privacy.verify(stack.service, secret, request, "password", actor=dj.id)
    request = erase.deactivate(stack.service, site_redis, secret, request, actor=dj.id)
    assert (
        stack.service.get_item("directus_users", dj.id, fields=["status"])["status"] == "suspended"
    )

    import datetime as dt

    early = erase.purge_due(
        stack.service, site_redis, secret, at=privacy.now() + dt.timedelta(days=29)
    )
    assert early.get("accounts", 0) == 0
    assert stack.service.count("tracks", {"owner": {"_eq": dj.id}}) == 4

    counts = erase.purge_due(
        stack.service, site_redis, secret, at=privacy.now() + dt.timedelta(days=30, minutes=1)
    )
    assert counts["accounts"] >= 1 and counts["tracks"] >= 4
    assert stack.admin.count("directus_users", {"id": {"_eq": dj.id}}) == 0
    done = privacy.get_request(stack.service, request["id"])
    assert done["state"] == "complete" and done["user"] is None
    assert done["subject_hash"] == privacy.pseudonym(secret, dj.id)


def test_a_dj_can_download_everything_we_hold_about_them(
    stack, site_app, make_dj, monkeypatch, tmp_path
) -> None:
    mine = _rich_dj(stack, site_app, make_dj)
    other = _rich_dj(stack, site_app, make_dj)
    out = tmp_path / "export.zip"
    _cli(site_app, monkeypatch, "export", mine["dj"].email, "-o", str(out))

    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        data = {
            n: json.loads(archive.read(n)) for n in names if n.endswith(".json") and "/" not in n
        }
        blob = b"".join(archive.read(n) for n in names).decode("latin-1")
    assert {f["name"] for f in manifest["files"]} == names - {"manifest.json"}
    assert manifest["schema_version"] and manifest["made_at"]
    dj = mine["dj"].id
    for collection, name, filter_ in (
        ("tracks", "tracks.json", {"owner": {"_eq": dj}}),
        ("playlists", "playlists.json", {"owner": {"_eq": dj}}),
        ("sets", "sets.json", {"owner": {"_eq": dj}}),
        ("token_ledger", "ledger.json", {"owner": {"_eq": dj}}),
        ("consent_records", "consents.json", {"user": {"_eq": dj}}),
        ("privacy_requests", "privacy_requests.json", {"user": {"_eq": dj}}),
        ("subscriptions", "subscriptions.json", {"user": {"_eq": dj}}),
    ):
        expected = {
            str(i["id"])
            for i in stack.admin.list_items(collection, filter=filter_, fields=["id"], limit=-1)
        }
        assert {str(i["id"]) for i in data[name]} == expected, name
    assert data["profile.json"]["email"] == mine["dj"].email
    tracks = {t["id"]: t for t in data["tracks.json"]}
    assert all("sources" in t and "bpm" in t for t in tracks.values())
    assert len(data["sets.json"][0]["transitions"]) == 4
    assert any(n.endswith(".m3u8") and n.startswith("sets/") for n in names)
    assert any(n.endswith(".xml") and n.startswith("sets/") for n in names)
    for file_name in mine["file_names"]:
        assert any(n.endswith(file_name) for n in names), file_name
    for needle in (other["dj"].id, other["dj"].email, other["name"], *other["file_names"]):
        assert needle not in blob


def test_every_transition_is_audited_with_hashes_only(stack, site_app, make_dj) -> None:
    secret = _secret(site_app)
    dj = make_dj()
    request = privacy.open_request(stack.service, secret, dj.id, "objection")
    request = privacy.verify(stack.service, secret, request, "password", actor=dj.id)
    request = privacy.transition(stack.service, secret, request, "in_progress", actor=dj.id)
    privacy.transition(stack.service, secret, request, "complete", actor=privacy.SYSTEM)
    trail = stack.admin.list_items(
        "audit_log", filter={"request": {"_eq": request["id"]}}, sort=["id"], limit=-1
    )
    assert [row["action"] for row in trail] == [
        "privacy_request.received", "privacy_request.verified", "privacy_request.in_progress",
        "privacy_request.complete"]  # fmt: skip
    hashed = privacy.pseudonym(secret, dj.id)
    assert all(row["subject"] == hashed for row in trail)
    assert dj.id not in json.dumps(trail) and dj.email not in json.dumps(trail)


def test_an_unverified_request_cannot_run(stack, site_app, make_dj, monkeypatch) -> None:
    secret = _secret(site_app)
    dj = make_dj()
    request = privacy.open_request(stack.service, secret, dj.id, "deletion")
    for target in ("in_progress", "complete"):
        with pytest.raises(privacy.InvalidTransition):
            privacy.transition(stack.service, secret, request, target, actor=dj.id)
    from service.jobs.privacy import export

    for name, value in worker_environment(site_app).items():
        monkeypatch.setenv(name, value)
    access = privacy.open_request(stack.service, secret, dj.id, "access")
    assert export(access["id"]).startswith("nothing to do")
    assert privacy.get_request(stack.service, access["id"])["export_file"] is None


def test_nothing_can_update_or_delete_an_audit_row(stack, site_app, make_dj) -> None:
    dj = make_dj()
    entry = privacy.audit(
        stack.service, _secret(site_app), "test.entry", actor=dj.id, subject=dj.id
    )
    url = f"{stack.settings.directus_url}/items/audit_log/{entry['id']}"
    headers = {"Authorization": f"Bearer {stack.settings.service_token}"}
    assert (
        requests.patch(url, json={"action": "forged"}, headers=headers, timeout=10).status_code
        == 403
    )
    assert requests.delete(url, headers=headers, timeout=10).status_code == 403
    from service.stack.access import load_access

    for policy in load_access()["policies"]:
        assert set(policy.get("permissions", {}).get("audit_log", [])) <= {"create", "read"}, (
            policy["name"]
        )
    assert stack.admin.get_item("audit_log", entry["id"])["action"] == "test.entry"


def test_signed_links_refuse_forgeries_and_other_purposes() -> None:
    token = links.make("key", "unsubscribe", "user-1")
    assert links.read("key", "unsubscribe", token) == "user-1"
    assert links.read("other-key", "unsubscribe", token) is None
    assert links.read("key", "export", token) is None
    assert links.read("key", "unsubscribe", token[:-2] + "xx") is None
    assert links.read("key", "confirm", links.make("key", "confirm", "r"), max_age_s=-1) is None


def test_staff_see_open_and_overdue_requests_with_their_audit_trail_in_the_studio(stack) -> None:
    from service.stack.access import load_access, role_id

    staff = role_id("Staff")
    presets = stack.admin.call("GET", "/presets", params={"filter[collection][_eq]": "privacy_requests",
                                                         "filter[role][_eq]": staff, "limit": -1})  # fmt: skip
    by_name = {p["bookmark"]: p for p in presets}
    assert by_name["Overdue privacy requests"]["filter"]["_and"][1] == {"due_at": {"_lt": "$NOW"}}
    assert "due_at" in by_name[None]["layout_query"]["tabular"]["fields"]
    policies = {p["name"]: p for p in load_access()["policies"]}
    assert policies["Staff"]["permissions"]["audit_log"] == ["read"]
    assert set(policies["Staff"]["permissions"]["privacy_requests"]) == {"create", "read", "update"}


def test_a_childs_account_flagged_by_staff_is_purged_at_once(
    stack, site_app, make_dj, monkeypatch
) -> None:
    from service.jobs.events import load_event_map
    from service.jobs.privacy import staff_action

    for name, value in worker_environment(site_app).items():
        monkeypatch.setenv(name, value)
    dj = make_dj()
    make_library(stack.service, dj.id)
    created = stack.admin.create_item("privacy_requests", {"user": dj.id, "kind": "deletion", "state": "received",
                                                           "child_account": True})  # fmt: skip
    forwarded = {
        (f.event, f.pipeline)
        for f in load_event_map().forward
        if f.collection == "privacy_requests"
    }
    assert ("items.create", "privacy_staff") in forwarded  # the Studio's save starts the purge
    assert staff_action(created["id"]).startswith("purged")
    assert stack.admin.count("directus_users", {"id": {"_eq": dj.id}}) == 0
    assert stack.admin.count("tracks", {"owner": {"_eq": dj.id}}) == 0
    done = privacy.get_request(stack.service, created["id"])
    assert done["state"] == "complete" and done["verified_by"] == "staff"
    actions = [e["action"] for e in stack.admin.list_items("audit_log", filter={"request": {"_eq": created["id"]}},
                                                           sort=["id"], limit=-1)]  # fmt: skip
    assert actions == ["privacy_request.received", "privacy_request.verified", "privacy_request.in_progress",
                       "privacy_request.complete"]  # fmt: skip
    assert staff_action(created["id"]).startswith("nothing to do")


def test_uploaded_audio_is_deleted_after_its_retention_and_the_dj_is_warned_first(
    stack, site_app, site_redis, make_dj
) -> None:
    import datetime as dt

    from service.privacy import retention

    rich = _rich_dj(stack, site_app, make_dj)
    config = {**site_app.config, "UPLOAD_RETENTION_DAYS": 365, "UPLOAD_WARNING_DAYS": 14}
    audio, source = rich["files"]
    soon = privacy.now() + dt.timedelta(days=365 - 14 + 1)
    retention.enforce(stack.service, site_redis, config, at=soon)
    stack.mailbox.wait_for(rich["dj"].email, subject_contains="uploaded audio will be deleted")
    warned_twice = len([m for m in stack.mailbox.messages if rich["dj"].email in str(m["To"])
                        and "will be deleted soon" in str(m["Subject"])])  # fmt: skip
    retention.enforce(stack.service, site_redis, config, at=soon)
    assert len([m for m in stack.mailbox.messages if rich["dj"].email in str(m["To"])
                and "will be deleted soon" in str(m["Subject"])]) == warned_twice == 1  # fmt: skip
    assert stack.admin.count("directus_files", {"id": {"_eq": audio}}) == 1
    preview = stack.service.upload_file(b"ID3 a rendered preview", "01-02.mp3",
                                        metadata={"folder": stack.service.folder(set_audio.FOLDER)})  # fmt: skip
    stack.service.update_item("sets", rich["set"], {"render": {"status": "done", "previews": [
        {"from": 1, "to": 2, "file": preview["id"]}]}})  # fmt: skip

    counts = retention.nightly(
        stack.service, site_redis, config, at=privacy.now() + dt.timedelta(days=366)
    )
    assert counts["audio_files_deleted"] >= 1 and "exports_expired" in counts
    assert stack.admin.count("directus_files", {"id": {"_eq": audio}}) == 0
    # The previews made of that audio go with it; the set stays.
    assert counts["rendered_files_deleted"] >= 1  # other tests' sets a year old count too
    assert stack.admin.count("directus_files", {"id": {"_eq": preview["id"]}}) == 0
    assert stack.service.get_item("sets", rich["set"], fields=["render"])["render"] is None
    assert (
        stack.admin.count("directus_files", {"id": {"_eq": source}}) == 1
    )  # the playlist file stays
    track = stack.service.get_item("tracks", rich["library"]["tracks"][0], fields=["file", "title"])
    assert track["file"] is None and track["title"] == "First Light"  # the values stay


def test_the_nightly_job_resumes_an_export_whose_job_was_lost(
    stack, site_app, site_redis, make_dj, run_jobs, monkeypatch
) -> None:
    from service.jobs import privacy as privacy_jobs

    secret = _secret(site_app)
    dj = make_dj()
    request = privacy.open_request(stack.service, secret, dj.id, "portability")
    request = privacy.verify(stack.service, secret, request, "password", actor=dj.id)  # …and no job
    monkeypatch.setattr(privacy_jobs, "EXPORT_STUCK_S", -60)
    assert privacy_jobs.resume_exports(stack.service, site_redis) >= 1
    run_jobs()
    assert privacy.get_request(stack.service, request["id"])["state"] == "complete"


def test_staff_can_only_reject_a_request_with_a_reason_never_run_one(
    stack, site_app, make_dj
) -> None:
    from service.integrations.directus import DirectusForbidden

    dj = make_dj()
    request = privacy.open_request(stack.service, _secret(site_app), dj.id, "access")
    for change in (
        {"state": "complete"},
        {"state": "verified"},
        {"state": "rejected"},
        {"user": None},
    ):
        with pytest.raises(DirectusForbidden):
            stack.admin.update_item("privacy_requests", request["id"], change)
    assert privacy.get_request(stack.service, request["id"])["state"] == "received"
    stack.admin.update_item(
        "privacy_requests", request["id"], {"state": "rejected", "reason": "Duplicate."}
    )
    assert privacy.get_request(stack.service, request["id"])["state"] == "rejected"


def test_a_request_staff_record_in_the_studio_gets_its_due_date_and_audit_entry(
    stack, site_app, make_dj, monkeypatch
) -> None:
    from service.jobs.privacy import staff_action

    for name, value in worker_environment(site_app).items():
        monkeypatch.setenv(name, value)
    dj = make_dj()
    made = stack.admin.create_item(
        "privacy_requests", {"user": dj.id, "kind": "correction", "state": "received"}
    )
    staff_action(made["id"])
    staff_action(made["id"])  # a repeated delivery adds nothing
    recorded = privacy.get_request(stack.service, made["id"])
    assert (
        recorded["subject_hash"] == privacy.pseudonym(_secret(site_app), dj.id)
        and recorded["due_at"]
    )
    trail = stack.admin.list_items("audit_log", filter={"request": {"_eq": made["id"]}}, limit=-1)
    assert [e["action"] for e in trail] == ["privacy_request.received"]
