"""Hearing a set on its page: a player and a waveform per transition, the mix to play or download,
streamed with range support to the set's owner only, and gone with the set."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import soundfile as sf
from rq import Queue

from service import set_audio
from service.jobs.queue import job_id
from tests.site.conftest import csrf, make_done_set, make_library, new_client

pytestmark = pytest.mark.stack


def _mp3(seconds: float, seed: int) -> bytes:
    noise = np.random.default_rng(seed).uniform(-0.3, 0.3, (round(seconds * 44100), 2))
    out = io.BytesIO()
    sf.write(out, noise.astype(np.float32), 44100, format="MP3", subtype="MPEG_LAYER_III")
    return out.getvalue()


@pytest.fixture
def heard_set(stack, dj_client):
    """A finished set of four tracks whose render holds two previews and the mix."""
    dj, _ = dj_client
    set_id = make_done_set(stack.service, dj.id, make_library(stack.service, dj.id))
    folder = stack.service.folder(set_audio.FOLDER)

    def store(name: str, body: bytes, mime: str) -> str:
        stored = stack.service.upload_file(body, name, mime_type=mime, metadata={"folder": folder})
        return str(stored["id"])

    previews = [
        {"from": 1, "to": 2, "file": store("01-02.mp3", _mp3(30, 1), "audio/mpeg"), "seconds": 30.0,
         "blend_at_s": 7.0, "blend_s": 15.0, "beatmatched": True, "speed": 1.008, "note": "",
         "peaks": [0.3] * 120},
        {"from": 2, "to": 4, "file": store("02-04.mp3", _mp3(30, 2), "audio/mpeg"), "seconds": 30.0,
         "blend_at_s": 9.0, "blend_s": 12.0, "beatmatched": False, "speed": 1.0,
         "note": "the incoming track has no beat grid: plain crossfade", "peaks": [0.5] * 120},
    ]  # fmt: skip
    mix = {"file": store("mix.mp3", _mp3(60, 3), "audio/mpeg"),
           "cue_file": store("mix.cue", b'FILE "mix.mp3" MP3\n', "application/x-cue"),
           "seconds": 60.0, "tracks": 3}  # fmt: skip
    asked = {"mix": True, "at": "2026-11-30T10:00:00+00:00"}
    render = {"status": "done", "progress": 100, "error": None, "requested_at": asked["at"],
              "previews": previews, "mix": mix,
              "skipped": [{"position": 3, "label": "Cara – Copper", "reason": "no audio uploaded"}]}  # fmt: skip
    stack.service.update_item("sets", set_id, {"render": render, "render_request": asked})
    return set_id, render


def test_each_transition_has_a_player_and_a_waveform_and_the_mix_a_download(
    dj_client, heard_set
) -> None:
    _, browser = dj_client
    set_id, _ = heard_set
    page = browser.get(f"/sets/{set_id}").text
    assert page.count('<audio controls preload="none"') == 2
    assert f'src="/sets/{set_id}/audio/preview-1"' in page
    assert f'src="/sets/{set_id}/audio/preview-2"' in page
    assert page.count('<svg class="waveform"') == 2 and page.count('<rect class="blend"') == 2
    assert "Preview from track 2: the incoming track has no beat grid: plain crossfade." in page
    assert "beat-matched, the incoming track at +0.8 %" in page
    assert "3. Cara – Copper: no audio uploaded" in page
    assert f'href="/sets/{set_id}/audio/mix?download=1"' in page
    assert f'href="/sets/{set_id}/audio/cue?download=1"' in page
    assert 'class="mix-player"' in page
    assert "<script>" not in page and " on" + "click=" not in page  # no inline script


def test_a_player_can_seek_a_range_of_the_mix(dj_client, heard_set, stack) -> None:
    _, browser = dj_client
    set_id, render = heard_set
    whole = stack.admin.download_file(render["mix"]["file"])

    full = browser.get(f"/sets/{set_id}/audio/mix")
    assert full.status_code == 200 and full.data == whole
    assert full.headers["Content-Type"] == "audio/mpeg"
    assert full.headers["Accept-Ranges"] == "bytes"
    assert full.headers["Cache-Control"] == "private, no-store"

    part = browser.get(f"/sets/{set_id}/audio/mix", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.data == whole[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(whole)}"
    assert part.headers["Content-Length"] == "1000"

    download = browser.get(f"/sets/{set_id}/audio/cue?download=1")
    assert download.headers["Content-Disposition"] == 'attachment; filename="mix.cue"'
    assert browser.get(f"/sets/{set_id}/audio/preview-3").status_code == 404


def test_another_dj_cannot_hear_or_render_a_set(site_app, make_dj, heard_set) -> None:
    from tests.site.conftest import log_in

    set_id, _ = heard_set
    stranger = log_in(new_client(site_app), make_dj())
    for name in ("preview-1", "mix", "cue"):
        assert stranger.get(f"/sets/{set_id}/audio/{name}").status_code == 404
    assert stranger.get(f"/sets/{set_id}/render/status").status_code == 404
    response = stranger.post(
        f"/sets/{set_id}/render", data={"csrf_token": csrf(stranger), "mix": "1"}
    )
    assert response.status_code == 404
    assert new_client(site_app).get(f"/sets/{set_id}/audio/mix").status_code in (302, 303)


def test_deleting_a_set_deletes_its_rendered_audio(stack, dj_client, heard_set) -> None:
    _, browser = dj_client
    set_id, render = heard_set
    files = set_audio.file_ids(render)
    assert len(files) == 4
    browser.post(f"/sets/{set_id}/delete", data={"csrf_token": csrf(browser), "confirm": "delete"})
    left = stack.admin.list_items("directus_files", filter={"id": {"_in": files}}, fields=["id"])
    assert left == []


def test_asking_for_the_mix_queues_one_render_and_a_set_without_audio_says_why(
    stack, dj_client, site_redis, run_jobs
) -> None:
    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, make_library(stack.service, dj.id))
    assert "Upload the audio files with the playlist" in browser.get(f"/sets/{set_id}").text

    for _ in range(2):
        response = browser.post(
            f"/sets/{set_id}/render", data={"csrf_token": csrf(browser), "mix": "1", "keylock": "1"}
        )
        assert response.status_code == 303 and response.headers["Location"].endswith("#hear")
    asked = stack.service.get_item("sets", set_id, fields=["render_request"])["render_request"]
    assert asked["mix"] is True and asked["keylock"] is True
    assert Queue("audio", connection=site_redis).job_ids.count(job_id("render", set_id)) == 1
    assert browser.get(f"/sets/{set_id}/render/status").json["status"] == "queued"
    assert 'id="render-progress"' in browser.get(f"/sets/{set_id}").text

    run_jobs()

    status = browser.get(f"/sets/{set_id}/render/status").json
    assert status["status"] == "failed"
    assert "need the audio of at least two tracks" in status["error"]
    page = browser.get(f"/sets/{set_id}").text
    assert re.search(r'class="flash flash-error render-error"[^>]*>Previews need the audio', page)


def test_rendered_audio_no_set_names_is_deleted_by_the_nightly_job(stack, heard_set) -> None:
    import datetime as dt

    set_id, render = heard_set
    folder = stack.service.folder(set_audio.FOLDER)
    orphan = stack.service.upload_file(_mp3(2, 4), "02-03.mp3", metadata={"folder": folder})
    later = dt.datetime.now(dt.UTC) + set_audio.ORPHAN_GRACE + dt.timedelta(minutes=5)

    assert set_audio.delete_orphans(stack.service, dt.datetime.now(dt.UTC)) == 0  # too young yet
    assert set_audio.delete_orphans(stack.service, later) >= 1
    kept = stack.admin.list_items(
        "directus_files", filter={"folder": {"_eq": folder}}, fields=["id"]
    )
    assert set(set_audio.file_ids(render)) <= {k["id"] for k in kept}
    assert orphan["id"] not in {k["id"] for k in kept}
    stack.service.delete_item("sets", set_id)  # as the Studio would: the set alone
    assert set_audio.delete_orphans(stack.service, later) == 4


def test_a_render_whose_job_was_lost_is_asked_for_again_when_its_page_polls(
    stack, dj_client, site_redis
) -> None:
    import datetime as dt

    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, make_library(stack.service, dj.id))
    queue = Queue("audio", connection=site_redis)
    fresh = dt.datetime.now(dt.UTC).isoformat()
    stack.service.update_item("sets", set_id, {"render_request": {"mix": False, "at": fresh}})
    assert browser.get(f"/sets/{set_id}/render/status").json["status"] == "queued"
    assert (
        job_id("render", set_id) not in queue.job_ids
    )  # asked a moment ago: its job may be coming

    lost = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    stack.service.update_item("sets", set_id, {"render_request": {"mix": False, "at": lost}})
    assert browser.get(f"/sets/{set_id}/render/status").json["status"] == "queued"
    browser.get(f"/sets/{set_id}/render/status")
    assert queue.job_ids.count(job_id("render", set_id)) == 1


def test_a_render_that_died_says_so_and_is_not_asked_again(
    stack, site_app, dj_client, site_redis, monkeypatch
) -> None:
    import datetime as dt

    from service.jobs import render
    from tests.site.conftest import worker_environment

    for name, value in worker_environment(site_app).items():  # as in the worker
        monkeypatch.setenv(name, value)
    dj, browser = dj_client
    set_id = make_done_set(stack.service, dj.id, make_library(stack.service, dj.id))
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    stack.service.update_item("sets", set_id, {"render_request": {"mix": True, "at": long_ago}})

    render.terminal_failure(set_id, "The job ran out of time.")

    status = browser.get(f"/sets/{set_id}/render/status").json
    assert status == {"status": "failed", "progress": 0, "error": "The job ran out of time."}
    assert job_id("render", set_id) not in Queue("audio", connection=site_redis).job_ids


def test_a_render_whose_job_was_lost_is_started_by_the_sweep(stack, dj_client, site_redis) -> None:
    import datetime as dt

    from service.jobs.sweep import sweep_renders

    dj, _ = dj_client
    set_id = make_done_set(stack.service, dj.id, make_library(stack.service, dj.id))
    lost = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    stack.service.update_item("sets", set_id, {"render_request": {"mix": False, "at": lost}})

    assert job_id("render", set_id) in sweep_renders(stack.service, site_redis, stale_s=0)
    assert job_id("render", set_id) not in sweep_renders(stack.service, site_redis, stale_s=0)
    assert job_id("render", set_id) in Queue("audio", connection=site_redis).job_ids
