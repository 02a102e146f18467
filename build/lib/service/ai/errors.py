"""Why a model's answer was not used; each message becomes the fallback reason stored with a set."""

from __future__ import annotations

__all__ = ["AIConfigError", "AIError", "AIUnavailable", "InvalidAnswer"]


class AIError(Exception):
    """A model provider failed; the message is a sentence a DJ or operator can read."""


class AIUnavailable(AIError):
    """The model could not be reached or kept failing (timeouts, 429 and 5xx after retries)."""


class InvalidAnswer(AIError):
    """The model answered, but the answer is malformed, off-schema or contradicts the set."""


class AIConfigError(AIError, ValueError):
    """The AI configuration names an unknown provider or an unusable setting."""
