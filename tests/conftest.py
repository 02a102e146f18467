"""Fixtures shared by every test; the real stack is started once, only when a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import (
    ServiceProcesses,
    TestStack,
    build_stack,
    start_service_processes,
)


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
