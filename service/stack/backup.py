"""Backups of everything AIDJSets keeps, and restoring one onto a fresh stack.

A backup is one ``.tar.gz``: the Directus database (``pg_dump`` custom format for PostgreSQL, an
online copy through SQLite's backup API for SQLite, both consistent while the stack runs), every
uploaded file from Directus's storage folder, the schema snapshot and access file the code ran with,
and ``manifest.json``: when, which environment, database vendor, schema version, the rows of every
table, and the size and SHA-256 of every file in the archive. ``restore`` checks every checksum
before it touches anything, then replaces the environment's database and storage folder; Directus
then starts on the restored data as it was (accounts, passwords, static tokens included).

With files in S3 (``AIDJ_STORAGE=s3``, for several Directus instances) the archive holds the database
and schema only and its manifest names the bucket: the bucket is backed up by the object store itself
(versioning, replication), and a restore leaves it as it is.

Backups hold personal data: keep them where the database is kept, encrypted at rest, and no longer
than the retention the privacy policy states (``--keep``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from service.stack import services
from service.stack.settings import ACCESS_FILE, SNAPSHOT_FILE, StackSettings, snapshot_version

log = logging.getLogger(__name__)

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.pgdump"
SQLITE_COPY = "database.sqlite"
UPLOADS = "uploads"


class BackupError(RuntimeError):
    """A backup that cannot be made or restored; the message says why."""


@dataclass
class Manifest:
    """What a backup holds, to check it and to compare a restore with it."""

    format: int
    created_at: str
    env: str
    database: str  # "pg" or "sqlite3"
    schema_version: str
    tables: dict[str, int] = field(default_factory=dict)  # rows per table at backup time
    files: dict[str, dict[str, object]] = field(default_factory=dict)  # path → size, sha256
    storage: str = "local"  # "local" (files in the archive) or "s3://<bucket>" (files left there)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_env(settings: StackSettings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.database.password:
        env["PGPASSWORD"] = settings.database.password
    return env


def _pg_args(settings: StackSettings) -> list[str]:
    db = settings.database
    return ["-h", db.host, "-p", str(db.port), "-U", db.user]


def _pg_connect(settings: StackSettings) -> psycopg.Connection:
    db = settings.database
    return psycopg.connect(
        host=db.host, port=db.port, user=db.user, password=db.password or None, dbname=db.name
    )


def _count_rows(conn: psycopg.Connection | sqlite3.Connection, names: list[str]) -> dict[str, int]:
    return {
        name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        for name in sorted(names)
    }


_PG_TABLES = (
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
)
_SQLITE_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


def table_rows(settings: StackSettings) -> dict[str, int]:
    """Rows of every table in the environment's database (Directus's and ours)."""
    db = settings.database
    if db.client == "pg":
        with _pg_connect(settings) as conn:
            return _count_rows(conn, [row[0] for row in conn.execute(_PG_TABLES)])
    with sqlite3.connect(f"file:{db.filename}?mode=ro", uri=True) as conn:
        return _count_rows(conn, [row[0] for row in conn.execute(_SQLITE_TABLES)])


def _dump_database(settings: StackSettings, folder: Path) -> dict[str, int]:
    """Dump the database into ``folder``; returns the rows per table of exactly what was dumped."""
    db = settings.database
    if db.client == "pg":
        with _pg_connect(settings) as conn:
            # pg_dump reads the same snapshot as the counts, so both describe one moment.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            tables = _count_rows(conn, [row[0] for row in conn.execute(_PG_TABLES)])
            try:
                subprocess.run(
                    ["pg_dump", *_pg_args(settings), "--format=custom", "--no-owner",
                     "--no-privileges", f"--snapshot={snapshot}", "--file", str(folder / PG_DUMP),
                     db.name],
                    env=_pg_env(settings), check=True, capture_output=True, text=True,
                )  # fmt: skip
            except subprocess.CalledProcessError as exc:
                raise BackupError(f"pg_dump failed: {exc.stderr.strip()}") from exc
            conn.rollback()
        return tables
    if db.filename is None or not db.filename.exists():
        raise BackupError(f"no SQLite database at {db.filename}")
    # SQLite's online backup copies a consistent state even while Directus writes.
    with sqlite3.connect(db.filename) as source, sqlite3.connect(folder / SQLITE_COPY) as copy:
        source.backup(copy)
        return _count_rows(copy, [row[0] for row in copy.execute(_SQLITE_TABLES)])


def backup(settings: StackSettings, out_dir: Path, *, keep: int | None = None) -> Path:
    """Write a backup of ``settings``' stack into ``out_dir``; keep only the newest ``keep``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out_dir / f"aidjsets-{settings.env}-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="aidj-backup-") as tmp:
        folder = Path(tmp)
        tables = _dump_database(settings, folder)
        storage = settings.storage
        if storage.kind == "s3":
            log.warning(
                "files are in s3://%s: back the bucket up with its versioning", storage.bucket
            )
        elif settings.uploads_dir.is_dir():
            shutil.copytree(settings.uploads_dir, folder / UPLOADS)
        shutil.copy2(SNAPSHOT_FILE, folder / "snapshot.yaml")
        shutil.copy2(ACCESS_FILE, folder / "access.yaml")
        files = {
            str(path.relative_to(folder)): {"size": path.stat().st_size, "sha256": _sha256(path)}
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        manifest = Manifest(
            format=BACKUP_FORMAT,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            env=settings.env,
            database=settings.database.client,
            schema_version=snapshot_version(),
            tables=tables,
            files=files,
            storage="local" if storage.kind == "local" else f"s3://{storage.bucket}",
        )
        (folder / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1))
        partial = target.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as archive:
            for path in sorted(folder.iterdir()):
                archive.add(path, arcname=path.name)
        partial.rename(target)  # a backup is either whole or absent
    log.info("backup %s: %d tables, %d files", target.name, len(tables), len(files))
    if keep is not None:
        prune(out_dir, settings.env, keep)
    return target


