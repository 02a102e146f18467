"""Fixtures: fake model servers on local ports, and providers configured to talk to them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from service.ai import NotesProvider, provider_from_config

from .fake_servers import FakeGemini, FakeOpenAI, Reply, ScriptedServer

# Tiny backoff so retry tests take milliseconds; the production defaults are 1 s doubling, ≤ 10 s.
FAST_RETRIES = {
    "AI_TIMEOUT_S": "5",
    "AI_MAX_RETRIES": "2",
    "AI_RETRY_BACKOFF_S": "0.001",
    "AI_RETRY_MAX_DELAY_S": "0.01",
}


@dataclass
class ModelUnderTest:
    """A fake server and the configuration that points a real provider client at it."""

    name: str
    server: ScriptedServer
    config: dict[str, str]

    def provider(self, **overrides: str) -> NotesProvider:
        """A provider built the way the engine builds it, from a config mapping."""
        return provider_from_config({**self.config, **overrides})

    def answer(self, content: Any, **kwargs: Any) -> Reply:
        """A successful reply carrying ``content`` as the model's JSON text."""
        return self.server.answer(content, **kwargs)  # type: ignore[attr-defined]

    def error(self, status: int) -> Reply:
        """A recorded error reply."""
        return self.server.error(status)  # type: ignore[attr-defined]


def _serve(server: ScriptedServer) -> Iterator[ScriptedServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
    # every request the real client sent must have had the shape the real API requires
    assert server.shape_errors == []


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    """A fake Gemini API on a free local port."""
    yield from _serve(FakeGemini())  # type: ignore[misc]


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server on a free local port."""
    yield from _serve(FakeOpenAI())  # type: ignore[misc]


def gemini_config(server: FakeGemini) -> dict[str, str]:
    """Configuration pointing the gemini provider at the fake."""
    return {
        "AI_PROVIDER": "gemini",
        "GEMINI_API_KEY": server.api_key,
        "GEMINI_MODEL": server.model,
        "GEMINI_BASE_URL": server.url,
        **FAST_RETRIES,
    }


def litellm_config(server: FakeOpenAI) -> dict[str, str]:
    """Configuration pointing the litellm provider at the fake."""
    return {
        "AI_PROVIDER": "litellm",
        "LITELLM_MODEL": f"openai/{server.model}",
        "LITELLM_API_BASE": f"{server.url}/v1",
        "LITELLM_API_KEY": server.api_key,
        **FAST_RETRIES,
    }


@pytest.fixture(params=["gemini", "litellm"])
def model(request: pytest.FixtureRequest) -> ModelUnderTest:
    """Each model provider in turn, with its fake server running."""
    if request.param == "gemini":
        server = request.getfixturevalue("fake_gemini")
        return ModelUnderTest("gemini", server, gemini_config(server))
    server = request.getfixturevalue("fake_openai")
    return ModelUnderTest("litellm", server, litellm_config(server))
