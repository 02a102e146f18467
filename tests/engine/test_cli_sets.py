"""``aidj set build|score|costs``: the output shapes other tools read, stable ids, clear errors."""

from __future__ import annotations

import importlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import click
import numpy as np
import pytest
from click.testing import CliRunner

from service.cli import COMMAND_MODULES, MODULES, main
from service.cli.sets import parse_bpm_range, parse_budget, parse_set_length
from service.dj.costs import cost_matrix, tempo_change_matrix
from service.dj.pools import load_pool
from tests.engine.factories import random_pool, track, write_csv_pool


@pytest.fixture
def pool_file(tmp_path: Path) -> Path:
    return write_csv_pool(tmp_path / "pool.csv", random_pool(40, seed=21))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"AI_PROVIDER": "local"})
    return result.exit_code, result.stdout, result.stderr


def build(
    pool: str, *options: str, fmt: str | None = None, budget: str | None = None
) -> tuple[int, str, str]:
    """``aidj set build POOL`` with options, the output format and the search budget."""
    extra = [*(["--format", fmt] if fmt else []), *(["--time-budget", budget] if budget else [])]
    return run("set", "build", pool, *options, *extra)


def test_build_json_lists_tracks_in_play_order_with_transitions_score_and_notes(
    pool_file: Path,
) -> None:
    code, out, err = build(str(pool_file), "--duration", "60m", fmt="json", budget="300ms")
    assert code == 0, err
    data = json.loads(out)
    assert {"tracks", "transitions", "score", "notes"} <= set(data)
    for t in data["tracks"]:
        assert {"id", "path", "title", "artist", "bpm", "key", "energy"} <= set(t)
    assert len(data["transitions"]) == len(data["tracks"]) - 1
    for tr, (a, b) in zip(data["transitions"], itertools.pairwise(data["tracks"]), strict=True):
        assert (tr["from_id"], tr["to_id"]) == (a["id"], b["id"])
        assert tr["tip"]
    assert 57 * 60 <= data["score"]["duration_s"] <= 63 * 60
    assert data["notes"]["provider"] == "local"
    assert data["notes"]["title"]
    assert len(data["notes"]["transitions"]) == len(data["transitions"])


def test_build_without_duration_orders_every_track_and_arc_none_is_pure_ordering(
    pool_file: Path,
) -> None:
    code, out, _ = build(str(pool_file), "--arc", "none", fmt="json", budget="200ms")
    assert code == 0
    data = json.loads(out)
    pool = load_pool(pool_file)
    assert sorted(t["id"] for t in data["tracks"]) == sorted(t.id for t in pool.tracks)
    assert data["score"]["arc"] is None
    matrix = cost_matrix(pool.tracks)
    index = {t.id: k for k, t in enumerate(pool.tracks)}
    ids = [index[t["id"]] for t in data["tracks"]]
    total = sum(matrix[a, b] for a, b in itertools.pairwise(ids))
    assert data["set"]["objective"] == pytest.approx(total, abs=1e-5)


def test_build_honours_pins_includes_excludes_and_bpm_range(pool_file: Path) -> None:
    pool = load_pool(pool_file).tracks
    in_range = [t for t in pool if 120 <= t.bpm <= 132]
    first, last, inc, exc = in_range[0].id, in_range[1].id, in_range[2].id, in_range[3].id
    code, out, err = build(
        str(pool_file),
        "--duration",
        "45m",
        "--first",
        first,
        "--last",
        last,
        "--include",
        inc,
        "--exclude",
        exc,
        "--bpm-range",
        "120:132",
        "--seed",
        "3",
        fmt="json",
        budget="200ms",
    )
    assert code == 0, err
    ids = [t["id"] for t in json.loads(out)["tracks"]]
    assert ids[0] == first
    assert ids[-1] == last
    assert inc in ids
    assert exc not in ids
    bpms = {t.id: t.bpm for t in pool}
    assert all(120 <= bpms[i] <= 132 for i in ids)


#: A budget the work fits in with room to spare: the clock stops a search that would outrun the
#: command's budget (on a busy machine), and then two runs of one seed may differ.
ROOMY = "5s"


def test_the_same_pool_and_seed_give_the_same_ids_and_set(pool_file: Path) -> None:
    args = (
        "set",
        "build",
        str(pool_file),
        "--duration",
        "30m",
        "--format",
        "json",
        "--seed",
        "5",
        "--time-budget",
        ROOMY,
    )
    first, second = json.loads(run(*args)[1]), json.loads(run(*args)[1])
    assert first["tracks"] == second["tracks"]


