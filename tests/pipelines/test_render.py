"""Hearing a set: a set built from tracks with audio gets a preview per transition by itself; the mix
comes on request with its cue sheet and chapter marks; a corrupt file costs only its own transitions;
the files are private and go with the set."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.id3 import ID3

from service import set_audio
from service.dj.analysis.synth import render
from service.dj.keys import parse_key
from service.jobs.queue import enqueue, job_id
from service.privacy.erase import erase_user
from tests.pipelines.helpers import make_dj, upload_playlist, wait_for, wait_for_job_to_settle

pytestmark = pytest.mark.stack


def _wav(folder: Path, name: str, tempo: float, key: str, seed: int) -> Path:
    r = render("house", tempo, parse_key(key), intro_bars=8, main_bars=48, outro_bars=8, seed=seed)
    path = folder / name
    sf.write(str(path), r.audio, r.sr, format="WAV", subtype="PCM_16")
    return path


def _rendered(directus, set_id: str, timeout_s: float = 240) -> dict:
    def check():
        item = directus.get_item(
            "sets", set_id, fields=["id", "status", "render", "render_request"]
        )
        return item if set_audio.status(item) in ("done", "failed") else None

    return wait_for(check, timeout_s, f"render of set {set_id}")


def _stored(stack, file_ids: list[str]) -> list[str]:
    """Which of these files storage still holds."""
    rows = stack.admin.list_items("directus_files", filter={"id": {"_in": file_ids}}, fields=["id"])
    return [r["id"] for r in rows]


def _built_set(stack, tmp_path: Path, tracks: int = 3) -> tuple[str, str]:
    owner = make_dj(stack.service)
    names = ["Ada Lux - Aurora", "Bo Kay - Basalt", "Cy Dee - Cobalt", "Di Ex - Dust"][:tracks]
    files = [_wav(tmp_path, f"{name}.wav", 124.0 + n, "8A", n + 1) for n, name in enumerate(names)]
    playlist_file = tmp_path / "set.m3u8"
    playlist_file.write_text(
        "#EXTM3U\n" + "".join(f"#EXTINF:45,{f.stem}\n{f.name}\n" for f in files), encoding="utf-8"
    )
    playlist = upload_playlist(stack.service, owner, playlist_file, files)
    created = stack.service.create_item(
        "sets", {"owner": owner, "playlist": playlist["id"], "status": "queued"}
    )
    wait_for(
        lambda: stack.service.get_item("sets", created["id"])["status"] == "done" or None,
        120,
        "the set to be built",
    )
    return owner, created["id"]


def test_a_set_with_audio_gets_a_beatmatched_preview_per_transition_by_itself(
    stack, service_processes, tmp_path
) -> None:
    _, set_id = _built_set(stack, tmp_path)

    item = _rendered(stack.service, set_id)

    render_ = item["render"]
    assert render_["status"] == "done", render_
    assert render_["mix"] is None  # the mix waits until it is asked for
    previews = render_["previews"]
    assert [(p["from"], p["to"]) for p in previews] == [(1, 2), (2, 3)]
    for p in previews:
        assert p["beatmatched"] and 20 < p["seconds"] <= 60, p["note"]
        assert len(p["peaks"]) == 120 and max(p["peaks"]) <= 1.0
        audio, rate = sf.read(io.BytesIO(stack.admin.download_file(p["file"])), dtype="float32")
        assert rate == 44100 and abs(len(audio) / rate - p["seconds"]) < 0.2
        assert np.abs(audio).max() < 1.0
    folder = stack.admin.get_item("directus_files", previews[0]["file"], fields=["folder.name"])
    assert folder["folder"]["name"] == set_audio.FOLDER


def test_the_mix_comes_on_request_with_cue_sheet_and_chapters_and_replaces_nothing_it_needs(
    stack, service_processes, tmp_path
) -> None:
    _, set_id = _built_set(stack, tmp_path, tracks=4)
    first = _rendered(stack.service, set_id)["render"]
    assert len(first["previews"]) == 3
    # The second track's stored file turns out corrupt.
    second = stack.service.list_items("set_tracks", filter={"set": {"_eq": set_id}, "position": {"_eq": 2}},
                                      fields=["track"])[0]["track"]  # fmt: skip
    broken = stack.service.upload_file(b"RIFF\x10\x00\x00\x00WAVEnot audio", "broken.wav")
    stack.service.update_item("tracks", second, {"file": broken["id"]})
    wait_for_job_to_settle(stack.redis, job_id("render", set_id))
    set_audio.request(stack.service, stack.service.get_item("sets", set_id), mix=False)
    enqueue("render", set_id, connection=stack.redis)
    first = _rendered(stack.service, set_id)["render"]
    # The corrupt file fails its own transitions only: the preview goes from track 1 to track 3.
    assert [(p["from"], p["to"]) for p in first["previews"]] == [(1, 3), (3, 4)]
    assert [s["position"] for s in first["skipped"]] == [2]

    wait_for_job_to_settle(stack.redis, job_id("render", set_id))
    set_audio.request(stack.service, stack.service.get_item("sets", set_id), mix=True)
    enqueue("render", set_id, connection=stack.redis)
    item = _rendered(stack.service, set_id)

    mix = item["render"]["mix"]
    assert item["render"]["status"] == "done" and mix["tracks"] == 3
    mp3 = tmp_path / "mix.mp3"
    mp3.write_bytes(stack.admin.download_file(mix["file"]))
    info = sf.info(str(mp3))
    assert info.samplerate == 44100 and abs(info.duration - mix["seconds"]) < 1.0
    cue = stack.admin.download_file(mix["cue_file"]).decode()
    starts = [int(m) * 60 + int(s) + int(f) / 75
              for m, s, f in re.findall(r"INDEX 01 (\d\d):(\d\d):(\d\d)", cue)]  # fmt: skip
    chapters = sorted(ID3(mp3).getall("CHAP"), key=lambda c: c.start_time)
    assert len(starts) == len(chapters) == 3 and starts[0] == 0
    assert [round(c.start_time / 1000, 1) for c in chapters] == [round(s, 1) for s in starts]
    # The previews were rendered again; the first render's files are gone from storage.
    old = [p["file"] for p in first["previews"]]
    assert not set(old) & set(set_audio.file_ids(item["render"]))
    assert _stored(stack, old) == []


def test_a_deleted_set_and_an_erased_dj_leave_no_rendered_audio(
    stack, service_processes, tmp_path
) -> None:
    owner, set_id = _built_set(stack, tmp_path)
    files = set_audio.file_ids(_rendered(stack.service, set_id)["render"])
    assert files
    assert len(_stored(stack, files)) == len(files)
    set_audio.delete_set(stack.service, set_id)
    assert _stored(stack, files) == []

    created = stack.service.create_item(
        "sets", {"owner": owner, "playlist": None, "status": "queued"}
    )
    wait_for(lambda: stack.service.get_item("sets", created["id"])["status"] == "done" or None,
             120, "the second set")  # fmt: skip
    files = set_audio.file_ids(_rendered(stack.service, created["id"])["render"])
    assert files
    erase_user(stack.service, stack.redis, stack.settings.service_env()["FLASK_SECRET_KEY"], owner)
    assert _stored(stack, files) == []
