"""Fixtures shared by every test; the real stack is started once, only when a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import TestStack, build_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[TestStack]:
    """The isolated test stack (Directus on PostgreSQL or SQLite, Redis, SMTP), torn down at the end."""
    built = build_stack()
    try:
        yield built
    finally:
        built.close()
