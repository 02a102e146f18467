"""Fixtures shared by every test; the real stack is started once, only when a test asks for it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.support.stack import (
    ServiceProcesses,
    TestStack,
    build_stack,
    start_service_processes,
)

# Property tests: no deadlines on a shared 2-core machine, and in CI the same examples every run, so
# a failure is reproducible rather than a one-off.
settings.register_profile(
    "aidj",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("aidj")


@pytest.fixture(scope="session")
def stack() -> Iterator[TestStack]:
    """The isolated test stack (Directus on PostgreSQL or SQLite, Redis, SMTP), torn down at the end."""
    built = build_stack()
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="session")
def service_processes(stack: TestStack) -> Iterator[ServiceProcesses]:
    """The web service and one RQ worker as real subprocesses on the test stack (opt-in)."""
    processes = start_service_processes(stack)
    try:
        yield processes
    finally:
        processes.close()
