"""Tag reading over real files of every format, every key notation, every ID3 version, broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.dj.tags import TrackTags, iter_audio_files, read_many, read_tags
from tests.dj import audio
from tests.dj.audio import FORMAT_OF, KINDS, make
from tests.dj.shapes import INSPECT_FIELDS

FULL = {
    "title": "Strobe",
    "artist": "deadmau5",
    "album": "For Lack of a Better Name",
    "genre": "Progressive House",
    "label": "mau5trap",
    "isrc": "CA-6D2-09-00012",
    "year": "2009-09-22",
    "bpm": "128",
    "key": "Am",
    "energy": "6",
    "comment": "great closer",
}

EXPECTED_SOURCES = {
    "id3": {
        "title": "tag:TIT2",
        "bpm": "tag:TBPM",
        "key": "tag:TKEY",
        "energy": "tag:TXXX:EnergyLevel",
        "label": "tag:TPUB",
        "isrc": "tag:TSRC",
        "year": "tag:TDRC",
        "comment": "tag:COMM",
    },
    "vorbis": {
        "title": "tag:TITLE",
        "bpm": "tag:BPM",
        "key": "tag:INITIALKEY",
        "energy": "tag:ENERGYLEVEL",
        "label": "tag:LABEL",
        "year": "tag:DATE",
    },
    "mp4": {
        "title": "tag:©nam",
        "bpm": "tag:----:com.apple.iTunes:BPM",
        "key": "tag:----:com.apple.iTunes:initialkey",
        "label": "tag:----:com.apple.iTunes:LABEL",
        "year": "tag:©day",
    },
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_reads_every_field_of_every_format(tmp_path: Path, kind: str) -> None:
    path = make(tmp_path, kind, FULL)
    tags = read_tags(path)
    assert tags.error is None, tags.error
    assert tags.warnings == []
    assert tags.format == FORMAT_OF[kind]
    assert (tags.title, tags.artist, tags.album) == (
        "Strobe",
        "deadmau5",
        "For Lack of a Better Name",
    )
    assert (tags.genre, tags.label) == ("Progressive House", "mau5trap")
    assert tags.isrc == "CA6D20900012"
    assert tags.year == 2009
    assert tags.bpm == 128.0
    assert tags.key is not None and tags.key.camelot == "8A"
    assert tags.energy == 6
    assert tags.comment == "great closer"
    assert tags.duration_s is not None and 0.15 < tags.duration_s < 0.5
    assert tags.sample_rate == KINDS[kind][3]
    for name, source in EXPECTED_SOURCES[audio.FAMILY[kind]].items():
        assert tags.sources[name] == source


def test_codecs_are_told_apart(tmp_path: Path) -> None:
    assert read_tags(make(tmp_path, "m4a-aac", name="a")).codec == "aac"
    assert read_tags(make(tmp_path, "m4a-alac", name="b")).codec == "alac"
    assert read_tags(make(tmp_path, "opus", name="c")).codec == "opus"


NOTATIONS = [
    ("8A", "8A"),
    ("08A", "8A"),
    ("Am", "8A"),
    ("A minor", "8A"),
    ("Amin", "8A"),
    ("a", "8A"),
    ("A#m", "3A"),
    ("Bbm", "3A"),
    ("B♭m", "3A"),
    ("1m", "8A"),
    ("10d", "5B"),
    ("21", "8A"),
    ("F♯", "2B"),
]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(("text", "camelot"), NOTATIONS)
def test_key_in_every_notation_in_every_format(
    tmp_path: Path, kind: str, text: str, camelot: str
) -> None:
    tags = read_tags(make(tmp_path, kind, {"key": text}))
    assert tags.key is not None and tags.key.camelot == camelot


@pytest.mark.parametrize("kind", ["mp3", "flac", "m4a-aac"])
@pytest.mark.parametrize(
    ("text", "bpm", "warned"),
    [
        ("128", 128.0, False),
        ("127.98", 127.98, False),
        ("128,5", 128.5, False),
        ("174.00", 174.0, False),
        ("0", None, False),
        ("999", None, True),
        ("12800", None, True),
        ("fast", None, True),
    ],
)
def test_bpm_spellings(
    tmp_path: Path, kind: str, text: str, bpm: float | None, warned: bool
) -> None:
    tags = read_tags(make(tmp_path, kind, {"bpm": text}))
    assert tags.bpm == bpm
    assert bool(tags.warnings) is warned
    assert ("bpm" in tags.sources) is (bpm is not None)


def test_mp4_integer_tempo_atom(tmp_path: Path) -> None:
    path = make(tmp_path, "m4a-alac")
    m4a = audio.mutagen.File(path)
    m4a["tmpo"] = [126]
    m4a.save()
    tags = read_tags(path)
    assert tags.bpm == 126.0
    assert tags.sources["bpm"] == "tag:tmpo"


@pytest.mark.parametrize("kind", ["m4a-aac", "m4a-alac"])
def test_itunes_compilation_and_gapless_flags_keep_every_tag(tmp_path: Path, kind: str) -> None:
    path = make(tmp_path, kind, FULL)
    audio.add_itunes_atoms(path)
    tags = read_tags(path)
    assert tags.error is None and tags.warnings == []
    assert (tags.title, tags.artist, tags.album, tags.year) == (
        "Strobe",
        "deadmau5",
        "For Lack of a Better Name",
        2009,
    )
    assert tags.key is not None and tags.key.camelot == "8A"
    assert (tags.bpm, tags.energy, tags.label) == (128.0, 6, "mau5trap")
    assert tags.duration_s is not None and tags.duration_s > 0


@pytest.mark.parametrize("kind", ["mp3", "flac", "m4a-aac", "wav"])
def test_mixed_in_key_comment_gives_key_and_energy(tmp_path: Path, kind: str) -> None:
    tags = read_tags(make(tmp_path, kind, {"comment": "8A - Energy 6"}))
    assert tags.key is not None and tags.key.camelot == "8A"
    assert tags.energy == 6
    assert tags.sources["key"] == tags.sources["energy"] == "tag:comment"


def test_key_tag_wins_over_comment(tmp_path: Path) -> None:
    tags = read_tags(
        make(tmp_path, "mp3", {"key": "5A", "energy": "3", "comment": "8A - Energy 6"})
    )
    assert tags.key is not None and tags.key.camelot == "5A"
    assert tags.energy == 3
    assert tags.sources["key"] == "tag:TKEY"


def test_plain_comment_is_not_a_key(tmp_path: Path) -> None:
    tags = read_tags(make(tmp_path, "mp3", {"comment": "A classic from the vault"}))
    assert tags.key is None and tags.energy is None


@pytest.mark.parametrize(
    ("text", "energy", "warned"),
    [("7", 7, False), ("10", 10, False), ("0", None, True), ("42", None, True)],
)
def test_energy_level(tmp_path: Path, text: str, energy: int | None, warned: bool) -> None:
    tags = read_tags(make(tmp_path, "flac", {"energy": text}))
    assert tags.energy == energy
    assert bool(tags.warnings) is warned


def test_unknown_key_is_a_warning_not_an_error(tmp_path: Path) -> None:
    tags = read_tags(make(tmp_path, "aiff", {"title": "x", "key": "o"}))
    assert tags.error is None
    assert tags.key is None
    assert tags.title == "x"
    assert tags.warnings == ["TKEY: unknown key notation: 'o'; ignored"]


def test_invalid_isrc_is_ignored_with_a_warning(tmp_path: Path) -> None:
    tags = read_tags(make(tmp_path, "mp3", {"isrc": "not-an-isrc"}))
    assert tags.isrc is None
    assert "TSRC" in tags.warnings[0]


# --- ID3 versions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [3, 4])
def test_id3v23_and_v24(tmp_path: Path, version: int) -> None:
    path = audio.write_audio(tmp_path / "t.mp3", "mp3")
    audio.tag_id3(
        path,
        {"title": "T", "artist": "A", "bpm": "125", "key": "Gm", "energy": "5", "year": "2004"},
        version=version,
    )
    tags = read_tags(path)
    assert (tags.title, tags.artist, tags.bpm, tags.energy, tags.year) == ("T", "A", 125.0, 5, 2004)
    assert tags.key is not None and tags.key.camelot == "6A"


def test_id3v22(tmp_path: Path) -> None:
    path = audio.write_audio(tmp_path / "old.mp3", "mp3")
    audio.prepend_id3v22(
        path,
        {
            "TT2": "Old Song",
            "TP1": "Old Artist",
            "TBP": "120",
            "TKE": "Dm",
            "TXX:EnergyLevel": "4",
            "TYE": "1999",
        },
    )
    tags = read_tags(path)
    assert tags.error is None, tags.error
    assert (tags.title, tags.artist, tags.bpm, tags.energy, tags.year) == (
        "Old Song",
        "Old Artist",
        120.0,
        4,
        1999,
    )
    assert tags.key is not None and tags.key.camelot == "7A"


def test_id3v1_only(tmp_path: Path) -> None:
    path = audio.write_audio(tmp_path / "v1.mp3", "mp3")
    audio.only_id3v1(
        path,
        {
            "title": "V1 Title",
            "artist": "V1 Artist",
            "album": "V1 Album",
            "year": "1997",
            "comment": "8A - Energy 6",
        },
    )
    tags = read_tags(path)
    assert (tags.title, tags.artist, tags.album, tags.year) == (
        "V1 Title",
        "V1 Artist",
        "V1 Album",
        1997,
    )
    assert tags.sources["title"] == "tag:ID3v1:TIT2"
    assert tags.key is not None and tags.key.camelot == "8A"


# --- WAV: ID3 chunk and RIFF INFO ------------------------------------------------------------------


def test_wav_riff_info_only(tmp_path: Path) -> None:
    path = audio.write_audio(tmp_path / "info.wav", "wav")
    audio.add_riff_info(
        path,
        {
            "INAM": "Info Title",
            "IART": "Info Artist",
            "IGNR": "Techno",
            "ICRD": "2018",
            "ICMT": "3A - Energy 8",
            "ISRC": "Sound Forge",
        },
    )
    tags = read_tags(path)
    assert tags.error is None
    assert (tags.title, tags.artist, tags.genre, tags.year) == (
        "Info Title",
        "Info Artist",
        "Techno",
        2018,
    )
    assert tags.key is not None and tags.key.camelot == "3A"
    assert tags.energy == 8
    assert tags.sources["title"] == "tag:INFO:INAM"
    assert tags.isrc is None  # INFO ISRC means "source"; this one is not an ISRC code
    assert tags.warnings and "INFO:ISRC" in tags.warnings[0]


def test_wav_id3_chunk_wins_and_info_fills_gaps(tmp_path: Path) -> None:
    path = audio.write_audio(tmp_path / "both.wav", "wav")
    audio.tag_id3(path, {"title": "From ID3", "bpm": "130"})
    audio.add_riff_info(path, {"INAM": "From INFO", "IART": "Info Artist"})
    tags = read_tags(path)
    assert tags.title == "From ID3" and tags.sources["title"] == "tag:TIT2"
    assert tags.artist == "Info Artist" and tags.sources["artist"] == "tag:INFO:IART"
    assert tags.bpm == 130.0


def test_wav_riff_info_in_windows_1252(tmp_path: Path) -> None:
    path = audio.write_audio(tmp_path / "ansi.wav", "wav")
    audio.add_riff_info(path, {"INAM": "Café", "IART": "Röyksopp"}, encoding="cp1252")
    tags = read_tags(path)
    assert (tags.title, tags.artist) == ("Café", "Röyksopp")


# --- broken files: a clear error each, never an exception, never a stopped batch -------------------


def test_zero_length(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    assert read_tags(path).error == "empty file (0 bytes)"


def test_missing_file(tmp_path: Path) -> None:
    assert read_tags(tmp_path / "gone.flac").error == "file not found"


def test_folder(tmp_path: Path) -> None:
    assert read_tags(tmp_path).error == "is a folder, not an audio file"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"just some text\n"),
        ("cover.jpg", b"\xff\xd8\xff\xe0" + b"\x00JFIF" * 50),
        ("fake.mp3", b"this is not an mp3 at all" * 20),
        ("fake.flac", b"fLaC" + b"\x00" * 3),
        ("random.wav", bytes(range(256)) * 8),
        ("fake.m4a", b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 8),
    ],
)
def test_non_audio_and_garbage(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    tags = read_tags(path)
    assert tags.error is not None
    assert tags.format is None


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("keep", [4, 40, 0.5])
def test_truncated_files_never_raise(tmp_path: Path, kind: str, keep: float) -> None:
    path = make(tmp_path, kind, FULL)
    data = path.read_bytes()
    size = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:size])
    tags = read_tags(path)
    assert isinstance(tags, TrackTags)
    if size < 40:
        assert tags.error is not None


def test_a_bad_file_does_not_stop_a_batch(tmp_path: Path) -> None:
    good1 = make(tmp_path, "mp3", {"title": "one"}, name="one")
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"fLaC\x00\x00")
    good2 = make(tmp_path, "opus", {"title": "two"}, name="two")
    results = list(read_many([good1, bad, tmp_path / "missing.ogg", good2]))
    assert [r.title for r in results] == ["one", None, None, "two"]
    assert [r.error is None for r in results] == [True, False, False, True]


def test_iter_audio_files_skips_hidden_and_non_audio(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("b.mp3", "a.FLAC", "sub/c.wav", ".hidden/d.mp3", "._e.mp3", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = [Path(p).relative_to(tmp_path).as_posix() for p in iter_audio_files(tmp_path)]
    assert found == ["a.FLAC", "b.mp3", "sub/c.wav"]


def test_to_json_shape(tmp_path: Path) -> None:
    data = read_tags(make(tmp_path, "mp3", {"title": "x", "key": "8A"})).to_json()
    assert set(data) >= INSPECT_FIELDS
    assert data["key"] == {"camelot": "8A", "open_key": "1m", "name": "Am"}
