"""The demo library is real enough to play a whole set (issue 20, item 3), and a length a playlist
cannot fill is refused with how long a set it can give."""

from __future__ import annotations

import numpy as np
import pytest

from service.dj.arcs import ARC_NAMES
from service.dj.pools import load_pool
from service.dj.sequencing.plan import SetError, SetRequest, plan_set
from service.dj.tags import read_tags
from service.dj.timeline import set_length_s
from service.stack.demo import DEMO_TRACKS, write_demo_library
from tests.engine.factories import track


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    audio, playlist = write_demo_library(folder, entry_prefix="../Music/")
    return audio, playlist


def test_demo_tracks_are_full_length_real_audio_at_a_small_size(demo) -> None:
    audio, _ = demo
    assert len(audio) == len(DEMO_TRACKS) >= 12
    for path, spec in zip(audio, DEMO_TRACKS, strict=True):
        tags = read_tags(path)
        assert tags.error is None
        assert tags.duration_s == pytest.approx(spec.seconds, abs=0.5)
        assert tags.duration_s >= 300  # a DJ track's length, not a 12-second loop
        assert (tags.bpm, tags.key.camelot, tags.energy) == (spec.bpm, spec.key, spec.energy)
        assert path.stat().st_size < 0.6e6 * tags.duration_s / 60  # under 0.6 MB a minute


def test_the_demo_playlist_names_its_files_as_written(demo) -> None:
    _, playlist = demo
    lines = [line for line in playlist.read_text().splitlines() if not line.startswith("#")]
    assert lines == [f"../Music/{t.filename}" for t in DEMO_TRACKS]


@pytest.mark.parametrize("arc", ARC_NAMES)
def test_every_arc_builds_a_60_minute_set_from_the_demo_library(demo, arc) -> None:
    audio, _ = demo
    pool = load_pool(audio[0].parent)
    planned = plan_set(pool.tracks, SetRequest(duration_s=3600, arc=arc, time_budget_s=0.5))
    played = set_length_s(np.array([t.duration_s for t in planned.tracks]))
    assert 57 * 60 <= played <= 63 * 60


def test_a_length_the_playlist_cannot_fill_says_how_long_a_set_it_can_give() -> None:
    pool = [track(f"t{i}", duration_s=360.0, bpm=124.0) for i in range(5)]
    with pytest.raises(SetError) as caught:
        plan_set(pool, SetRequest(duration_s=3600))
    message = str(caught.value)
    # five 6-minute tracks, each of the last four coming in over 45 s of the one before: 27 min
    assert "can give a set of at most 27 min" in message
    assert "ask for 28 minutes or less" in message


def test_an_older_short_demo_file_is_replaced_and_a_current_one_kept(tmp_path) -> None:
    import wave

    first = DEMO_TRACKS[0]
    old = tmp_path / first.filename
    with wave.open(str(old), "wb") as out:  # the 12-second demo track of earlier versions
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22_050)
        out.writeframes(b"\x00\x00" * 22_050 * 12)
    audio, _ = write_demo_library(tmp_path)
    assert read_tags(audio[0]).duration_s == pytest.approx(first.seconds, abs=0.5)
    stamp = audio[0].stat().st_mtime_ns
    write_demo_library(tmp_path)
    assert audio[0].stat().st_mtime_ns == stamp
