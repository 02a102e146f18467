"""One interface for set notes and brief reading, chosen by configuration, always with a fallback.

``provider_from_config`` returns a provider whose ``annotate`` and ``interpret_brief`` never raise
for a model's sake: any failure (unreachable, 429/5xx after bounded retries, timeout, malformed or
off-schema JSON, a named track that is not in the set, a missing transition) gives the local
provider's result with ``fallback_reason`` saying what went wrong, so the reason is stored with the
set and the DJ still gets readable notes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from service.ai.errors import AIConfigError, AIError
from service.ai.local import LocalProvider
from service.ai.prompts import BRIEF_SYSTEM, NOTES_SYSTEM, brief_prompt, notes_prompt
from service.ai.retry import RetryPolicy, call_with_retries
from service.ai.types import BriefAnswer, BriefParameters, NotesAnswer, SetNotes, SetView
from service.ai.validation import parse_brief_answer, parse_notes_answer

__all__ = [
    "PROVIDER_NAMES",
    "AISettings",
    "ModelBackend",
    "ModelProvider",
    "NotesProvider",
    "provider_from_config",
    "scrub_secrets",
]

log = logging.getLogger(__name__)

PROVIDER_NAMES: tuple[str, ...] = ("local", "gemini", "litellm")

REASON_CHARS = 300  # longest fallback reason kept with a set


class NotesProvider(Protocol):
    """Writes notes for a set and reads a DJ's brief."""

    name: str

    def annotate(self, set_view: SetView, brief: str | None) -> SetNotes:
        """Title, description, one note per transition and tags for a set."""
        ...

    def interpret_brief(self, text: str) -> BriefParameters:
        """Set parameters (length, arc, BPM range, genres, mood) from a sentence."""
        ...


class ModelBackend(Protocol):
    """One call to a language model asking for JSON that follows a pydantic schema."""

    name: str

    def generate_json(self, system: str, prompt: str, schema: type[BaseModel]) -> str:
        """The model's raw text; raises service.ai.errors exceptions on failure."""
        ...


@dataclass(frozen=True)
class AISettings:
    """The AI configuration read from a mapping (the environment, a test dict)."""

    provider: str = "local"
    gemini_api_key: str | None = None
    gemini_model: str | None = None
    gemini_base_url: str | None = None
    gemini_api_version: str | None = None
    litellm_model: str | None = None
    litellm_api_base: str | None = None
    litellm_api_key: str | None = None
    timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> AISettings:
        """Read AI_PROVIDER, GEMINI_*, LITELLM_*, AI_TIMEOUT_S, AI_MAX_RETRIES, AI_RETRY_*."""

        def text(name: str) -> str | None:
            """The setting as stripped text, or None when unset or blank."""
            value = config.get(name)
            # an app config may hold numbers (AI_TIMEOUT_S=5) where the environment holds text
            return None if value is None else (str(value).strip() or None)

        def number(name: str, default: float, low: float, high: float) -> float:
            """The setting as a number within bounds, or the default when unset."""
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise AIConfigError(f"{name} must be a number, not {raw!r}") from None
            if not low <= value <= high:
                raise AIConfigError(f"{name} must be between {low:g} and {high:g}, not {raw}")
            return value

        provider = (text("AI_PROVIDER") or "local").lower()
        if provider not in PROVIDER_NAMES:
            raise AIConfigError(
                f"unknown AI_PROVIDER {provider!r}: choose one of {', '.join(PROVIDER_NAMES)}"
            )
        defaults = RetryPolicy()
        return cls(
            provider=provider,
            gemini_api_key=text("GEMINI_API_KEY"),
            gemini_model=text("GEMINI_MODEL"),
            gemini_base_url=text("GEMINI_BASE_URL"),
            gemini_api_version=text("GEMINI_API_VERSION"),
            litellm_model=text("LITELLM_MODEL"),
            litellm_api_base=text("LITELLM_API_BASE"),
            litellm_api_key=text("LITELLM_API_KEY"),
            timeout_s=number("AI_TIMEOUT_S", 30.0, 0.01, 600),
            retry=RetryPolicy(
                max_retries=int(number("AI_MAX_RETRIES", defaults.max_retries, 0, 10)),
                backoff_s=number("AI_RETRY_BACKOFF_S", defaults.backoff_s, 0, 60),
                max_delay_s=number("AI_RETRY_MAX_DELAY_S", defaults.max_delay_s, 0, 300),
            ),
        )


# API keys as providers print them in error messages (OpenAI echoes a wrong key back)
_KEY_SHAPES = re.compile(r"\b(sk-|AIza)[\w\-*.]{6,}")


