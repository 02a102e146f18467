"""A model that declines to answer (safety block, refusal) leaves the set with local notes and
a reason that says so."""

from __future__ import annotations

from service.ai import provider_from_config

from .conftest import gemini_config, litellm_config
from .factories import sample_set
from .fake_servers import FakeGemini, FakeOpenAI, Reply, load_fixture


def test_a_gemini_safety_stop_falls_back_naming_the_reason(fake_gemini: FakeGemini) -> None:
    body = load_fixture("gemini_generate_content.json")
    body["candidates"] = [
        {
            "finishReason": "SAFETY",
            "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "MEDIUM", "blocked": True}
            ],
        }
    ]
    fake_gemini.script(Reply(200, body))

    notes = provider_from_config(gemini_config(fake_gemini)).annotate(sample_set(), None)

    assert notes.provider == "local"
    assert notes.fallback_reason == "gemini returned no text (finish reason SAFETY)"


def test_a_gemini_blocked_prompt_falls_back_naming_the_block(fake_gemini: FakeGemini) -> None:
    body = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 1187, "totalTokenCount": 1187},
        "modelVersion": "gemini-2.5-flash",
    }
    fake_gemini.script(Reply(200, body))

    notes = provider_from_config(gemini_config(fake_gemini)).annotate(sample_set(), None)

    assert notes.provider == "local"
    assert notes.fallback_reason == "gemini blocked the request (block reason PROHIBITED_CONTENT)"


def test_an_openai_refusal_falls_back_quoting_it(fake_openai: FakeOpenAI) -> None:
    body = load_fixture("openai_chat_completion.json")
    body["choices"][0]["message"]["content"] = None
    body["choices"][0]["message"]["refusal"] = "I can't help with that."
    fake_openai.script(Reply(200, body))

    notes = provider_from_config(litellm_config(fake_openai)).annotate(sample_set(), None)

    assert notes.provider == "local"
    assert notes.fallback_reason == "litellm returned no content (refused: I can't help with that.)"