def prune(out_dir: Path, env: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of ``env`` in ``out_dir``; returns what went."""
    backups = sorted(out_dir.glob(f"aidjsets-{env}-*.tar.gz"))
    gone = backups[: max(0, len(backups) - keep)]
    for path in gone:
        path.unlink()
        log.info("backup %s removed (keeping the newest %d)", path.name, keep)
    return gone


def read_backup(archive: Path, folder: Path) -> Manifest:
    """Unpack ``archive`` into ``folder`` and check every file against the manifest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder, filter="data")  # no links out, no absolute paths
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive.name} cannot be read: {exc}") from exc
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{archive.name} has no {MANIFEST}: not an AIDJSets backup")
    manifest = Manifest(**json.loads(manifest_path.read_text()))
    if manifest.format != BACKUP_FORMAT:
        raise BackupError(f"backup format {manifest.format} is not {BACKUP_FORMAT}")
    for name, meta in manifest.files.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != meta["sha256"]:
            raise BackupError(f"{name} in {archive.name} is missing or damaged (checksum)")
    return manifest


def restore(settings: StackSettings, archive: Path) -> Manifest:
    """Replace ``settings``' database and storage folder with the backup's; Directus must be stopped."""
    with tempfile.TemporaryDirectory(prefix="aidj-restore-") as tmp:
        folder = Path(tmp)
        manifest = read_backup(archive, folder)
        if manifest.database != settings.database.client:
            raise BackupError(
                f"the backup holds a {manifest.database} database; "
                f"this stack runs {settings.database.client}"
            )
        if manifest.storage.startswith("s3://") != (settings.storage.kind == "s3"):
            raise BackupError(
                f"the backup's files are in {manifest.storage}; "
                f"this stack keeps files in {settings.storage.kind} storage"
            )
        db = settings.database
        if db.client == "pg":
            services.create_database(db, drop_first=True)
            result = subprocess.run(
                ["pg_restore", *_pg_args(settings), "--no-owner", "--no-privileges",
                 "--dbname", db.name, str(folder / PG_DUMP)],
                env=_pg_env(settings), capture_output=True, text=True,
            )  # fmt: skip
            if result.returncode != 0:
                raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        else:
            assert db.filename is not None
            db.filename.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / SQLITE_COPY, db.filename)
        if settings.storage.kind == "local":
            if settings.uploads_dir.exists():
                shutil.rmtree(settings.uploads_dir)
            if (folder / UPLOADS).is_dir():
                shutil.copytree(folder / UPLOADS, settings.uploads_dir)
            else:
                settings.uploads_dir.mkdir(parents=True)
    restored = table_rows(settings)
    differing = {
        t: (n, restored.get(t)) for t, n in manifest.tables.items() if restored.get(t) != n
    }
    if differing:
        raise BackupError(
            f"restored tables differ from the backup (rows backed up, restored): {differing}"
        )
    log.info("restored %s: %d tables, %d files", archive.name, len(restored), len(manifest.files))
    return manifest