def test_build_writes_rekordbox_xml_to_a_file(pool_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "set.xml"
    code, _, err = build(
        str(pool_file), "--duration", "30m", "-o", str(out), fmt="rekordbox", budget="200ms"
    )
    assert code == 0, err
    root = ET.parse(out).getroot()
    assert root.tag == "DJ_PLAYLISTS"
    assert len(root.findall("PLAYLISTS/NODE/NODE/TRACK")) == len(root.findall("COLLECTION/TRACK"))


def test_costs_prints_the_exact_matrix_the_solver_uses(pool_file: Path) -> None:
    code, out, _ = run("set", "costs", str(pool_file), "--json")
    assert code == 0
    data = json.loads(out)
    pool = load_pool(pool_file)
    assert data["tracks"] == [{"id": t.id, "path": t.path} for t in pool.tracks]
    assert np.array_equal(np.array(data["matrix"]), cost_matrix(pool.tracks))


def test_costs_with_constraints_prints_the_prices_the_solver_really_sees(
    pool_file: Path,
) -> None:
    pool = load_pool(pool_file)
    a, b, first = pool.tracks[3].id, pool.tracks[7].id, pool.tracks[0].id
    code, out, err = run(
        "set", "costs", str(pool_file), "--json", "--with-constraints",
        "--lock", f"{a}:{b}", "--max-tempo-step", "4", "--first", first,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    matrix, forbidden = np.array(data["matrix"]), data["forbidden"]
    plain = cost_matrix(pool.tracks)
    steps = np.abs(tempo_change_matrix(pool.tracks))
    for i, j in itertools.product(range(40), range(40)):
        if i == j:
            continue
        expected = plain[i, j]
        if i == 3 or j == 7 or steps[i, j] > 4:
            expected = forbidden
        if (i, j) == (3, 7):
            expected = plain[i, j]  # the DJ's lock stands, whatever the tempo step
        assert matrix[i, j] == pytest.approx(expected), (i, j)
    assert data["opening"] == [0.0 if k == 0 else forbidden for k in range(40)]
    assert data["closing"][3] == forbidden and data["closing"][5] == 0.0
    code, _, err = run("set", "costs", str(pool_file), "--max-tempo-step", "4")
    assert code == 2
    assert "--with-constraints" in err


def test_build_and_score_agree_on_the_length_of_the_same_order(
    pool_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "set.csv"
    code, _, err = build(
        str(pool_file), "--duration", "60m", "-o", str(out), fmt="csv", budget=ROOMY
    )
    assert code == 0, err
    built = json.loads(build(str(pool_file), "--duration", "60m", fmt="json", budget=ROOMY)[1])
    scored = json.loads(run("set", "score", str(out), "--json")[1])
    assert scored["score"]["duration_s"] == pytest.approx(built["score"]["duration_s"])
    assert 57 * 60 <= built["score"]["duration_s"] <= 63 * 60


def test_a_collection_of_short_loops_scores_a_positive_length(tmp_path: Path) -> None:
    loops = [track(f"l{i}", duration_s=8.0) for i in range(300)]
    pool = write_csv_pool(tmp_path / "loops.csv", loops)
    code, out, err = run("set", "score", str(pool), "--json")
    assert code == 0, err
    assert json.loads(out)["score"]["duration_s"] == pytest.approx(300 * 4.0 + 4.0)


def test_set_build_loads_no_web_queue_or_stack_code(pool_file: Path, tmp_path: Path) -> None:
    """The budget is the whole command's: ``set build`` imports only what it needs."""
    code = (
        "import sys\n"
        "from service.cli import main\n"
        f"try: main(['set', 'build', {str(pool_file)!r}, '--arc', 'none', '--time-budget', "
        f"'100ms', '-o', {str(tmp_path / 'out.m3u8')!r}])\n"
        "except SystemExit as exc: assert not exc.code, exc.code\n"
        "heavy = ('flask', 'werkzeug', 'redis', 'rq', 'psycopg', 'litellm', 'google', "
        "'service.stack', 'service.web', 'service.jobs', 'service.integrations')\n"
        "print(' '.join(m for m in sys.modules if any(m == h or m.startswith(h + '.') "
        "for h in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "AI_PROVIDER": "local"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_every_command_is_registered_by_the_module_the_table_names() -> None:
    for module_name in MODULES:
        group = click.Group()
        importlib.import_module(f"service.cli.{module_name}").register(group)
        for name in group.commands:
            assert COMMAND_MODULES.get(name) == module_name, name
    assert set(main.list_commands(click.Context(main))) == set(COMMAND_MODULES)


def test_score_reports_the_order_as_given(pool_file: Path) -> None:
    code, out, _ = run("set", "score", str(pool_file), "--json")
    assert code == 0
    data = json.loads(out)
    pool = load_pool(pool_file)
    assert [t["id"] for t in data["tracks"]] == [t.id for t in pool.tracks]
    assert data["score"]["tracks"] == 40
    assert len(data["transitions"]) == 39
    matrix = cost_matrix(pool.tracks)
    assert data["score"]["total_cost"] == pytest.approx(
        sum(matrix[k, k + 1] for k in range(39)), abs=1e-3
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--first", "nope"], "not in the pool"),
        (["--arc", "sunrise"], "unknown arc"),
        (["--duration", "900m"], "shorter than"),
        (["--lock", "justone"], "A:B"),
    ],
)
def test_unusable_requests_exit_2_with_the_reason(
    pool_file: Path, args: list[str], message: str
) -> None:
    code, _, err = run("set", "build", str(pool_file), *args)
    assert code == 2
    assert message in err


def test_a_missing_pool_exits_2(tmp_path: Path) -> None:
    code, _, err = run("set", "score", str(tmp_path / "missing.m3u8"))
    assert code == 2
    assert "missing.m3u8" in err


def test_a_brief_fills_in_what_the_options_leave_open(pool_file: Path) -> None:
    code, out, err = build(
        str(pool_file),
        "--brief",
        "one hour of house, peak time, 120-130 bpm",
        "--arc",
        "journey",
        fmt="json",
        budget="200ms",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["set"]["duration_s"] == 3600
    assert data["set"]["bpm_range"] == [120.0, 130.0]
    assert data["set"]["arc"] == "journey"  # the explicit option wins over the brief's arc
    assert data["set"]["brief"]["provider"] == "local"
    assert all(120 <= t["bpm"] <= 130 for t in data["tracks"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90m", 5400),
        ("90", 5400),
        ("1h30m", 5400),
        ("2h", 7200),
        ("5400s", 5400),
        ("1:30:00", 5400),
        ("90:00", 5400),
        ("45min", 2700),
    ],
)
def test_durations_are_read_in_every_usual_spelling(text: str, seconds: float) -> None:
    assert parse_set_length(text) == seconds


def test_budgets_and_bpm_ranges_are_read_or_refused() -> None:
    assert parse_budget("2s") == 2.0
    assert parse_budget("500ms") == 0.5
    assert parse_bpm_range("120:130") == (120.0, 130.0)
    assert parse_bpm_range("120-130") == (120.0, 130.0)
    for bad in ("fast", "130:120"):
        with pytest.raises(click.BadParameter):
            parse_bpm_range(bad)
    with pytest.raises(click.BadParameter):
        parse_set_length("soon")


def test_build_keeps_locked_pairs_and_the_tempo_limit(pool_file: Path) -> None:
    pool = load_pool(pool_file).tracks
    a, b = pool[5].id, pool[9].id
    code, out, err = build(
        str(pool_file), "--lock", f"{a}:{b}", "--max-tempo-step", "8", fmt="json", budget="200ms"
    )
    assert code == 0, err
    data = json.loads(out)
    ids = [t["id"] for t in data["tracks"]]
    assert ids[ids.index(a) + 1] == b
    for tr in data["transitions"]:
        assert (tr["from_id"], tr["to_id"]) == (a, b) or abs(tr["tempo_change_pct"]) <= 8.0


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("rekordbox", ".xml"), ("nml", ".nml"), ("m3u8", ".m3u8"), ("csv", ".csv")]
)
def test_an_exported_set_reads_back_as_a_pool_in_play_order(
    pool_file: Path, tmp_path: Path, fmt: str, suffix: str
) -> None:
    built = json.loads(build(str(pool_file), "--duration", "40m", fmt="json", budget=ROOMY)[1])
    out = tmp_path / f"set{suffix}"
    code, _, err = build(str(pool_file), "--duration", "40m", "-o", str(out), fmt=fmt, budget=ROOMY)
    assert code == 0, err
    code, scored, err = run("set", "score", str(out), "--json")
    assert code == 0, err
    names = [t["title"] for t in json.loads(scored)["tracks"]]
    assert names == [t["title"] for t in built["tracks"]]
    again = json.loads(run("set", "score", str(out), "--json")[1])
    assert [t["id"] for t in again["tracks"]] == [t["id"] for t in json.loads(scored)["tracks"]]


def test_build_writes_a_serato_crate(pool_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "AIDJ.crate"
    code, _, err = build(
        str(pool_file), "--duration", "30m", "-o", str(out), fmt="serato", budget="200ms"
    )
    assert code == 0, err
    data = out.read_bytes()
    assert data.startswith(b"vrsn")
    assert data.count(b"otrk") >= 4


def test_build_places_relative_names_under_the_music_folder(tmp_path: Path) -> None:
    playlist = tmp_path / "Playlists" / "set.m3u8"
    playlist.parent.mkdir()
    playlist.write_text(
        "#EXTM3U\n#EXTINF:300,A - One\n../Music/One.wav\n#EXTINF:300,B - Two\nTwo.wav\n",
        encoding="utf-8",
    )
    code, out, err = build(str(playlist), "--music-folder", r"C:\Users\dj\Music", fmt="rekordbox")
    assert code == 0, err
    locations = sorted(t.get("Location") for t in ET.fromstring(out).find("COLLECTION"))
    assert locations == [
        "file://localhost/C:/Users/dj/Music/One.wav",
        "file://localhost/C:/Users/dj/Music/Two.wav",
    ]
    code, _, err = build(str(playlist), "--music-folder", "Music", fmt="rekordbox")
    assert code != 0 and "not a full path" in err
