"""Fake Gemini and OpenAI-compatible servers: local HTTP on 127.0.0.1, the real wire formats.

Each server answers POSTs from a script of replies (the last one repeats once the script runs out),
records every request, and checks each request's shape against what the real API requires (path,
key header, body fields, as in ../shared/FACTS.md). A shape problem is answered with 400 like the
real service would, and kept in ``shape_errors`` so a test fails loudly rather than by fallback.
Reply bodies come from recorded-style payloads in ``fixtures/``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> Any:
    """A recorded-style JSON payload from tests/ai/fixtures."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class Reply:
    """One scripted answer: HTTP status, body (JSON-able or raw text), headers, delay before it."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class RecordedRequest:
    """A request as the fake server received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    """An HTTP server on a free local port that plays back scripted replies."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.shape_errors: list[str] = []
        self._script: list[Reply | Callable[[RecordedRequest], Reply]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:43121."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ScriptedServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, *replies: Reply | Callable[[RecordedRequest], Reply]) -> None:
        """Replace the script; the last reply repeats once the others are used."""
        with self._lock:
            self._script = list(replies)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if not self._script:
                return Reply(500, {"error": {"message": "fake server has no script"}})
            reply = self._script.pop(0) if len(self._script) > 1 else self._script[0]
        # a callable reply answers from the request, like a model that read the prompt
        return reply(request) if callable(reply) else reply

    def check_request(self, request: RecordedRequest) -> list[str]:
        """Problems with the request's shape; subclasses know their API."""
        return []

    def shape_error_reply(self, problems: list[str]) -> Reply:
        """What the real API answers to a malformed request."""
        return Reply(400, {"error": {"message": "; ".join(problems)}})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            """Records the request, checks its shape, answers with the next scripted reply."""

            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                """Answer one POST."""
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode("utf-8", "replace")
                request = RecordedRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                problems = server.check_request(request)
                with server._lock:
                    server.requests.append(request)
                    server.shape_errors.extend(problems)
                reply = (
                    server.shape_error_reply(problems) if problems else server._next_reply(request)
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = text.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing left to answer

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


# Fields the Gemini API knows (proto JSON accepts camelCase or snake_case); anything else is a 400
# "Invalid JSON payload received. Unknown name" from the real service.
_GEMINI_BODY = {
    "contents",
    "system_instruction",
    "generation_config",
    "safety_settings",
    "tools",
    "tool_config",
    "cached_content",
    "labels",
}
_GEMINI_CONFIG = {
    "temperature",
    "top_p",
    "top_k",
    "candidate_count",
    "max_output_tokens",
    "stop_sequences",
    "response_mime_type",
    "response_schema",
    "response_json_schema",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "response_logprobs",
    "logprobs",
    "thinking_config",
    "media_resolution",
}
_GEMINI_SCHEMA = {"type", "format", "title", "description", "nullable", "enum", "max_items",
                  "min_items", "properties", "required", "min_properties", "max_properties",
                  "min_length", "max_length", "pattern", "example", "any_of",
                  "property_ordering", "default", "items", "minimum", "maximum"}  # fmt: skip


def _unknown_schema_fields(schema: Any, where: str = "responseSchema") -> list[str]:
    if not isinstance(schema, dict):
        return []
    problems = [f"unknown field {where}.{k}" for k in schema if _snake(k) not in _GEMINI_SCHEMA]
    for name, sub in (schema.get("properties") or {}).items():
        problems += _unknown_schema_fields(sub, f"{where}.properties.{name}")
    problems += _unknown_schema_fields(schema.get("items"), f"{where}.items")
    for i, sub in enumerate(schema.get("anyOf") or schema.get("any_of") or []):
        problems += _unknown_schema_fields(sub, f"{where}.anyOf[{i}]")
    return problems


# Chat completion parameters of OpenAI's API; a strict server refuses others
_OPENAI_BODY = {"model", "messages", "response_format", "temperature", "top_p", "n", "stream",
                "stop", "max_tokens", "max_completion_tokens", "presence_penalty",
                "frequency_penalty", "logit_bias", "user", "seed", "tools", "tool_choice",
                "parallel_tool_calls", "logprobs", "top_logprobs", "stream_options",
                "reasoning_effort", "metadata", "store", "service_tier"}  # fmt: skip


class FakeGemini(ScriptedServer):
    """Speaks the Gemini API's generateContent as google-genai 3.3.0 calls it."""

    PATH = re.compile(r"^/(v1|v1beta)/models/(?P<model>[\w.\-]+):generateContent$")

    def __init__(self, api_key: str = "test-gemini-key", model: str = "gemini-2.5-flash") -> None:
        super().__init__()
        self.api_key = api_key
        self.model = model

    def check_request(self, request: RecordedRequest) -> list[str]:
        """The path, key header and body fields the real endpoint needs for structured output."""
        problems = []
        match = self.PATH.match(request.path)
        if not match:
            problems.append(f"unexpected path {request.path}")
        elif match["model"] != self.model:
            problems.append(f"model {match['model']} instead of {self.model}")
        if request.headers.get("x-goog-api-key") != self.api_key:
            problems.append("missing or wrong x-goog-api-key header")
        body = request.body if isinstance(request.body, dict) else {}
        contents = body.get("contents") or []
        if not (
            contents
            and contents[0].get("role") == "user"
            and isinstance(contents[0].get("parts", [{}])[0].get("text"), str)
        ):
            problems.append("contents must hold a user turn with a text part")
        if not body.get("systemInstruction", {}).get("parts"):
            problems.append("systemInstruction missing")
        config = body.get("generationConfig") or {}
        if config.get("responseMimeType") != "application/json":
            problems.append("generationConfig.responseMimeType is not application/json")
        if not isinstance(config.get("responseSchema") or config.get("responseJsonSchema"), dict):
            problems.append("generationConfig has no responseSchema")
        problems += [f"unknown field {k}" for k in body if _snake(k) not in _GEMINI_BODY]
        problems += [
            f"unknown field generationConfig.{k}" for k in config if _snake(k) not in _GEMINI_CONFIG
        ]
        problems += _unknown_schema_fields(config.get("responseSchema"))
        return problems

    def shape_error_reply(self, problems: list[str]) -> Reply:
        """Gemini's 400 INVALID_ARGUMENT envelope."""
        return Reply(
            400,
            {"error": {"code": 400, "message": "; ".join(problems), "status": "INVALID_ARGUMENT"}},
        )

    @staticmethod
    def answer(content: Any, finish_reason: str = "STOP") -> Reply:
        """A 200 generateContent response whose text part is ``content`` (JSON-encoded if not str)."""
        body = load_fixture("gemini_generate_content.json")
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        candidate = body["candidates"][0]
        candidate["content"]["parts"][0]["text"] = text
        candidate["finishReason"] = finish_reason
        return Reply(200, body)

    @staticmethod
    def error(status: int) -> Reply:
        """A recorded error envelope for 429 (RESOURCE_EXHAUSTED with RetryInfo), 500 or 503."""
        return Reply(status, load_fixture(f"gemini_error_{status}.json"))

    @staticmethod
    def prompt_of(request: RecordedRequest) -> str:
        """The user prompt text of a generateContent request."""
        return request.body["contents"][0]["parts"][0]["text"]

    def schema_sent(self, index: int = -1) -> dict[str, Any]:
        """The response schema of a recorded request."""
        config = self.requests[index].body["generationConfig"]
        return config.get("responseSchema") or config["responseJsonSchema"]


class FakeOpenAI(ScriptedServer):
    """Speaks OpenAI's /v1/chat/completions as LiteLLM calls it."""

    def __init__(self, api_key: str = "sk-test-litellm", model: str = "gpt-4o-mini") -> None:
        super().__init__()
        self.api_key = api_key
        self.model = model

    def check_request(self, request: RecordedRequest) -> list[str]:
        """The path, bearer key and chat body with a strict json_schema response_format."""
        problems = []
        if request.path != "/v1/chat/completions":
            problems.append(f"unexpected path {request.path}")
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            problems.append("missing or wrong Authorization bearer key")
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("model") != self.model:
            problems.append(f"model {body.get('model')!r} instead of {self.model!r}")
        roles = [m.get("role") for m in body.get("messages") or []]
        # instructions then the request; LiteLLM sends the instructions as "user" or "developer"
        # to the reasoning models that take no system role, which OpenAI accepts
        if len(roles) != 2 or roles[0] not in {"system", "developer", "user"} or roles[1] != "user":
            problems.append(f"messages roles {roles}: expected instructions, then the user turn")
        if not all(isinstance(m.get("content"), str) for m in body.get("messages") or []):
            problems.append("message content must be text")
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema")
        if fmt.get("type") != "json_schema" or not isinstance(schema, dict):
            problems.append("response_format is not a json_schema")
        elif (fmt.get("json_schema") or {}).get("strict") is not True:
            problems.append("response_format.json_schema.strict is not true")
        elif schema.get("additionalProperties") is not False:
            problems.append("strict schemas need additionalProperties: false")
        problems += [f"unrecognized request argument: {k}" for k in body if k not in _OPENAI_BODY]
        return problems

    def shape_error_reply(self, problems: list[str]) -> Reply:
        """OpenAI's 400 invalid_request_error envelope."""
        return Reply(
            400,
            {
                "error": {
                    "message": "; ".join(problems),
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
        )

    @staticmethod
    def answer(content: Any, finish_reason: str = "stop") -> Reply:
        """A 200 chat completion whose message content is ``content`` (JSON-encoded if not str)."""
        body = copy.deepcopy(load_fixture("openai_chat_completion.json"))
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        body["choices"][0]["message"]["content"] = text
        body["choices"][0]["finish_reason"] = finish_reason
        return Reply(200, body)

    @staticmethod
    def error(status: int) -> Reply:
        """A recorded error envelope for 429 (rate_limit_exceeded), 500 or 503."""
        return Reply(status, load_fixture(f"openai_error_{status}.json"))

    @staticmethod
    def prompt_of(request: RecordedRequest) -> str:
        """The user message of a chat completion request."""
        return request.body["messages"][1]["content"]

    def schema_sent(self, index: int = -1) -> dict[str, Any]:
        """The json_schema of a recorded request."""
        return self.requests[index].body["response_format"]["json_schema"]["schema"]


def notes_for_prompt(prompt: str) -> dict[str, Any]:
    """What a cooperative model writes: a note for exactly the transitions the prompt lists."""
    data = json.loads(prompt.split("\n", 1)[1])
    titles = {t["id"]: t["title"] or t["id"] for t in data["tracks"]}
    return {
        "title": "Model-written title",
        "description": f"{len(data['tracks'])} tracks, written by the model.",
        "transitions": [
            {
                "from_id": t["from_id"],
                "to_id": t["to_id"],
                "note": f"{titles[t['from_id']]} into {titles[t['to_id']]}: {t['tip']}",
            }
            for t in data["transitions"]
        ],
        "tags": ["model"],
    }


def cooperative_reply(server: FakeGemini | FakeOpenAI, request: RecordedRequest) -> Reply:
    """A model that reads the prompt: notes for exactly the set's transitions, or an empty
    reading of a brief (every parameter left to the DJ's options)."""
    prompt = server.prompt_of(request)
    if prompt.startswith("Read this request."):
        return server.answer(
            {"duration_min": None, "arc": None, "bpm_min": None, "bpm_max": None,
             "genres": [], "mood": ["sunset"]}
        )  # fmt: skip
    return server.answer(notes_for_prompt(prompt))
