"""Promises of the model providers, each run with the real google-genai and LiteLLM clients
against local fake servers speaking the real wire formats."""

from __future__ import annotations

import copy
import json
import socket

import pytest

from service.ai import LocalProvider, SetView

from .conftest import ModelUnderTest
from .factories import sample_set
from .fake_servers import Reply, load_fixture

GOOD_NOTES = load_fixture("notes_answer.json")
GOOD_BRIEF = load_fixture("brief_answer.json")
SUNRISE = "two hours of melodic techno for a sunrise, gentle start"


def notes_with(**changes: object) -> dict:
    """The good answer with some top-level fields replaced."""
    answer = copy.deepcopy(GOOD_NOTES)
    answer.update(changes)
    return answer


def test_a_good_answer_becomes_the_sets_notes(model: ModelUnderTest) -> None:
    model.server.script(model.answer(GOOD_NOTES))

    notes = model.provider().annotate(sample_set(), "sunset warm-up for a rooftop")

    assert notes.provider == model.name
    assert notes.fallback_reason is None
    assert notes.title == GOOD_NOTES["title"]
    assert [(n.from_id, n.to_id, n.note) for n in notes.transitions] == [
        (n["from_id"], n["to_id"], n["note"]) for n in GOOD_NOTES["transitions"]
    ]
    assert notes.tags == GOOD_NOTES["tags"]
    assert len(model.server.requests) == 1


def test_the_model_is_sent_every_track_transition_and_the_brief(model: ModelUnderTest) -> None:
    model.server.script(model.answer(GOOD_NOTES))

    model.provider().annotate(sample_set(), "sunset warm-up for a rooftop")

    sent = str(model.server.requests[0].body)
    for track in sample_set().tracks:
        assert track.id in sent
        assert track.title in sent
    assert "sunset warm-up for a rooftop" in sent
    assert "cut on a phrase boundary: the keys clash" in sent  # the engine's tip travels along


def test_the_schema_asked_for_is_the_notes_answer(model: ModelUnderTest) -> None:
    model.server.script(model.answer(GOOD_NOTES))

    model.provider().annotate(sample_set(), None)

    schema = model.server.schema_sent()  # type: ignore[attr-defined]
    properties = {name.lower() for name in schema["properties"]}
    assert properties == {"title", "description", "transitions", "tags"}
    assert "provider" not in properties  # the model is never asked who it is


def test_notes_written_out_of_order_are_put_back_in_play_order(model: ModelUnderTest) -> None:
    shuffled = notes_with(transitions=list(reversed(GOOD_NOTES["transitions"])))
    model.server.script(model.answer(shuffled))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == model.name
    assert [n.from_id for n in notes.transitions] == ["t01", "t02", "t03", "t04"]


def test_a_429_then_success_is_retried_and_used(model: ModelUnderTest) -> None:
    model.server.script(model.error(429), model.answer(GOOD_NOTES))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == model.name
    assert notes.fallback_reason is None
    assert len(model.server.requests) == 2


def test_a_503_then_success_is_retried_and_used(model: ModelUnderTest) -> None:
    model.server.script(model.error(503), model.error(503), model.answer(GOOD_NOTES))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == model.name
    assert len(model.server.requests) == 3


def test_a_500_falls_back_to_local_after_the_retries(model: ModelUnderTest) -> None:
    model.server.script(model.error(500))

    notes = model.provider(AI_MAX_RETRIES="2").annotate(sample_set(), None)

    assert len(model.server.requests) == 3  # the first attempt and two retries, then no more
    assert notes.provider == "local"
    assert "500" in notes.fallback_reason
    assert "3 attempts" in notes.fallback_reason
    local = LocalProvider().annotate(sample_set(), None)
    assert notes.model_dump(exclude={"fallback_reason"}) == local.model_dump(
        exclude={"fallback_reason"}
    )


def test_retries_are_bounded_by_configuration(model: ModelUnderTest) -> None:
    model.server.script(model.error(429))

    notes = model.provider(AI_MAX_RETRIES="0").annotate(sample_set(), None)

    assert len(model.server.requests) == 1
    assert notes.provider == "local"
    assert "429" in notes.fallback_reason


