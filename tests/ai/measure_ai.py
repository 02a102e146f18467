"""Measure the AI layer (not a test): local speed, and a request through each real client to the
fakes. Run: .venv/bin/python -m tests.ai.measure_ai"""

from __future__ import annotations

import statistics
import time
import tracemalloc

from service.ai import LocalProvider, SetView, TrackView, provider_from_config

from .conftest import gemini_config, litellm_config
from .factories import engine_view
from .fake_servers import FakeGemini, FakeOpenAI, notes_for_prompt


def big_set(n: int) -> SetView:
    """A deterministic n-track set with every field filled."""
    keys = [f"{(i * 7) % 12 + 1}{'AB'[i % 3 == 0]}" for i in range(n)]
    tracks = [
        TrackView(f"t{i:04d}", f"Title {i}", f"Artist {i % 17}", 120 + (i % 9), keys[i],
                  1 + i % 10, ["Techno", "House", "Melodic Techno"][i % 3])
        for i in range(n)
    ]  # fmt: skip
    return engine_view(tracks, "journey", [300.0] * n)


def timed(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median and max wall time in ms."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    """Print the figures."""
    local = LocalProvider()
    for n in (40, 1000):
        view = big_set(n)
        med, worst = timed(lambda view=view: local.annotate(view, "sunrise, gentle start"), 20)
        print(f"local annotate, {n} tracks: median {med:.2f} ms, max {worst:.2f} ms")
    tracemalloc.start()
    local.annotate(big_set(1000), None)
    print(
        f"local annotate, 1000 tracks: peak Python memory {tracemalloc.get_traced_memory()[1] / 1e6:.1f} MB"
    )
    tracemalloc.stop()
    sentence = "two hours of melodic techno for a sunrise, gentle start"
    med, worst = timed(lambda: local.interpret_brief(sentence), 200)
    print(f"local interpret_brief: median {med:.3f} ms, max {worst:.3f} ms")
    for name, server, config in (
        ("gemini", FakeGemini(), gemini_config),
        ("litellm", FakeOpenAI(), litellm_config),
    ):
        server.start()
        server.script(lambda r, s=server: s.answer(notes_for_prompt(s.prompt_of(r))))
        view = big_set(40)
        start = time.perf_counter()
        provider = provider_from_config(config(server))
        notes = provider.annotate(view, None)
        first = (time.perf_counter() - start) * 1000
        assert notes.provider == name, notes.fallback_reason
        med, worst = timed(lambda p=provider, v=view: p.annotate(v, None), 20)
        print(
            f"{name} via fake server, 40 tracks: first call {first:.0f} ms (imports, client), "
            f"then median {med:.1f} ms, max {worst:.1f} ms per annotate"
        )
        server.stop()


if __name__ == "__main__":
    main()
