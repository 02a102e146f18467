"""Small factories for sets the AI layer annotates: one realistic set and random ones."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from service.ai.types import SetView, TrackView, TransitionView

# A real-world-like five-track progressive set; ids are what the engine would give.
SAMPLE_TRACKS = [
    TrackView("t01", "Strobe", "deadmau5", 128.0, "8A", 5, "Progressive House"),
    TrackView("t02", "Opus", "Eric Prydz", 126.0, "8B", 7, "Progressive House"),
    TrackView("t03", "Cola", "CamelPhat & Elderbrook", 124.0, "9B", 6, "Tech House"),
    TrackView("t04", "Innerbloom", "RÜFÜS DU SOL", 122.0, "4A", 4, "Melodic House"),
    TrackView("t05", "Sun Models", "ODESZA", 122.0, "4A", 3, "Melodic House"),
]
SAMPLE_RELATIONS = ["relative major/minor", "±1 on the wheel", "clash", "same key"]
SAMPLE_TIPS = [
    "long blend over 32 bars; pitch Opus +1.6 %",
    "short blend; pitch Cola +1.6 %",
    "echo out, then start Innerbloom clean",
    "long blend, no pitch change",
]


def transitions_for(
    tracks: list[TrackView], relations: list[str], tips: list[str]
) -> list[TransitionView]:
    """Transitions between consecutive tracks, with tempo and energy moves computed from them."""
    out = []
    for i, (a, b) in enumerate(itertools.pairwise(tracks)):
        pct = (b.bpm - a.bpm) / a.bpm * 100 if a.bpm and b.bpm else 0.0
        energy = b.energy - a.energy if a.energy is not None and b.energy is not None else None
        out.append(
            TransitionView(a.id, b.id, relations[i], round(pct, 2), energy, tips[i], 0.1 * (i + 1))
        )
    return out


def sample_set(arc: str | None = "journey") -> SetView:
    """The five-track sample set in play order with its transitions and a scorecard."""
    return SetView(
        tracks=list(SAMPLE_TRACKS),
        transitions=transitions_for(SAMPLE_TRACKS, SAMPLE_RELATIONS, SAMPLE_TIPS),
        score={"total_cost": 1.0, "harmonic_ok_pct": 75.0, "clash_pct": 25.0, "arc_rmse": None},
        arc=arc,
        duration_s=1900.0,
    )


# any printable text except brackets, which the placeholder check reserves for "[Track name]"
_text = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="{}[]<>"
    ),
    max_size=200,
)
_keys = st.sampled_from([f"{n}{letter}" for n in range(1, 13) for letter in "AB"])
_relations = st.sampled_from(
    [
        "same key",
        "±1 on the wheel",
        "relative major/minor",
        "diagonal",
        "+2 energy boost",
        "-2 step down",
        "±7: one semitone, a key change",
        "clash",
        "unknown",
        "SAME",
        "something new",
        "",
    ]
)


@st.composite
def set_views(draw: st.DrawFn) -> SetView:
    """Random sets: any size up to 40, any missing metadata, any text in titles and tips."""
    n = draw(st.integers(min_value=0, max_value=40))
    tracks = [
        TrackView(
            id=f"id{i}",
            title=draw(st.none() | _text),
            artist=draw(st.none() | _text),
            bpm=draw(st.none() | st.floats(min_value=60, max_value=200)),
            key=draw(st.none() | _keys),
            energy=draw(st.none() | st.integers(min_value=1, max_value=10)),
            genre=draw(st.none() | _text),
        )
        for i in range(n)
    ]
    count = max(0, n - 1)
    relations = draw(st.lists(_relations, min_size=count, max_size=count))
    tips = draw(st.lists(_text, min_size=count, max_size=count))
    arc = draw(st.sampled_from(["warm-up", "build", "peak-time", "journey", "cool-down", "none"]))
    duration = draw(st.none() | st.floats(min_value=60, max_value=43200))
    return SetView(tracks, transitions_for(tracks, relations, tips), {}, arc, duration)
