"""A backup holds everything, refuses to restore when damaged, and restores onto a fresh stack where
every collection, account and file is as it was."""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import tarfile

import pytest

from service import ledger
from service.integrations.directus import DirectusClient
from service.stack import directus, services
from service.stack.backup import BackupError, backup, prune, read_backup, restore
from service.stack.settings import free_port
from tests.pipelines.helpers import make_dj, make_library, tagged_wav

pytestmark = pytest.mark.stack

# What this module makes, by owner (other modules share the stack and change their own rows).
OWNED = ("playlists", "tracks", "token_ledger")


def _mine(client: DirectusClient, owner: str, folder: str) -> dict[str, list[dict]]:
    """Every row and file this module made: the DJ, their library and ledger, the uploaded files."""
    found = {
        name: client.list_items(name, filter={"owner": {"_eq": owner}}, limit=-1, sort=["id"])
        for name in OWNED
    }
    found["directus_users"] = [client.get_item("directus_users", owner)]
    found["directus_files"] = client.call(
        "GET", "/files", params={"filter[folder][_eq]": folder, "limit": -1, "sort": "id"}
    )
    return found


@pytest.fixture(scope="module")
def backed_up(stack, tmp_path_factory):
    """Some of everything, then a backup of the running stack."""
    owner = make_dj(stack.service, grant=4)
    make_library(stack.service, owner, 5)
    local = tmp_path_factory.mktemp("upload")
    folder = stack.service.call("POST", "/folders", json={"name": f"backup test {owner[:8]}"})
    for name in ("One.wav", "Two.wav"):
        path = tagged_wav(local, name, title=name.removesuffix(".wav"))
        stack.service.upload_file(path, name, metadata={"folder": folder["id"]})
    ledger.grant(stack.service, owner, 1, f"backup-test:{owner}", reason="adjustment")
    before = _mine(stack.admin, owner, folder["id"])
    out = tmp_path_factory.mktemp("backups")
    return backup(stack.settings, out), before, owner, folder["id"]


def test_a_backup_names_every_table_and_checks_every_file(stack, backed_up, tmp_path) -> None:
    archive, *_ = backed_up
    manifest = read_backup(archive, tmp_path)
    assert manifest.database == stack.settings.database.client
    assert {"directus_users", "tracks", "token_ledger"} <= set(manifest.tables)
    uploads = [name for name in manifest.files if name.startswith("uploads/")]
    stored = [p for p in stack.settings.uploads_dir.rglob("*") if p.is_file()]
    assert len(uploads) == len(stored) >= 2
    assert "snapshot.yaml" in manifest.files and "access.yaml" in manifest.files


def test_a_damaged_backup_is_refused_before_anything_is_touched(backed_up, tmp_path) -> None:
    archive, *_ = backed_up
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as copy:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            if data is not None and member.name.startswith("uploads/") and member.size:
                body = bytearray(data.read())
                body[len(body) // 2] ^= 0xFF
                member.size = len(body)
                copy.addfile(member, io.BytesIO(bytes(body)))
            else:
                copy.addfile(member, data)
    with pytest.raises(BackupError, match="damaged"):
        read_backup(damaged, tmp_path / "out")


def test_a_backup_of_files_in_s3_names_the_bucket_and_is_not_restored_onto_local_files(
    stack, backed_up, tmp_path
) -> None:
    archive, *_ = backed_up
    assert read_backup(archive, tmp_path / "local").storage == "local"
    s3_archive = tmp_path / "s3.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(s3_archive, "w:gz") as copy:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            if member.name == "manifest.json" and data is not None:
                manifest = json.loads(data.read())
                manifest["storage"] = "s3://sets"
                manifest["files"] = {
                    k: v for k, v in manifest["files"].items() if not k.startswith("uploads/")
                }
                body = json.dumps(manifest).encode()
                member.size = len(body)
                copy.addfile(member, io.BytesIO(body))
            elif not member.name.startswith("uploads"):
                copy.addfile(member, data)

    with pytest.raises(BackupError, match="s3://sets"):
        restore(stack.settings, s3_archive)  # refused before the database is touched


def test_a_backup_restores_onto_a_fresh_stack_with_everything_as_it_was(
    stack, backed_up, tmp_path
) -> None:
    archive, before, owner, folder = backed_up
    fresh = dataclasses.replace(
        stack.settings,
        var_dir=tmp_path,
        database=dataclasses.replace(
            stack.settings.database,
            name=f"aidj_restore_{secrets.token_hex(4)}",
            filename=tmp_path / "directus.sqlite",
        ),
        directus_port=free_port(),
    )
    restore(fresh, archive)  # every table's rows equal the backup's, or it raises
    directus.write_env_file(fresh)
    process = directus.start(fresh)
    try:
        directus.wait_until_ready(fresh, process)
        # The restored accounts keep their static tokens: the same admin token works there.
        restored = DirectusClient(fresh.directus_url, stack.settings.admin_token)
        after = _mine(restored, owner, folder)
        assert after == before
        assert all(after[name] for name in after), "every kind of row came back"
        for file in after["directus_files"]:
            assert restored.download_file(file["id"]) == stack.admin.download_file(file["id"])
    finally:
        directus.stop(process)
        if fresh.database.client == "pg":
            services.drop_database(fresh.database)


def test_only_the_newest_backups_are_kept(tmp_path) -> None:
    for stamp in ("20261101T000000Z", "20261102T000000Z", "20261103T000000Z"):
        (tmp_path / f"aidjsets-dev-{stamp}.tar.gz").write_bytes(b"x")
    (tmp_path / "aidjsets-production-20261101T000000Z.tar.gz").write_bytes(b"x")

    gone = prune(tmp_path, "dev", keep=2)

    assert [p.name for p in gone] == ["aidjsets-dev-20261101T000000Z.tar.gz"]
    assert (tmp_path / "aidjsets-production-20261101T000000Z.tar.gz").exists()
