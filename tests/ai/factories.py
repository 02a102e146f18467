"""Sets the AI layer annotates, always scored by the real engine: one realistic set, random ones."""

from __future__ import annotations

from hypothesis import strategies as st

from service.ai.types import SetView, TrackView
from service.ai.views import set_view
from service.dj.arcs import ARC_NAMES, parse_arc
from service.dj.keys import parse_key
from service.dj.scorecard import score_order
from service.dj.tracks import Track

# A real-world-like five-track progressive set; ids are what the engine would give.
SAMPLE_TRACKS = [
    TrackView("t01", "Strobe", "deadmau5", 128.0, "8A", 5, "Progressive House"),
    TrackView("t02", "Opus", "Eric Prydz", 126.0, "8B", 7, "Progressive House"),
    TrackView("t03", "Cola", "CamelPhat & Elderbrook", 124.0, "9B", 6, "Tech House"),
    TrackView("t04", "Innerbloom", "RÜFÜS DU SOL", 122.0, "4A", 4, "Melodic House"),
    TrackView("t05", "Sun Models", "ODESZA", 122.0, "4A", 3, "Melodic House"),
]
#: Every sample track plays 380 s, so the five make a 1,900 s (32 min) set without overlaps.
SAMPLE_TRACK_S = 380.0


def engine_view(
    tracks: list[TrackView], arc: str | None = None, durations: list[float | None] | None = None
) -> SetView:
    """The view the set engine gives for ``tracks`` in this order: its relations, tempos, tips."""
    lengths = durations if durations is not None else [SAMPLE_TRACK_S] * len(tracks)
    played = [
        Track(
            id=t.id,
            path=None,
            title=t.title,
            artist=t.artist,
            genre=t.genre,
            bpm=t.bpm,
            key=parse_key(t.key) if t.key else None,
            energy=t.energy,
            duration_s=length,
        )
        for t, length in zip(tracks, lengths, strict=True)
    ]
    card = score_order(played, arc=parse_arc(arc), overlap_s=0.0)  # played end to end
    return set_view(played, card, arc)


def sample_set(arc: str | None = "journey") -> SetView:
    """The five-track sample set in play order, scored by the engine."""
    return engine_view(list(SAMPLE_TRACKS), arc)


# any printable text except brackets, which the placeholder check reserves for "[Track name]"
_text = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="{}[]<>"
    ),
    max_size=200,
)
_keys = st.sampled_from([f"{n}{letter}" for n in range(1, 13) for letter in "AB"])


@st.composite
def set_views(draw: st.DrawFn) -> SetView:
    """Random sets scored by the engine: any size up to 40, any missing metadata, any titles."""
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
    arc = draw(st.sampled_from(ARC_NAMES))
    durations = [draw(st.none() | st.floats(min_value=30, max_value=900)) for _ in range(n)]
    return engine_view(tracks, arc, durations)
