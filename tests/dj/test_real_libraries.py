"""What real DJ libraries hold: external drives, sampler sounds, PLS, text exports, VirtualDJ, RF64.

The fixtures are shaped like real exports (``fixtures/traktor-library.nml``,
``rekordbox-library.xml``, ``rekordbox-export.txt``, ``foobar.pls``, ``virtualdj-history.m3u``)
and the audio is generated; each test is one promise a DJ importing their library relies on.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from service.cli import main
from service.dj.exports import export_set, serato_path, to_serato_crate
from service.dj.matching import FileRef, match_entries
from service.dj.playlists import PoolError, Problem, parse_playlist, read_playlist
from service.dj.pools import load_pool
from service.dj.tags import read_tags
from service.dj.tracks import Track
from tests.dj import audio
from tests.dj.audio import make

FIXTURES = Path(__file__).parent / "fixtures"
TRAKTOR = FIXTURES / "traktor-library.nml"
REKORDBOX = FIXTURES / "rekordbox-library.xml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), env={"AI_PROVIDER": "local"})


def paths(playlist) -> list[str | None]:
    return [e.path or e.url for e in playlist.entries]


# --- Traktor volumes: external drives and Windows drive letters --------------------------------


def test_traktor_tracks_on_other_volumes_keep_their_drive() -> None:
    result = read_playlist(TRAKTOR)
    assert paths(result) == [
        "/Volumes/Transcend/DJing/House/Bicep - Glue.mp3",  # external drive on macOS
        "/Users/dj/Music/Fred again.. - Delilah.mp3",  # the startup disk
        "E:/DJ Music/Peggy Gou - Starry Night.flac",  # a Windows drive letter
        "/Volumes/Transcend/DJing/Techno/detected.mp3",
        "/Volumes/NO NAME/stick.mp3",  # a stick's root folder
    ]


def test_a_renamed_startup_disk_is_known_by_its_system_folders() -> None:
    nml = (
        '<?xml version="1.0" encoding="UTF-8"?><NML VERSION="19"><COLLECTION ENTRIES="3">'
        '<ENTRY TITLE="a"><LOCATION DIR="/:Users/:dj/:Music/:" FILE="a.mp3" VOLUME="MBP SSD"/>'
        "</ENTRY>"
        '<ENTRY TITLE="b"><LOCATION DIR="/:DJ/:" FILE="b.mp3" VOLUME="MBP SSD"/></ENTRY>'
        '<ENTRY TITLE="c"><LOCATION DIR="/:DJ/:" FILE="c.mp3" VOLUME="Samsung T7"/></ENTRY>'
        "</COLLECTION></NML>"
    )
    assert paths(parse_playlist(nml.encode("utf-8"))) == [
        "/Users/dj/Music/a.mp3",
        "/DJ/b.mp3",
        "/Volumes/Samsung T7/DJ/c.mp3",
    ]


@pytest.mark.parametrize("source", [TRAKTOR, REKORDBOX])
def test_drives_survive_every_export(tmp_path: Path, source: Path) -> None:
    tracks = load_pool(source).tracks
    by_title = {t.title: t for t in tracks}
    glue, starry = by_title["Glue"], by_title["Starry Night"]
    chosen = [glue, starry]

    nml = ET.fromstring(export_set("nml", chosen))
    locations = [e.find("LOCATION").attrib for e in nml.find("COLLECTION")]
    assert [(loc["VOLUME"], loc["DIR"], loc["FILE"]) for loc in locations] == [
        ("Transcend", "/:DJing/:House/:", "Bicep - Glue.mp3"),
        ("E:", "/:DJ Music/:", "Peggy Gou - Starry Night.flac"),
    ]
    keys = [k.get("KEY") for k in nml.iter("PRIMARYKEY")]
    assert keys == [
        "Transcend/:DJing/:House/:Bicep - Glue.mp3",
        "E:/:DJ Music/:Peggy Gou - Starry Night.flac",
    ]

    rekordbox = ET.fromstring(export_set("rekordbox", chosen))
    assert [t.get("Location") for t in rekordbox.find("COLLECTION")] == [
        "file://localhost/Volumes/Transcend/DJing/House/Bicep%20-%20Glue.mp3",
        "file://localhost/E:/DJ%20Music/Peggy%20Gou%20-%20Starry%20Night.flac",
    ]
    m3u8 = export_set("m3u8", chosen).splitlines()
    assert m3u8[2] == "/Volumes/Transcend/DJing/House/Bicep - Glue.mp3"
    assert m3u8[4] == "E:/DJ Music/Peggy Gou - Starry Night.flac"
    assert "/Volumes/Transcend/DJing/House/Bicep - Glue.mp3" in export_set("csv", chosen)
    assert [t["path"] for t in json.loads(export_set("json", chosen))["tracks"]] == [
        glue.path,
        starry.path,
    ]
    # a Serato crate lives on the drive its tracks are on: paths start at that drive's root
    assert serato_path(glue.path) == "DJing/House/Bicep - Glue.mp3"
    assert "DJing/House/Bicep - Glue.mp3".encode("utf-16-be") in to_serato_crate(chosen)

    # and Traktor reads our NML back to the same places
    out = tmp_path / "set.nml"
    out.write_text(export_set("nml", chosen), encoding="utf-8")
    assert [t.path for t in load_pool(out).tracks] == [glue.path, starry.path]


# --- PLS and Rekordbox's text export -----------------------------------------------------------


def test_pls_entries_in_number_order_with_title_and_length() -> None:
    result = read_playlist(FIXTURES / "foobar.pls")
    assert result.format == "pls"
    assert [(e.line, e.path or e.url, e.artist, e.title, e.duration_s) for e in result.entries] == [
        (2, "C:/Users/DJ/Music/4 Hero - Morning Child.mp3", "4 Hero", "Morning Child", 367.0),
        (5, "/Volumes/Transcend/DJing/Bicep - Glue.mp3", "Bicep", "Glue", 269.0),
        (8, "http://stream.example.com:8000/live", None, "Club Radio (live)", None),
        (12, "../Music/Peggy Gou - Starry Night.flac", None, None, None),
    ]
    assert [p.line for p in result.problems] == [11, 13, 14]
    assert result.problems[0].reason == "Title5 has no File5; ignored"
    assert result.problems[1].reason.startswith("Length4: duration 'abc'")
    assert result.problems[2].reason == "NumberOfEntries says 5 but the file lists 4"


def test_pls_lines_are_never_tracks() -> None:
    result = parse_playlist(
        b"[playlist]\nFile1=a.mp3\nNumberOfEntries=1\nVersion=2\n", filename="x.m3u"
    )
    assert paths(result) == ["a.mp3"]  # the content says PLS, whatever the name says
    assert result.problems == []


def test_pls_reports_what_it_cannot_use() -> None:
    result = parse_playlist(
        b"[playlist]\nFile2=b.mp3\nFile1=a.mp3\nFile1=again.mp3\njunk\nColour=red\n"
        b"NumberOfEntries=3\n",
        filename="x.pls",
    )
    assert paths(result) == ["a.mp3", "b.mp3"]
    assert result.problems == [
        Problem(4, "File1 also on line 3; skipped"),
        Problem(5, "'junk' is not a key=value line; skipped"),
        Problem(6, "'Colour' is not a PLS key; ignored"),
        Problem(7, "NumberOfEntries says 3 but the file lists 2"),
    ]
    with pytest.raises(PoolError, match="does not start with the \\[playlist\\] section"):
        parse_playlist(b"File1=a.mp3\n", filename="x.pls")


def test_a_pls_title_loses_to_the_files_own_tags(tmp_path: Path) -> None:
    make(tmp_path, "mp3", {"artist": "Bicep", "title": "Glue", "bpm": "130"}, name="glue")
    (tmp_path / "set.pls").write_text("[playlist]\nFile1=glue.mp3\nTitle1=Wrong - Guess\n")
    (track,) = load_pool(tmp_path / "set.pls").tracks
    assert (track.artist, track.title, track.bpm) == ("Bicep", "Glue", 130.0)
    assert track.sources["artist"] == "tag:TPE1"


def test_rekordbox_text_export_rows_in_order() -> None:
    result = read_playlist(FIXTURES / "rekordbox-export.txt")
    assert (result.format, result.encoding) == ("rekordbox-txt", "utf-16")
    rows = [
        (e.line, e.artist, e.title, e.album, e.bpm, e.key.camelot if e.key else None, e.duration_s)
        for e in result.entries
    ]
    assert rows == [
        (2, "4 Hero", "Morning Child", "Two Pages", 172.0, "4A", 367.0),
        (3, "Bicep", "Glue", "Bicep", 130.0, "11A", 269.0),
        (4, "Peggy Gou", "Starry Night", None, 124.0, None, 330.0),
    ]
    assert result.problems == []  # Artwork, Rating and Date Added are not ours; no noise


def test_a_text_export_with_no_column_we_read_is_refused() -> None:
    german = "#\tTitel\tInterpret\n1\tGlue\tBicep\n".encode("utf-16")
    with pytest.raises(PoolError, match="Rekordbox text export names none of the columns"):
        parse_playlist(german, filename="export.txt")


def test_text_that_is_no_playlist_is_refused_not_guessed() -> None:
    with pytest.raises(PoolError, match="not a playlist we read: it starts with 'Bicep - Glue'"):
        parse_playlist(b"Bicep - Glue\nFour Tet - Baby\n", filename="notes.txt")
    assert paths(parse_playlist(b"Music/a.mp3\nb.flac\n", filename="list.txt")) == [
        "Music/a.mp3",
        "b.flac",
    ]


def test_text_export_matches_uploaded_files_by_artist_and_title() -> None:
    entries = read_playlist(FIXTURES / "rekordbox-export.txt").entries
    files = [
        FileRef("f1", "glue.mp3", "Bicep", "Glue"),
        FileRef("f2", "mc.mp3", "4 Hero", "Morning Child"),
    ]
    found = {m.index: (m.file_id, m.method) for m in match_entries(entries, files).matches}
    assert found == {0: ("f2", "artist+title"), 1: ("f1", "artist+title")}


_TITLE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="-–—\ufeff"
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s)


@given(
    st.dictionaries(
        st.integers(min_value=1, max_value=60),
        st.tuples(
            st.booleans(),
            st.none() | _TITLE,
            st.none() | st.integers(min_value=-1, max_value=9999),
        ),
        max_size=15,
    ),
    st.randoms(use_true_random=False),
)
def test_any_pls_gives_its_entries_in_number_order(
    slots: dict[int, tuple[bool, str | None, int | None]], rnd
) -> None:
    lines = []
    for n, (has_file, title, length) in slots.items():
        lines += [f"File{n}=track{n}.mp3"] if has_file else []
        lines += [f"Title{n}={title}"] if title is not None else []
        lines += [f"Length{n}={length}"] if length is not None else []
    rnd.shuffle(lines)  # writers do not all keep File, Title, Length together or in order
    text = "[playlist]\n" + "".join(f"{ln}\n" for ln in lines)
    text += f"NumberOfEntries={sum(has_file for has_file, _, _ in slots.values())}\nVersion=2\n"
    result = parse_playlist(text.encode("utf-8"), filename="x.pls")
    numbers = [n for n in sorted(slots) if slots[n][0]]
    assert [(e.path, e.title) for e in result.entries] == [
        (f"track{n}.mp3", slots[n][1]) for n in numbers
    ]
    assert [e.duration_s for e in result.entries] == [
        float(slots[n][2]) if slots[n][2] and slots[n][2] > 0 else None for n in numbers
    ]
    orphans = sum(
        (title is not None) + (length is not None)
        for has_file, title, length in slots.values()
        if not has_file
    )
    assert len(result.problems) == orphans
    assert all("has no File" in p.reason for p in result.problems)


# --- VirtualDJ ----------------------------------------------------------------------------------


def test_virtualdj_extvdj_fields_are_used() -> None:
    result = read_playlist(FIXTURES / "virtualdj-history.m3u")
    rows = [(e.artist, e.title, e.duration_s, e.path or e.url) for e in result.entries]
    assert rows == [
        (
            "Simon & Garfunkel",
            "Mrs. Robinson (Extended Mix)",
            233.7,
            "C:/Users/DJ/Music/Simon & Garfunkel - Mrs Robinson.mp3",
        ),
        ("4 Hero", "Morning Child", 367.1, "C:/Users/DJ/Music/4 Hero - Morning Child.mp3"),
        (
            "j. period",
            "Buddy [Remix] (feat. De La Soul, Jungle Brothers, Q-Tip & Queen Latifah)",
            None,
            "netsearch://dz715352532",
        ),
    ]
    assert result.problems == []


# --- choosing one playlist inside a collection -------------------------------------------------


def test_playlist_names_with_slashes_are_names() -> None:
    traktor = read_playlist(TRAKTOR, playlist="3/23/2017")
    assert traktor.name == "3/23/2017"
    assert [e.title for e in traktor.entries] == ["Glue", "Starry Night"]
    assert read_playlist(TRAKTOR, playlist="History/3/23/2017").name == "3/23/2017"
    assert {"name": "3/23/2017", "path": "History/3/23/2017", "entries": 2} in traktor.playlists
    rekordbox = read_playlist(REKORDBOX, playlist="3/23/2017")
    assert [e.title for e in rekordbox.entries] == ["Delilah (pull me out of this)", "Glue"]
    # a folder a DJ named "ROOT" is a folder like any other
    assert read_playlist(REKORDBOX, playlist="ROOT/Nested").name == "Nested"


@pytest.mark.parametrize("source", [TRAKTOR, REKORDBOX])
def test_an_ambiguous_playlist_name_lists_the_candidates(source: Path) -> None:
    with pytest.raises(PoolError) as caught:
        read_playlist(source, playlist="Friday")
    assert str(caught.value) == (
        "2 playlists are named 'Friday': 'Gigs/Friday', '2019/Friday'; "
        "give the folder too (Folder/Name)"
    )
    expected = {TRAKTOR: ["Only Detected"], REKORDBOX: ["Delilah (pull me out of this)"]}
    assert [e.title for e in read_playlist(source, playlist="2019/Friday").entries] == (
        expected[source]
    )


def test_set_build_and_score_take_one_playlist_of_a_collection() -> None:
    code_build = run(
        "set", "build", str(TRAKTOR), "--playlist", "3/23/2017", "--format", "json",
        "--time-budget", "200ms",
    )  # fmt: skip
    assert code_build.exit_code == 0, code_build.stderr
    titles = {t["title"] for t in json.loads(code_build.stdout)["tracks"]}
    assert titles == {"Glue", "Starry Night"}
    score = run("set", "score", str(REKORDBOX), "--playlist", "3/23/2017", "--json")
    assert score.exit_code == 0, score.stderr
    assert [t["title"] for t in json.loads(score.stdout)["tracks"]] == [
        "Delilah (pull me out of this)",
        "Glue",
    ]
    costs = run("set", "costs", str(REKORDBOX), "--playlist", "Gigs/Friday", "--json")
    assert costs.exit_code == 0 and len(json.loads(costs.stdout)["tracks"]) == 2


def test_set_commands_refuse_an_ambiguous_or_unknown_playlist() -> None:
    ambiguous = run("set", "score", str(REKORDBOX), "--playlist", "Friday")
    assert ambiguous.exit_code == 2
    assert "'Gigs/Friday', '2019/Friday'" in ambiguous.stderr
    unknown = run("set", "build", str(TRAKTOR), "--playlist", "Saturday")
    assert unknown.exit_code == 2
    assert "no playlist named 'Saturday'" in unknown.stderr
    assert "'History/3/23/2017'" in unknown.stderr


def test_choosing_a_playlist_in_a_folder_pool_is_refused(tmp_path: Path) -> None:
    make(tmp_path, "mp3", {"title": "x"})
    result = run("set", "score", str(tmp_path), "--playlist", "Friday")
    assert result.exit_code == 2
    assert "Rekordbox and Traktor collections only" in result.stderr


# --- sampler one-shots and factory loops ---------------------------------------------------------


def test_sampler_sounds_and_factory_loops_are_left_out_and_said_so() -> None:
    rekordbox = read_playlist(REKORDBOX)
    assert [e.title for e in rekordbox.entries] == [
        "Glue",
        "Starry Night",
        "Delilah (pull me out of this)",
        "Morning Child",
    ]
    assert rekordbox.problems == [
        Problem(
            None,
            "left out 2 Rekordbox sampler sounds (lines 6, 7): sounds for the sampler, "
            "not tracks for a set",
        )
    ]
    traktor = read_playlist(TRAKTOR)
    assert "ClosedHH DMX V1" not in [e.title for e in traktor.entries]
    assert (
        Problem(
            None,
            "left out 1 Traktor factory sound (line 22): sounds for the sampler, "
            "not tracks for a set",
        )
        in traktor.problems
    )
    # inside a chosen playlist too, without calling them missing from the collection
    sampler = read_playlist(TRAKTOR, playlist="Sampler")
    assert [e.title for e in sampler.entries] == ["Glue"]
    assert not any("not in the collection" in p.reason for p in sampler.problems)


def test_a_folder_pool_leaves_the_sampler_folder_out(tmp_path: Path) -> None:
    sampler = tmp_path / "PioneerDJ" / "Sampler" / "OSC_SAMPLER" / "PRESET ONESHOT"
    sampler.mkdir(parents=True)
    make(sampler, "wav", name="HORN")
    make(sampler, "wav", name="NOISE")
    make(tmp_path, "mp3", {"artist": "Bicep", "title": "Glue"}, name="glue")
    pool = load_pool(tmp_path)
    assert [t.title for t in pool.tracks] == ["Glue"]
    (problem,) = pool.problems
    assert problem.reason.startswith("left out 2 Rekordbox sampler sounds (e.g. ")
    assert "HORN.wav" in problem.reason


@pytest.mark.parametrize(
    ("path", "left_out"),
    [
        ("C:/Users/u/Music/PioneerDJ/Sampler/OSC_SAMPLER/PRESET ONESHOT/NOISE.wav", True),
        ("/Users/dj/Music/PioneerDJ/Sampler/GROOVE CIRCUIT/kick.wav", True),
        ("/Users/dj/Music/pioneerdj/sampler/x.wav", True),
        ("/ProgramData/Native Instruments/Traktor Pro 3/Factory Sounds/ClosedHH.flac", True),
        ("/Users/dj/Music/Sampler/Real Song.mp3", False),  # a DJ's own folder named Sampler
        ("/Users/dj/Music/Factory Sounds/Real Song.mp3", False),
        ("/Users/dj/Music/PioneerDJ/Sampler.mp3", False),
    ],
)
def test_what_counts_as_a_sampler_sound(path: str, left_out: bool) -> None:
    result = parse_playlist(f"{path}\n".encode(), filename="x.m3u")
    assert (result.entries == []) is left_out


# --- noise and messages ----------------------------------------------------------------------------


def test_placeholder_years_and_keys_give_no_warnings() -> None:
    rekordbox = read_playlist(REKORDBOX)
    assert not any("Year" in p.reason for p in rekordbox.problems)
    assert [e.year for e in rekordbox.entries] == [None, None, 2022, None]
    traktor = read_playlist(TRAKTOR)
    starry = next(e for e in traktor.entries if e.title == "Starry Night")
    assert starry.key is None
    assert not any("off" in p.reason or "RELEASE_DATE" in p.reason for p in traktor.problems)


def test_our_own_csv_reads_back_without_warnings(tmp_path: Path) -> None:
    tracks = load_pool(TRAKTOR).tracks  # one has no key, one no BPM
    out = tmp_path / "set.csv"
    out.write_text(export_set("csv", tracks), encoding="utf-8")
    again = load_pool(out)
    assert again.problems == []
    assert [(t.title, t.key, t.bpm) for t in again.tracks] == [
        (t.title, t.key, t.bpm) for t in tracks
    ]


def test_our_own_csv_gives_back_text_it_guarded_against_spreadsheets(tmp_path: Path) -> None:
    tracks = [
        Track(id="a", path="/m/a.mp3", title="=HYPERLINK(x)", artist="-M-", bpm=128.0),
        Track(id="b", path="/m/b.mp3", title="'quoted'", artist="+1", bpm=-5.0 + 130),
    ]
    out = tmp_path / "set.csv"
    out.write_text(export_set("csv", tracks), encoding="utf-8")
    again = load_pool(out).tracks
    assert [(t.title, t.artist) for t in again] == [(t.title, t.artist) for t in tracks]


def test_folder_pool_warnings_name_the_file(tmp_path: Path) -> None:
    make(tmp_path, "mp3", {"artist": "A", "title": "T", "bpm": "0", "key": "xyz"}, name="odd")
    make(tmp_path, "mp3", {"artist": "B", "title": "U", "bpm": "128"}, name="fine")
    result = run("set", "score", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert f"warning: {tmp_path / 'odd.mp3'}: TKEY: unknown key notation: 'xyz'" in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("page.mp3", b"<!DOCTYPE html><html><body>403</body></html>\n" * 4, "an HTML page"),
        ("zeros.flac", bytes(4096), "nothing but zero bytes"),
        ("cover.m4a", b"\x89PNG\r\n\x1a\n" + bytes(200), "a PNG image"),
        ("cut.mp3", b"ID3\x04\x00\x00\x00\x00\x10\x00TIT2" + bytes(40), "cut short"),
    ],
)
def test_unreadable_files_say_what_is_wrong(
    tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = read_tags(path).error
    assert error is not None and says in error
    assert error.strip() != "error"


def test_a_cut_short_file_of_a_real_format_says_so(tmp_path: Path) -> None:
    whole = make(tmp_path, "ogg", {"title": "x"}).read_bytes()
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(whole[: len(whole) // 2])
    assert read_tags(cut).error == (
        "a damaged Ogg file, probably cut short: unable to read full data"
    )


def test_inspect_fails_when_no_file_can_be_read(tmp_path: Path) -> None:
    (tmp_path / "a.mp3").write_bytes(b"<html>not audio</html>")
    (tmp_path / "b.mp3").write_bytes(b"")
    result = run("inspect", str(tmp_path / "a.mp3"), str(tmp_path / "b.mp3"), "--json")
    assert result.exit_code == 2
    assert [d["error"] for d in json.loads(result.stdout)] == [
        "not audio: the file is an HTML page (a failed download?)",
        "empty file (0 bytes)",
    ]
    assert "could not read any of the 2 files" in result.stderr
    make(tmp_path, "flac", {"title": "fine"}, name="c")
    assert run("inspect", str(tmp_path)).exit_code == 0  # one readable file is enough


def test_a_valid_rf64_wav_is_read(tmp_path: Path) -> None:
    path = audio.write_rf64(
        tmp_path / "long-recording.wav",
        seconds=0.5,
        info={"INAM": "Info Title", "IART": "Info Artist"},
        id3_values={"title": "Glue", "bpm": "130", "key": "11A"},
    )
    tags = read_tags(path)
    assert tags.error is None and tags.warnings == []
    assert (tags.format, tags.codec, tags.sample_rate, tags.duration_s) == (
        "wav",
        "pcm",
        44100,
        0.5,
    )
    assert (tags.title, tags.artist, tags.bpm) == ("Glue", "Info Artist", 130.0)
    assert tags.key is not None and tags.key.camelot == "11A"
    assert tags.sources["title"] == "tag:TIT2" and tags.sources["artist"] == "tag:INFO:IART"


def test_a_cut_rf64_wav_still_gives_what_it_holds(tmp_path: Path) -> None:
    whole = audio.write_rf64(tmp_path / "whole.wav", seconds=1.0).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) // 2])
    tags = read_tags(cut)
    assert tags.error is None
    assert tags.duration_s is not None and 0.4 < tags.duration_s < 0.6


# --- Traktor's two keys --------------------------------------------------------------------------


def test_traktor_key_text_is_used_detected_key_kept_and_conflict_reported() -> None:
    result = read_playlist(TRAKTOR)
    glue, delilah, _starry, detected, _stick = result.entries
    assert glue.key is not None and glue.key.camelot == "11A"  # the key text the DJ sees
    assert {spot: key.camelot for spot, key in glue.keys.items()} == {
        "INFO@KEY": "11A",
        "MUSICAL_KEY@VALUE": "8A",
    }
    assert (
        Problem(
            5,
            "the key text (INFO KEY) is 11A but Traktor detected 8A (MUSICAL_KEY); "
            "using the key text",
        )
        in result.problems
    )
    assert delilah.key is not None and delilah.key.camelot == "8A"  # both agree: no problem
    assert not any(p.line == 11 for p in result.problems)
    assert detected.key is not None and detected.key.camelot == "9B"  # detection fills in
    assert glue.to_json()["keys"]["MUSICAL_KEY@VALUE"] == {
        "camelot": "8A",
        "open_key": "1m",
        "name": "Am",
    }


def test_pool_tracks_say_which_traktor_key_they_carry() -> None:
    by_title = {t.title: t for t in load_pool(TRAKTOR).tracks}
    assert by_title["Glue"].sources["key"] == "playlist:nml:INFO@KEY"
    assert by_title["Only Detected"].sources["key"] == "playlist:nml:MUSICAL_KEY@VALUE"


# --- relative entries that climb above the playlist's folder ---------------------------------------


def test_entries_climbing_above_the_playlist_are_kept_and_resolved_locally(tmp_path: Path) -> None:
    (tmp_path / "Music").mkdir()
    (tmp_path / "Playlists").mkdir()
    make(
        tmp_path / "Music",
        "flac",
        {"artist": "Four Tet", "title": "Baby", "bpm": "124"},
        name="baby",
    )
    playlist = tmp_path / "Playlists" / "set.m3u8"
    playlist.write_text("#EXTM3U\n../Music/baby.flac\n..\\Music\\missing.mp3\n", encoding="utf-8")
    parsed = read_playlist(playlist)
    assert paths(parsed) == ["../Music/baby.flac", "../Music/missing.mp3"]
    assert parsed.problems == []
    baby, missing = load_pool(playlist).tracks
    assert (baby.artist, baby.title, baby.bpm) == ("Four Tet", "Baby", 124.0)  # the file was found
    assert missing.path == "../Music/missing.mp3"
    with pytest.raises(PoolError, match="outside the library root"):
        read_playlist(playlist, root=tmp_path / "Playlists" / "sub")
    bounded = read_playlist(playlist, root=tmp_path / "Playlists")
    assert bounded.entries == [] and len(bounded.problems) == 2


def test_an_uploaded_playlist_with_climbing_entries_matches_the_uploaded_files() -> None:
    data = b"#EXTM3U\n../Music/House/glue.mp3\n../../Other/baby.flac\n/../etc/passwd\n"
    parsed = parse_playlist(data, filename="upload.m3u8")
    assert paths(parsed) == ["../Music/House/glue.mp3", "../../Other/baby.flac"]
    files = [FileRef("f-baby", "baby.flac"), FileRef("f-glue", "House/glue.mp3")]
    matched = match_entries(parsed.entries, files)
    assert [(m.line, m.file_id, m.method) for m in matched.matches] == [
        (2, "f-glue", "path"),
        (3, "f-baby", "filename"),
    ]
