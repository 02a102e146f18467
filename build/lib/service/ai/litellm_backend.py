"""Any OpenAI-compatible chat endpoint through LiteLLM (a hosted model, a proxy, a local server).

LiteLLM is imported on first use: it takes seconds to import, and by default fetches a model price
list from GitHub at import time, which ``LITELLM_LOCAL_MODEL_COST_MAP`` turns off (the service must
work without the internet; the bundled copy is enough for us).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import openai
from pydantic import BaseModel

from service.ai.errors import AIError, AIUnavailable, InvalidAnswer
from service.ai.retry import Retryable

__all__ = [
    "DEFAULT_LITELLM_MODEL",
    "LiteLLMBackend",
    "retry_after_s",
    "strict_response_format",
]

DEFAULT_LITELLM_MODEL = "openai/gpt-4o-mini"

log = logging.getLogger(__name__)

# local model servers ignore the key, but the OpenAI client refuses to send a request without one
_NO_KEY = "no-key"


def retry_after_s(headers: Any) -> float | None:
    """The wait an OpenAI-style 429 asks for: ``retry-after-ms`` or ``retry-after`` in seconds."""
    if not hasattr(headers, "get"):
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except ValueError:
            continue  # an HTTP date: rare from model APIs, and the backoff covers it
    return None


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm  # imported on first use, see the module docstring

    litellm.suppress_debug_info = True  # otherwise every error prints a "Give Feedback" banner
    return litellm


def strict_response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """OpenAI's ``response_format`` asking for JSON that follows the pydantic schema strictly."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": schema.__name__,
            "schema": schema.model_json_schema(),
            "strict": True,
        },
    }


class LiteLLMBackend:
    """Asks an OpenAI-compatible model for JSON matching a pydantic schema; returns the raw text."""

    name = "litellm"

    def __init__(
        self,
        model: str = DEFAULT_LITELLM_MODEL,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.api_key = api_key or (_NO_KEY if api_base else None)
        self.timeout_s = timeout_s
        self.secrets = tuple(k for k in (api_key,) if k)  # never echoed in a fallback reason

    def generate_json(self, system: str, prompt: str, schema: type[BaseModel]) -> str:
        """One chat completion; raises Retryable, AIUnavailable, AIError or InvalidAnswer."""
        litellm = _litellm()
        try:
            response = litellm.completion(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": prompt},
                ],
                api_base=self.api_base,
                api_key=self.api_key,
                response_format=strict_response_format(schema),
                timeout=self.timeout_s,
                temperature=0.4,
                max_retries=0,  # the OpenAI client would retry twice on its own; retry.py decides
                # models that refuse a parameter (temperature on reasoning models) get the request
                # without it instead of a 400; the fakes check response_format still goes out
                drop_params=True,
            )
        except litellm.Timeout as exc:  # a subclass of APIConnectionError: check it first
            raise AIUnavailable(f"litellm did not answer within {self.timeout_s:g} s") from exc
        except openai.APIConnectionError as exc:
            raise Retryable(f"litellm could not reach {self.api_base or self.model}") from exc
        except openai.APIError as exc:  # LiteLLM maps every provider's errors onto OpenAI's
            status = getattr(exc, "status_code", None)
            text = str(exc)
            # LiteLLM reports both a refused connection and a 200 that is not a chat completion
            # as a 500; tell them apart so the reason says what really happened
            if "Connection error" in text:
                raise Retryable(f"litellm could not reach {self.api_base or self.model}") from exc
            if "[200 OK]" in text:
                raise AIError(
                    "litellm got a 200 answer that is not an OpenAI chat completion "
                    f"(is {self.api_base or 'the api_base'} an OpenAI-compatible /v1 URL?)"
                ) from exc
            if status == 429 or (isinstance(status, int) and status >= 500):
                headers = getattr(getattr(exc, "response", None), "headers", None)
                raise Retryable(f"litellm answered HTTP {status}", retry_after_s(headers)) from exc
            detail = text.rsplit("OpenAIException - ", 1)[-1]
            raise AIError(f"litellm refused the request: HTTP {status}: {detail}") from exc
        usage = getattr(response, "usage", None)
        if usage is not None:
            log.info(
                "litellm %s: %s prompt + %s answer tokens",
                self.model,
                getattr(usage, "prompt_tokens", None),
                getattr(usage, "completion_tokens", None),
            )
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise InvalidAnswer("litellm returned no choices")
        message = choices[0].message
        content = getattr(message, "content", None)
        if choices[0].finish_reason == "length":
            raise InvalidAnswer("litellm's answer was cut off (finish reason length)")
        if not content:
            refusal = getattr(message, "refusal", None)
            detail = (
                f"refused: {refusal}" if refusal else f"finish reason {choices[0].finish_reason}"
            )
            raise InvalidAnswer(f"litellm returned no content ({detail})")
        return str(content)
