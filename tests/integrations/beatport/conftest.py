"""The fake Beatport server and a client pointed at it, with the test Redis database for cache and pace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from service.integrations.beatport import BeatportClient, Tokens
from tests.support.fake_beatport import FakeBeatport, catalog_track, fake_beatport
from tests.support.stack import TEST_REDIS_DB


@pytest.fixture
def fake() -> Iterator[FakeBeatport]:
    """A fake Beatport with a small catalog."""
    with fake_beatport() as server:
        server.add(
            catalog_track(1, "Losing It", ["FISHER"], isrc="AUUM71800541", length_ms=370_000),
            catalog_track(
                2,
                "Losing It",
                ["FISHER"],
                mix_name="Radio Edit",
                isrc="AUUM71800542",
                length_ms=190_000,
            ),
            *(
                catalog_track(100 + n, f"Filler {n}", ["Nobody"], isrc="FILLER00001")
                for n in range(23)
            ),
        )
        yield server


@pytest.fixture
def connection() -> Iterator[redis.Redis]:
    """The test Redis database, emptied of Beatport keys before and after."""
    conn = redis.Redis(db=TEST_REDIS_DB)

    def clear() -> None:
        for key in conn.scan_iter("aidj:beatport:*"):
            conn.delete(key)

    clear()
    yield conn
    clear()


@pytest.fixture
def make_client(fake: FakeBeatport, connection: redis.Redis) -> Callable[..., BeatportClient]:
    """A client for the fake, connected as its user unless ``tokens=None``."""

    def make(**options: Any) -> BeatportClient:
        options.setdefault("tokens", Tokens.from_response(fake.issue_tokens()))
        options.setdefault("connection", connection)
        options.setdefault("backoff_s", 0.01)
        return BeatportClient(
            fake.url + "/v4", client_id=fake.client_id, client_secret=fake.client_secret, **options
        )

    return make
