"""The provider is chosen by configuration; keys come from the mapping the caller reads."""

from __future__ import annotations

import pytest

from service.ai import AIConfigError, AISettings, LocalProvider, ModelProvider, provider_from_config
from service.ai.retry import RetryPolicy

from .factories import sample_set


def test_without_configuration_the_provider_is_local() -> None:
    provider = provider_from_config({})

    assert isinstance(provider, LocalProvider)
    assert provider.annotate(sample_set(), None).provider == "local"


@pytest.mark.parametrize("name", ["local", "LOCAL", " local ", ""])
def test_local_is_chosen_by_name_in_any_case(name: str) -> None:
    assert isinstance(provider_from_config({"AI_PROVIDER": name}), LocalProvider)


def test_an_unknown_provider_is_refused_with_the_choices() -> None:
    with pytest.raises(AIConfigError, match="choose one of local, gemini, litellm"):
        provider_from_config({"AI_PROVIDER": "openai"})


def test_gemini_without_a_key_gives_local_notes_and_says_why() -> None:
    provider = provider_from_config({"AI_PROVIDER": "gemini"})

    notes = provider.annotate(sample_set(), None)
    params = provider.interpret_brief("90 min techno")

    assert notes.provider == "local"
    assert notes.fallback_reason == "gemini is selected but GEMINI_API_KEY is not set"
    assert params.provider == "local"
    assert params.fallback_reason == notes.fallback_reason
    assert params.duration_min == 90


def test_model_providers_carry_the_configured_retry_policy() -> None:
    provider = provider_from_config(
        {
            "AI_PROVIDER": "litellm",
            "LITELLM_API_BASE": "http://127.0.0.1:9/v1",
            "AI_MAX_RETRIES": "4",
            "AI_RETRY_BACKOFF_S": "0.5",
            "AI_TIMEOUT_S": "12.5",
        }
    )

    assert isinstance(provider, ModelProvider)
    assert provider.name == "litellm"
    assert provider.retry == RetryPolicy(max_retries=4, backoff_s=0.5, max_delay_s=10.0)
    assert provider.backend.timeout_s == 12.5  # type: ignore[attr-defined]
    assert provider.backend.model == "openai/gpt-4o-mini"  # type: ignore[attr-defined]


def test_defaults_are_thirty_seconds_and_two_retries() -> None:
    settings = AISettings.from_mapping({"AI_PROVIDER": "gemini", "GEMINI_API_KEY": "k"})

    assert settings.timeout_s == 30.0
    assert settings.retry == RetryPolicy(max_retries=2, backoff_s=1.0, max_delay_s=10.0)
    assert settings.gemini_model is None  # the backend's default model applies


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("AI_TIMEOUT_S", "soon", "must be a number"),
        ("AI_TIMEOUT_S", "0", "between"),
        ("AI_MAX_RETRIES", "50", "between"),
        ("AI_RETRY_BACKOFF_S", "-1", "between"),
    ],
)
def test_unusable_numbers_are_refused_naming_the_setting(
    key: str, value: str, message: str
) -> None:
    with pytest.raises(AIConfigError, match=f"{key} must .*{message}|{key} {message}"):
        AISettings.from_mapping({key: value})


def test_configuration_errors_are_value_errors() -> None:
    assert issubclass(AIConfigError, ValueError)


def test_key_shaped_text_is_scrubbed_from_reasons() -> None:
    from service.ai.providers import scrub_secrets

    text = "401: Incorrect API key provided: sk-proj-abc123***xyz; also AIzaSyD3fake-Key_0123456789"

    scrubbed = scrub_secrets(text, ("my-own-secret",))

    assert "abc123" not in scrubbed and "SyD3fake" not in scrubbed
    assert scrubbed.startswith("401: Incorrect API key provided: sk-…")
    assert scrub_secrets("token my-own-secret here", ("my-own-secret",)) == "token [key] here"


def test_numbers_in_an_app_config_are_read_like_environment_text() -> None:
    settings = AISettings.from_mapping(
        {"AI_TIMEOUT_S": 5, "AI_MAX_RETRIES": 0, "AI_PROVIDER": None}
    )

    assert settings.provider == "local"
    assert settings.timeout_s == 5.0
    assert settings.retry.max_retries == 0


def test_importing_the_ai_layer_loads_no_model_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys, service.ai; "
        "print(sorted(m for m in ('litellm', 'openai', 'google.genai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    # the web app and the CLI import service.ai; LiteLLM alone takes seconds to import
    assert out.stdout.strip() == "[]"
