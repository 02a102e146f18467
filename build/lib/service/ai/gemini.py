"""Gemini through google-genai: structured JSON output from the pydantic answer schema.

One request per attempt (the SDK's own retries stay off, ``service.ai.retry`` decides); 429 and 5xx
are retryable, other 4xx are final, a timeout is final (a slow model stays slow, and the local
provider answers at once).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx2
from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from service.ai.errors import AIError, AIUnavailable, InvalidAnswer
from service.ai.retry import Retryable

__all__ = ["DEFAULT_GEMINI_MODEL", "GeminiBackend", "gemini_schema", "retry_delay_s"]

DEFAULT_GEMINI_MODEL = "gemini-2.5-flash"

log = logging.getLogger(__name__)


def retry_delay_s(exc: errors.APIError) -> float | None:
    """The wait a 429 asks for: the HTTP Retry-After header or Google's RetryInfo detail."""
    headers = getattr(exc.response, "headers", None) or {}
    header = headers.get("retry-after") if hasattr(headers, "get") else None
    if header:
        try:
            return float(header)
        except ValueError:
            pass
    details: Any = exc.details
    if isinstance(details, dict):
        details = details.get("error", details).get("details", [])
    for detail in details if isinstance(details, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and (match := re.fullmatch(r"(\d+(?:\.\d+)?)s", delay)):
            return float(match.group(1))
    return None


def gemini_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The pydantic model's JSON schema without ``additionalProperties``.

    google-genai 3.3.0 refuses ``additionalProperties`` for the Gemini Developer API (it is an
    Agent Platform feature) and lets ``false`` through only by accident of a truthiness check, so
    it is left out; an answer with invented fields is still refused by ``service.ai.validation``.
    """

    def strip(node: Any) -> Any:
        """The node with every additionalProperties key removed, recursively."""
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "additionalProperties"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(schema.model_json_schema())


class GeminiBackend:
    """Asks a Gemini model for JSON matching a pydantic schema and returns the raw text."""

    name = "gemini"

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_GEMINI_MODEL,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        api_version: str | None = None,  # the SDK's default is "v1"; "v1beta" has newer features
    ) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.secrets = (api_key,)  # never echoed in a fallback reason
        self._client = genai.Client(
            api_key=api_key,
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=base_url,
                api_version=api_version,
                timeout=max(1, round(timeout_s * 1000)),  # the SDK counts milliseconds
            ),
        )

    def generate_json(self, system: str, prompt: str, schema: type[BaseModel]) -> str:
        """One generateContent call; raises Retryable, AIUnavailable, AIError or InvalidAnswer."""
        try:
            response = self._client.models.generate_content(
                model=self.model,
                contents=prompt,
                config=types.GenerateContentConfig(
                    system_instruction=system,
                    response_mime_type="application/json",
                    response_schema=gemini_schema(schema),
                    temperature=0.4,
                ),
            )
        except errors.APIError as exc:
            label = f"HTTP {exc.code}" + (f" {exc.status}" if exc.status else "")
            if exc.code == 429 or (exc.code or 0) >= 500:
                raise Retryable(f"gemini answered {label}", retry_delay_s(exc)) from exc
            raise AIError(f"gemini refused the request: {label}: {exc.message}") from exc
        except json.JSONDecodeError as exc:  # a 200 from something that is not the Gemini API
            raise AIError(
                "gemini answered with a body that is not JSON "
                "(is GEMINI_BASE_URL the Gemini API endpoint?)"
            ) from exc
        except httpx2.TimeoutException as exc:
            raise AIUnavailable(f"gemini did not answer within {self.timeout_s:g} s") from exc
        except httpx2.TransportError as exc:
            raise Retryable(f"gemini could not be reached ({type(exc).__name__}: {exc})") from exc
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            reason = getattr(feedback.block_reason, "value", feedback.block_reason)
            raise InvalidAnswer(f"gemini blocked the request (block reason {reason})")
        candidates = response.candidates or []
        finish = candidates[0].finish_reason if candidates else None
        finish_name = getattr(finish, "value", finish)
        if finish_name == "MAX_TOKENS":
            raise InvalidAnswer("gemini's answer was cut off (finish reason MAX_TOKENS)")
        usage = response.usage_metadata
        if usage is not None:
            log.info(
                "gemini %s: %s prompt + %s answer tokens",
                self.model,
                usage.prompt_token_count,
                usage.candidates_token_count,
            )
        text = response.text
        if not text:
            raise InvalidAnswer(f"gemini returned no text (finish reason {finish_name or 'none'})")
        return text
