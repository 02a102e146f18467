"""What goes over the wire: each provider's request has the shape its real API requires."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from service.ai import provider_from_config

from .conftest import gemini_config, litellm_config
from .factories import sample_set
from .fake_servers import FakeGemini, FakeOpenAI, load_fixture

GOOD_NOTES = load_fixture("notes_answer.json")


def test_gemini_is_called_at_the_models_generate_content_path_with_the_key_header(
    fake_gemini: FakeGemini,
) -> None:
    fake_gemini.script(fake_gemini.answer(GOOD_NOTES))

    provider_from_config(gemini_config(fake_gemini)).annotate(sample_set(), None)

    request = fake_gemini.requests[0]
    assert request.path == "/v1/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == "test-gemini-key"
    assert "test-gemini-key" not in request.path  # the key never travels in the URL


def test_gemini_asks_for_json_with_the_pydantic_schema(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(fake_gemini.answer(GOOD_NOTES))

    provider_from_config(gemini_config(fake_gemini)).annotate(sample_set(), "sunrise")

    body = fake_gemini.requests[0].body
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert schema["type"] == "OBJECT"
    assert set(schema["required"]) == {"title", "description", "transitions", "tags"}
    note = schema["properties"]["transitions"]["items"]
    assert set(note["required"]) == {"from_id", "to_id", "note"}
    # the Gemini Developer API has no additionalProperties (google-genai says so): never sent
    assert "dditional" not in str(schema)
    assert body["contents"][0]["role"] == "user"
    assert "Write the notes for this set." in body["contents"][0]["parts"][0]["text"]
    assert "one note per transition" in body["systemInstruction"]["parts"][0]["text"]


def test_gemini_brief_schema_offers_only_the_arc_names(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(fake_gemini.answer(load_fixture("brief_answer.json")))

    provider_from_config(gemini_config(fake_gemini)).interpret_brief("2 hours, journey")

    arc = fake_gemini.schema_sent()["properties"]["arc"]
    assert arc["enum"] == ["warm-up", "build", "peak-time", "journey", "cool-down", "none"]


def test_gemini_honours_a_configured_model_name(fake_gemini: FakeGemini) -> None:
    fake_gemini.model = "gemini-2.5-pro"
    fake_gemini.script(fake_gemini.answer(GOOD_NOTES))

    notes = provider_from_config(gemini_config(fake_gemini)).annotate(sample_set(), None)

    assert notes.provider == "gemini"
    assert fake_gemini.requests[0].path == "/v1/models/gemini-2.5-pro:generateContent"


def test_litellm_posts_an_openai_chat_body_to_the_api_base(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake_openai.answer(GOOD_NOTES))

    provider_from_config(litellm_config(fake_openai)).annotate(sample_set(), "sunrise")

    request = fake_openai.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-litellm"
    body = request.body
    assert body["model"] == "gpt-4o-mini"  # the "openai/" routing prefix is LiteLLM's, not sent
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "one note per transition" in body["messages"][0]["content"]
    assert '"brief": "sunrise"' in body["messages"][1]["content"]


def test_litellm_asks_for_strict_json_schema_output(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake_openai.answer(GOOD_NOTES))

    provider_from_config(litellm_config(fake_openai)).annotate(sample_set(), None)

    fmt = fake_openai.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "NotesAnswer"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    # OpenAI strict mode: every object closed and every property required
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    note = schema["$defs"]["TransitionNote"]
    assert note["additionalProperties"] is False
    assert set(note["required"]) == {"from_id", "to_id", "note"}


def test_litellm_without_a_key_still_reaches_a_local_server(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = "no-key"  # what a keyless local model server receives
    fake_openai.script(fake_openai.answer(GOOD_NOTES))
    config = litellm_config(fake_openai)
    del config["LITELLM_API_KEY"]

    notes = provider_from_config(config).annotate(sample_set(), None)

    assert notes.provider == "litellm"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_recorded_error_payloads_have_the_real_envelopes(status: int) -> None:
    gemini = load_fixture(f"gemini_error_{status}.json")["error"]
    assert gemini["code"] == status
    assert gemini["status"] in {"RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE"}
    openai = load_fixture(f"openai_error_{status}.json")["error"]
    assert {"message", "type", "param", "code"} <= set(openai)


def _post(url: str, body: dict, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_fake_gemini_refuses_what_the_real_api_refuses(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(fake_gemini.answer(GOOD_NOTES))
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "systemInstruction": {"parts": [{"text": "rules"}]},
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "additionalProperties": False},
        },
    }
    url = f"{fake_gemini.url}/v1/models/gemini-2.5-flash:generateContent"

    status = _post(url, body, {"x-goog-api-key": "test-gemini-key"})

    assert status == 400
    assert fake_gemini.shape_errors == ["unknown field responseSchema.additionalProperties"]
    fake_gemini.shape_errors.clear()  # expected here; the fixture fails on any left over


def test_the_fake_openai_refuses_a_missing_key_and_a_loose_schema(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake_openai.answer(GOOD_NOTES))
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
    }

    status = _post(f"{fake_openai.url}/v1/chat/completions", body, {})

    assert status == 400
    assert fake_openai.shape_errors == [
        "missing or wrong Authorization bearer key",
        "response_format.json_schema.strict is not true",
    ]
    fake_openai.shape_errors.clear()


def test_gemini_can_be_pointed_at_another_api_version(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(fake_gemini.answer(GOOD_NOTES))
    config = {**gemini_config(fake_gemini), "GEMINI_API_VERSION": "v1beta"}

    notes = provider_from_config(config).annotate(sample_set(), None)

    assert notes.provider == "gemini"
    assert fake_gemini.requests[0].path == "/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.mark.parametrize("model_name", ["gpt-5-mini", "o3-mini"])
def test_litellm_reaches_reasoning_models_without_the_parameters_they_refuse(
    fake_openai: FakeOpenAI, model_name: str
) -> None:
    fake_openai.model = model_name
    fake_openai.script(fake_openai.answer(GOOD_NOTES))

    notes = provider_from_config(litellm_config(fake_openai)).annotate(sample_set(), None)

    assert notes.provider == "litellm"
    body = fake_openai.requests[0].body
    assert "temperature" not in body  # OpenAI refuses it for reasoning models
    assert body["response_format"]["type"] == "json_schema"