def test_a_refused_request_is_not_retried(model: ModelUnderTest) -> None:
    status = 400 if model.name == "gemini" else 401
    model.server.script(
        Reply(
            status, load_fixture(f"{'gemini' if status == 400 else 'openai'}_error_{status}.json")
        )
    )

    notes = model.provider().annotate(sample_set(), None)

    assert len(model.server.requests) == 1
    assert notes.provider == "local"
    assert "refused" in notes.fallback_reason
    assert str(status) in notes.fallback_reason


def test_malformed_json_falls_back_with_the_reason(model: ModelUnderTest) -> None:
    model.server.script(model.answer('{"title": "Sunset", "description": "cut off mid'))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "malformed JSON" in notes.fallback_reason
    assert len(model.server.requests) == 1  # a bad answer is not retried: it would cost again


def test_an_answer_that_is_not_json_at_all_falls_back(model: ModelUnderTest) -> None:
    model.server.script(model.answer("Here are your notes! Title: Sunset Drift"))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "malformed JSON" in notes.fallback_reason


def test_a_schema_mismatch_falls_back_with_the_field_named(model: ModelUnderTest) -> None:
    answer = notes_with(tags="progressive, melodic")  # a string where a list belongs
    del answer["description"]
    model.server.script(model.answer(answer))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "does not match the schema" in notes.fallback_reason
    assert "description" in notes.fallback_reason


def test_a_hallucinated_track_falls_back_naming_it(model: ModelUnderTest) -> None:
    answer = copy.deepcopy(GOOD_NOTES)
    answer["transitions"][2] = {
        "from_id": "t03",
        "to_id": "t99",
        "note": "Cola into Levels: a festival moment.",
    }
    model.server.script(model.answer(answer))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "'t99'" in notes.fallback_reason
    assert "not in the set" in notes.fallback_reason
    assert all(n.to_id != "t99" for n in notes.transitions)


def test_a_note_for_two_real_tracks_that_are_not_adjacent_falls_back(
    model: ModelUnderTest,
) -> None:
    answer = copy.deepcopy(GOOD_NOTES)
    answer["transitions"][0] = {"from_id": "t01", "to_id": "t03", "note": "Strobe into Cola."}
    model.server.script(model.answer(answer))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "not a transition of this set" in notes.fallback_reason


def test_a_missing_transition_falls_back(model: ModelUnderTest) -> None:
    answer = notes_with(transitions=GOOD_NOTES["transitions"][:3])
    model.server.script(model.answer(answer))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "no note for 1 of 4 transitions" in notes.fallback_reason
    assert "t04 → t05" in notes.fallback_reason
    assert len(notes.transitions) == 4


def test_placeholder_text_from_the_model_falls_back(model: ModelUnderTest) -> None:
    answer = notes_with(description="A journey from [Track 1] to [Track 5]. TODO: add details.")
    model.server.script(model.answer(answer))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "placeholder" in notes.fallback_reason


def test_an_overlong_note_falls_back(model: ModelUnderTest) -> None:
    answer = copy.deepcopy(GOOD_NOTES)
    answer["transitions"][1]["note"] = "Blend. " * 200
    model.server.script(model.answer(answer))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "limit 500" in notes.fallback_reason


def test_a_cut_off_answer_falls_back(model: ModelUnderTest) -> None:
    finish = "MAX_TOKENS" if model.name == "gemini" else "length"
    model.server.script(model.answer(GOOD_NOTES, finish_reason=finish))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "cut off" in notes.fallback_reason


def test_a_timeout_falls_back_without_retrying(model: ModelUnderTest) -> None:
    model.server.script(Reply(200, model.answer(GOOD_NOTES).body, delay_s=1.5))

    notes = model.provider(AI_TIMEOUT_S="0.3").annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "did not answer within 0.3 s" in notes.fallback_reason
    assert len(model.server.requests) == 1


def test_an_unreachable_server_falls_back_after_the_retries(model: ModelUnderTest) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    key = "GEMINI_BASE_URL" if model.name == "gemini" else "LITELLM_API_BASE"
    base = url if model.name == "gemini" else f"{url}/v1"

    notes = model.provider(**{key: base}).annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "could not" in notes.fallback_reason
    assert "3 attempts" in notes.fallback_reason


def test_a_brief_read_by_the_model_is_used(model: ModelUnderTest) -> None:
    model.server.script(model.answer(GOOD_BRIEF))

    params = model.provider().interpret_brief(SUNRISE)

    assert params.provider == model.name
    assert params.fallback_reason is None
    assert (params.duration_min, params.arc) == (120, "journey")
    assert (params.bpm_min, params.bpm_max) == (118, 124)
    assert params.genres == ["melodic techno"]
    assert SUNRISE in str(model.server.requests[0].body)


