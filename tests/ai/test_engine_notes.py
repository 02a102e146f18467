"""Through the set engine's command line: the notes a set carries come from the configured model
when its answer holds up, and say why not when it does not."""

from __future__ import annotations

import itertools
import json

from click.testing import CliRunner

from service.cli import main

from .conftest import gemini_config, litellm_config
from .fake_servers import (
    FIXTURES,
    FakeGemini,
    FakeOpenAI,
    RecordedRequest,
    cooperative_reply,
    notes_for_prompt,
)

POOL = FIXTURES / "pool.csv"


def build(env: dict[str, str], ai: str) -> dict:
    """Run ``aidj set build POOL --format json --ai AI`` and read its JSON."""
    result = CliRunner().invoke(
        main,
        ["set", "build", str(POOL), "--format", "json", "--ai", ai, "--brief", "sunset"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_set_built_with_gemini_carries_the_models_notes(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(lambda request: cooperative_reply(fake_gemini, request))

    out = build(gemini_config(fake_gemini), "gemini")

    notes = out["notes"]
    assert notes["provider"] == "gemini"
    assert notes["fallback_reason"] is None
    ids = [t["id"] for t in out["tracks"]]
    assert [(n["from_id"], n["to_id"]) for n in notes["transitions"]] == list(
        itertools.pairwise(ids)
    )


def test_a_set_built_with_litellm_carries_the_models_notes(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda request: cooperative_reply(fake_openai, request))

    out = build(litellm_config(fake_openai), "litellm")

    assert out["notes"]["provider"] == "litellm"
    assert len(out["notes"]["transitions"]) == len(out["tracks"]) - 1


def test_a_set_built_while_the_model_fails_has_local_notes_and_the_reason(
    fake_gemini: FakeGemini,
) -> None:
    fake_gemini.script(FakeGemini.error(500))

    out = build(gemini_config(fake_gemini), "gemini")

    notes = out["notes"]
    assert notes["provider"] == "local"
    assert (
        notes["fallback_reason"] == "gemini answered HTTP 500 INTERNAL (gave up after 3 attempts)"
    )
    assert len(notes["transitions"]) == len(out["tracks"]) - 1
    # three attempts for the notes (and as many for the brief, when the engine reads one)
    assert len(fake_gemini.requests) in (3, 6)


def test_a_model_that_names_a_track_outside_the_set_is_not_believed(
    fake_gemini: FakeGemini,
) -> None:
    def hallucinate(request: RecordedRequest):  # type: ignore[no-untyped-def]
        prompt = FakeGemini.prompt_of(request)
        if not prompt.startswith("Write the notes"):
            return cooperative_reply(fake_gemini, request)
        answer = notes_for_prompt(prompt)
        answer["transitions"][0]["to_id"] = "t-not-in-pool"
        return FakeGemini.answer(answer)

    fake_gemini.script(hallucinate)

    out = build(gemini_config(fake_gemini), "gemini")

    assert out["notes"]["provider"] == "local"
    assert "'t-not-in-pool', which is not in the set" in out["notes"]["fallback_reason"]
