"""The isolated test stack: a fresh database, its own Redis database, Directus on a free port.

Built once per test session on first use and torn down at the end, whether tests pass or fail.
PostgreSQL on 127.0.0.1:5432 is used when it answers, SQLite otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from service.integrations.directus import DirectusClient
from service.stack import directus
from service.stack.services import create_database, drop_database
from service.stack.settings import StackSettings, free_port, load_settings, postgres_reachable
from tests.support.mail import Mailbox, start_smtp

log = logging.getLogger(__name__)

TEST_REDIS_DB = int(os.environ.get("AIDJ_TEST_REDIS_DB", "13"))


@dataclass
class TestStack:
    """A running test stack and clients for it."""

    settings: StackSettings
    admin: DirectusClient
    service: DirectusClient
    mailbox: Mailbox
    _cleanups: list[Any] = field(default_factory=list)

    @property
    def redis(self) -> redis.Redis:
        """The stack's own Redis database."""
        return redis.Redis.from_url(self.settings.redis_url)

    def close(self) -> None:
        """Stop everything the stack started, newest first."""
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        self._cleanups.clear()


def build_stack() -> TestStack:
    """Start a fresh stack; the caller must call ``close()``."""
    var_dir = Path(tempfile.mkdtemp(prefix="aidj-test-"))
    use_pg = (
        postgres_reachable("127.0.0.1", 5432)
        and os.environ.get("AIDJ_TEST_DB", "postgres") == "postgres"
    )
    environ = {
        "AIDJ_VAR_DIR": str(var_dir),
        "AIDJ_DB": "postgres" if use_pg else "sqlite",
        "PGDATABASE": f"aidj_test_{secrets.token_hex(4)}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{TEST_REDIS_DB}",
        "DIRECTUS_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
        "SMTP_PORT": str(free_port()),
    }
    settings = load_settings("test", environ=environ)
    stack_cleanups: list[Any] = [lambda: shutil.rmtree(var_dir, ignore_errors=True)]
    try:
        controller, mailbox = start_smtp(settings.smtp_port)
        stack_cleanups.append(controller.stop)
        redis.Redis.from_url(settings.redis_url).flushdb()
        stack_cleanups.append(lambda: redis.Redis.from_url(settings.redis_url).flushdb())
        if use_pg:
            create_database(settings.database, drop_first=True)
            stack_cleanups.append(lambda: drop_database(settings.database))
        process = directus.provision(settings)
        stack_cleanups.append(lambda: directus.stop(process))
        admin = DirectusClient(settings.directus_url, settings.admin_token)
        service = DirectusClient(settings.directus_url, settings.service_token)
    except BaseException:
        for cleanup in reversed(stack_cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        raise
    return TestStack(settings, admin, service, mailbox, stack_cleanups)