def scrub_secrets(text: str, secrets: tuple[str, ...] = ()) -> str:
    """The text with API keys removed: the reason is stored with the set and shown to people."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[key]")
    return _KEY_SHAPES.sub(lambda m: f"{m.group(1)}…", text)


class ModelProvider:
    """A language model behind the NotesProvider interface, validated, falling back to local."""

    def __init__(
        self,
        backend: ModelBackend,
        retry: RetryPolicy | None = None,
        fallback: LocalProvider | None = None,
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self.retry = retry or RetryPolicy()
        self.fallback = fallback or LocalProvider()

    def _ask(self, system: str, prompt: str, schema: type[BaseModel]) -> str:
        return call_with_retries(
            lambda: self.backend.generate_json(system, prompt, schema), self.retry, self.name
        )

    def _reason(self, exc: Exception) -> str:
        if isinstance(exc, AIError):
            reason = str(exc)
        else:
            # a bug or an SDK surprise must not cost the DJ their notes: fall back, keep the trace
            log.error("%s failed unexpectedly", self.name, exc_info=exc)
            reason = f"{self.name} failed unexpectedly: {type(exc).__name__}: {exc}"
        reason = scrub_secrets(reason, getattr(self.backend, "secrets", ()))
        # stored with the set and shown on its page: a sentence, not a server's whole error page
        return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"

    def annotate(self, set_view: SetView, brief: str | None) -> SetNotes:
        """Notes from the model if they pass validation, else local notes with the reason."""
        if not set_view.tracks:  # nothing to write about: do not pay for a request
            notes = self.fallback.annotate(set_view, brief)
            return notes.model_copy(update={"fallback_reason": "the set is empty"})
        try:
            raw = self._ask(NOTES_SYSTEM, notes_prompt(set_view, brief), NotesAnswer)
            answer = parse_notes_answer(raw, set_view, self.name)
        except Exception as exc:
            reason = self._reason(exc)
            log.warning("AI notes fell back to local: %s", reason)
            notes = self.fallback.annotate(set_view, brief)
            return notes.model_copy(update={"fallback_reason": reason})
        return SetNotes(**answer.model_dump(), provider=self.name)

    def interpret_brief(self, text: str) -> BriefParameters:
        """Parameters from the model if they pass validation, else the local reading with reason."""
        try:
            raw = self._ask(BRIEF_SYSTEM, brief_prompt(text), BriefAnswer)
            answer = parse_brief_answer(raw, self.name)
        except Exception as exc:
            reason = self._reason(exc)
            log.warning("AI brief reading fell back to local: %s", reason)
            params = self.fallback.interpret_brief(text)
            return params.model_copy(update={"fallback_reason": reason})
        return BriefParameters(**answer.model_dump(), provider=self.name)


class UnconfiguredProvider:
    """A model provider that was chosen but cannot run (no key): local output, with the reason."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        self.fallback = LocalProvider()

    def annotate(self, set_view: SetView, brief: str | None) -> SetNotes:
        """Local notes, recording why the configured provider was not used."""
        notes = self.fallback.annotate(set_view, brief)
        return notes.model_copy(update={"fallback_reason": self.reason})

    def interpret_brief(self, text: str) -> BriefParameters:
        """The local reading of the brief, recording why the configured provider was not used."""
        params = self.fallback.interpret_brief(text)
        return params.model_copy(update={"fallback_reason": self.reason})


def provider_from_config(config: Mapping[str, Any]) -> NotesProvider:
    """The provider AI_PROVIDER names (local by default), already wrapped with the local fallback."""
    settings = AISettings.from_mapping(config)
    if settings.provider == "gemini":
        if not settings.gemini_api_key:
            log.warning("AI_PROVIDER=gemini but GEMINI_API_KEY is not set: notes will be local")
            return UnconfiguredProvider(
                "gemini", "gemini is selected but GEMINI_API_KEY is not set"
            )
        from service.ai.gemini import DEFAULT_GEMINI_MODEL, GeminiBackend

        gemini = GeminiBackend(
            api_key=settings.gemini_api_key,
            model=settings.gemini_model or DEFAULT_GEMINI_MODEL,
            base_url=settings.gemini_base_url,
            api_version=settings.gemini_api_version,
            timeout_s=settings.timeout_s,
        )
        return ModelProvider(gemini, settings.retry)
    if settings.provider == "litellm":
        from service.ai.litellm_backend import DEFAULT_LITELLM_MODEL, LiteLLMBackend

        openai_compatible = LiteLLMBackend(
            model=settings.litellm_model or DEFAULT_LITELLM_MODEL,
            api_base=settings.litellm_api_base,
            api_key=settings.litellm_api_key,
            timeout_s=settings.timeout_s,
        )
        return ModelProvider(openai_compatible, settings.retry)
    return LocalProvider()