def test_a_brief_with_an_unknown_arc_falls_back_to_the_local_reading(
    model: ModelUnderTest,
) -> None:
    model.server.script(model.answer({**GOOD_BRIEF, "arc": "sunrise"}))

    params = model.provider().interpret_brief(SUNRISE)

    assert params.provider == "local"
    assert "arc" in params.fallback_reason
    assert params.arc == "build"  # the local rules: a gentle start that rises
    assert params.duration_min == 120


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bpm_min": 135, "bpm_max": 120}, "upside down"),
        ({"bpm_min": 1280}, "bpm_min"),
        ({"duration_min": 0}, "duration"),
        ({"genres": ["techno"] * 3 + [f"genre {i}" for i in range(12)]}, "genres"),
    ],
)
def test_an_implausible_brief_reading_falls_back(
    model: ModelUnderTest, change: dict, reason: str
) -> None:
    model.server.script(model.answer({**GOOD_BRIEF, **change}))

    params = model.provider().interpret_brief(SUNRISE)

    assert params.provider == "local"
    assert reason in params.fallback_reason


def test_json_in_a_markdown_fence_is_still_read(model: ModelUnderTest) -> None:
    fenced = "```json\n" + json.dumps(GOOD_NOTES) + "\n```"
    model.server.script(model.answer(fenced))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == model.name
    assert notes.title == GOOD_NOTES["title"]


def test_a_200_that_is_not_the_api_falls_back_without_retrying(model: ModelUnderTest) -> None:
    model.server.script(Reply(200, "<html><body>Captive portal: please log in</body></html>"))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert "not" in notes.fallback_reason
    assert "unexpectedly" not in notes.fallback_reason
    assert len(model.server.requests) == 1


def test_a_key_echoed_in_an_error_never_reaches_the_reason(model: ModelUnderTest) -> None:
    key = model.config.get("GEMINI_API_KEY") or model.config["LITELLM_API_KEY"]
    echo = {"error": {"message": f"Incorrect API key provided: {key}.", "type": "x", "code": 401}}
    if model.name == "gemini":
        echo = {
            "error": {"code": 403, "message": f"Key {key} denied", "status": "PERMISSION_DENIED"}
        }
    model.server.script(Reply(echo["error"].get("code", 401), echo))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert key not in notes.fallback_reason
    assert "[key]" in notes.fallback_reason


def test_a_very_long_brief_is_cut_before_it_is_sent(model: ModelUnderTest) -> None:
    model.server.script(model.answer(GOOD_BRIEF))

    model.provider().interpret_brief("techno " * 1000)

    assert len(str(model.server.requests[0].body)) < 6000


def test_an_empty_set_is_not_sent_to_the_model(model: ModelUnderTest) -> None:
    model.server.script(model.answer(GOOD_NOTES))

    notes = model.provider().annotate(SetView([], [], {}, None, None), None)

    assert model.server.requests == []
    assert notes.provider == "local"
    assert notes.fallback_reason == "the set is empty"


def test_the_wait_a_429_asks_for_is_honoured_up_to_the_cap(
    model: ModelUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    if model.name == "gemini":
        body = load_fixture("gemini_error_429.json")
        body["error"]["details"][-1]["retryDelay"] = "0.15s"
        limited = Reply(429, body)
    else:
        limited = Reply(429, load_fixture("openai_error_429.json"), {"retry-after-ms": "150"})
    model.server.script(limited, model.answer(GOOD_NOTES))

    with caplog.at_level("WARNING", logger="service.ai.retry"):
        notes = model.provider(AI_RETRY_MAX_DELAY_S="1").annotate(sample_set(), None)

    assert notes.provider == model.name
    assert "retrying in 0.15 s" in caplog.text


def test_a_long_error_page_is_cut_to_a_readable_reason(model: ModelUnderTest) -> None:
    message = "Bad request: " + "details " * 400
    body = (
        {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
        if model.name == "gemini"
        else {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    )
    model.server.script(Reply(400, body))

    notes = model.provider().annotate(sample_set(), None)

    assert notes.provider == "local"
    assert notes.fallback_reason.startswith(f"{model.name} refused the request: HTTP 400")
    assert len(notes.fallback_reason) <= 300
