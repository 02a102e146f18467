"""Playlists and collections: a corpus of nasty M3U files checked line by line, Rekordbox, Traktor, CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.dj.exports import to_m3u8
from service.dj.playlists import (
    Limits,
    PoolError,
    Problem,
    detect_format,
    normalise_location,
    parse_playlist,
    read_playlist,
)
from service.dj.tracks import Track

FIXTURES = Path(__file__).parent / "fixtures"


def m3u(text: str, **kwargs: object):
    """Parse M3U text given as UTF-8."""
    return parse_playlist(text.encode("utf-8"), filename="list.m3u8", **kwargs)


def by_line(result) -> dict[int, object]:
    return {e.line: e for e in result.entries}


# --- M3U: extended info, directives, comments ------------------------------------------------------


def test_extended_m3u_entries_and_directives() -> None:
    result = m3u(
        "#EXTM3U\n"  # 1
        "#PLAYLIST:Friday warm-up\n"  # 2
        "# a comment, not an entry\n"  # 3
        "#EXTINF:372,Bicep - Glue\n"  # 4
        "Bicep/Glue.mp3\n"  # 5
        "\n"  # 6
        "#EXTINF:-1,Untitled stream\n"  # 7
        "https://radio.example.com/live.mp3\n"  # 8
        "#EXTGRP:Openers\n"  # 9
        '#EXTINF:301.5 tvg-id="x",Four Tet – Baby\n'  # 10
        "#EXTART:ignored because EXTINF has the artist\n"  # 11
        "/Music/Four Tet/Baby.flac\n"  # 12
        "#EXTINF:245,Just A Title\n"  # 13
        "plain.mp3\n"  # 14
    )
    assert result.format == "m3u"
    assert result.encoding == "utf-8"
    assert result.name == "Friday warm-up"
    assert result.problems == []
    lines = by_line(result)
    assert sorted(lines) == [5, 8, 12, 14]
    glue = lines[5]
    assert (glue.artist, glue.title, glue.duration_s, glue.path) == (
        "Bicep",
        "Glue",
        372.0,
        "Bicep/Glue.mp3",
    )
    assert glue.raw == "Bicep/Glue.mp3"
    stream = lines[8]
    assert (stream.url, stream.path, stream.duration_s, stream.title) == (
        "https://radio.example.com/live.mp3",
        None,
        None,
        "Untitled stream",
    )
    baby = lines[12]
    assert (baby.artist, baby.title, baby.duration_s) == ("Four Tet", "Baby", 301.5)
    assert lines[14].artist is None and lines[14].title == "Just A Title"


@pytest.mark.parametrize(
    ("line", "duration", "artist", "title"),
    [
        ("#EXTINF:367,4 Hero - Morning Child", 367.0, "4 Hero", "Morning Child"),
        ("#EXTINF:163,60 Minute Man - The Dominoes", 163.0, "60 Minute Man", "The Dominoes"),
        ("#EXTINF:245,808 State - Pacific 202", 245.0, "808 State", "Pacific 202"),
        ("#EXTINF:301.5,2 Unlimited - No Limit", 301.5, "2 Unlimited", "No Limit"),
        ('#EXTINF:200 tvg-name="Live, loud",5ive - Keep On Movin', 200.0, "5ive", "Keep On Movin"),
        ("#EXTINF:-1,1000 Clowns - Not The Only One", None, "1000 Clowns", "Not The Only One"),
        ("#EXTINF:0,10cc - Dreadlock Holiday", None, "10cc", "Dreadlock Holiday"),
    ],
)
def test_extinf_duration_ends_at_the_first_comma(
    line: str, duration: float | None, artist: str, title: str
) -> None:
    (entry,) = m3u(f"#EXTM3U\n{line}\na.mp3\n").entries
    assert (entry.duration_s, entry.artist, entry.title) == (duration, artist, title)


_WORDS = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Cn", "Zl", "Zp"), blacklist_characters="-–—\ufeff"
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s)


@given(st.lists(st.tuples(_WORDS, _WORDS, st.integers(min_value=1, max_value=36_000)), max_size=8))
def test_any_artist_title_and_length_survive_our_m3u8_export(
    rows: list[tuple[str, str, int]],
) -> None:
    tracks = [
        Track(id=f"t{i}", path=f"/music/{i}.mp3", artist=a, title=t, duration_s=float(d))
        for i, (a, t, d) in enumerate(rows)
    ]
    parsed = parse_playlist(to_m3u8(tracks).encode("utf-8"), filename="set.m3u8")
    assert parsed.problems == []
    assert [(e.artist, e.title, e.duration_s, e.path) for e in parsed.entries] == [
        (t.artist, t.title, t.duration_s, t.path) for t in tracks
    ]


def test_plain_m3u_without_header() -> None:
    result = m3u("a.mp3\nb.mp3\n")
    assert [e.path for e in result.entries] == ["a.mp3", "b.mp3"]
    assert all(e.title is None for e in result.entries)


def test_extart_and_extalb_apply_to_the_next_entry() -> None:
    result = m3u(
        "#EXTM3U\n#EXTART:Moderat\n#EXTALB:II\n#EXTGENRE:Electronica\nBad Kingdom.mp3\nnext.mp3\n"
    )
    first, second = result.entries
    assert (first.artist, first.album, first.genre) == ("Moderat", "II", "Electronica")
    assert (second.artist, second.album) == (None, None)


def test_extinf_problems_are_reported() -> None:
    result = m3u("#EXTM3U\n#EXTINF:abc,Broken\na.mp3\n#EXTINF:100,Dangling\n\n#EXTINF:5,Last\n")
    assert result.problems == [
        Problem(2, "#EXTINF without a duration; ignored"),
        Problem(4, "#EXTINF not followed by a track; ignored"),
        Problem(6, "#EXTINF not followed by a track; ignored"),
    ]
    assert result.entries[0].title is None


# --- line endings and encodings --------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = newline.join(["#EXTM3U", "#EXTINF:1,A - B", "one.mp3", "", "two.mp3"]) + newline
    result = m3u(text)
    assert [(e.line, e.path) for e in result.entries] == [(3, "one.mp3"), (5, "two.mp3")]
    assert result.entries[0].title == "B"


def test_mixed_line_endings_keep_line_numbers() -> None:
    result = parse_playlist(b"#EXTM3U\r\na.mp3\nb.mp3\rc.mp3\r\n")
    assert [(e.line, e.path) for e in result.entries] == [(2, "a.mp3"), (3, "b.mp3"), (4, "c.mp3")]


def test_utf8_bom() -> None:
    result = parse_playlist(
        b"\xef\xbb\xbf#EXTM3U\n#EXTINF:10,Sigur R\xc3\xb3s - Hopp\xc3\xadpolla\nx.mp3\n"
    )
    assert result.encoding == "utf-8-sig"
    assert result.entries[0].artist == "Sigur Rós"
    assert result.problems == []


def test_multibyte_character_across_the_detection_window() -> None:
    head = b"\xef\xbb\xbf#EXTM3U\n" + b"a" * (8191 - 12) + b"\n"
    data = head + "é.mp3\n".encode()  # "é" straddles byte 8192
    assert len(head) == 8191
    result = parse_playlist(data)
    assert result.entries[-1].path == "é.mp3"


def test_utf8_bom_on_a_bare_path_list() -> None:
    result = parse_playlist(b"\xef\xbb\xbfa.mp3\n")
    assert result.entries[0].path == "a.mp3"


def test_utf16_with_bom() -> None:
    result = parse_playlist("#EXTM3U\r\n#EXTINF:5,Björk - Joga\r\nJoga.mp3\r\n".encode("utf-16"))
    assert result.encoding == "utf-16"
    assert result.entries[0].artist == "Björk"


def test_legacy_cp1252_is_detected_and_reported() -> None:
    data = "#EXTM3U\r\n#EXTINF:200,Café Tacvba – Eres\r\nC:\\Música\\Eres €.mp3\r\n".encode(
        "cp1252"
    )
    result = parse_playlist(data, filename="old.m3u")
    assert result.encoding == "cp1252"
    assert result.problems == [
        Problem(None, "the file is not UTF-8; read it as cp1252 (a legacy .m3u)")
    ]
    entry = result.entries[0]
    assert entry.artist == "Café Tacvba"
    assert entry.path == "C:/Música/Eres €.mp3"


def test_legacy_latin1_when_not_cp1252() -> None:
    # 0x81 is undefined in Windows-1252: only Latin-1 reads this file.
    result = parse_playlist(b"#EXTM3U\nna\xefve\x81.mp3\n", filename="old.m3u")
    assert result.encoding == "latin-1"
    assert result.entries[0].path == "na\xefve\x81.mp3"


# --- locations -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path", "url"),
    [
        ("Artist/Track.mp3", "Artist/Track.mp3", None),
        ("./Artist/./Track.mp3", "Artist/Track.mp3", None),
        ("Artist/../Other/Track.mp3", "Other/Track.mp3", None),
        ("/Users/dj/Music/Track.mp3", "/Users/dj/Music/Track.mp3", None),
        ("//Users//dj/x.mp3", "/Users/dj/x.mp3", None),  # no share name: a POSIX path
        ("//nas/music/x.mp3", "//nas/music/x.mp3", None),
        ("C:\\Users\\DJ\\Music\\Track.mp3", "C:/Users/DJ/Music/Track.mp3", None),
        ("c:/Users/DJ/Track.mp3", "C:/Users/DJ/Track.mp3", None),
        ("Music\\Sub\\Track.mp3", "Music/Sub/Track.mp3", None),
        ("\\\\NAS\\music\\Track.flac", "//NAS/music/Track.flac", None),
        ("file:///Users/dj/My%20Music/caf%C3%A9.mp3", "/Users/dj/My Music/café.mp3", None),
        ("file://localhost/Users/dj/a%23b.mp3", "/Users/dj/a#b.mp3", None),
        ("file://localhost/C:/Users/DJ/Caf%C3%A9.flac", "C:/Users/DJ/Café.flac", None),
        ("file:///C:/Music/x.mp3", "C:/Music/x.mp3", None),
        ("file:///C|/Music/x.mp3", "C:/Music/x.mp3", None),
        ("file://nas/share/x.mp3", "//nas/share/x.mp3", None),
        ("file:///Users/dj/caf%E9.mp3", "/Users/dj/café.mp3", None),  # Latin-1 escapes
        ("https://example.com/a b.mp3", None, "https://example.com/a b.mp3"),
        ("HTTP://EXAMPLE.COM/X.MP3", None, "HTTP://EXAMPLE.COM/X.MP3"),
        ("  spaced.mp3  ", "spaced.mp3", None),
    ],
)
def test_normalise_location(raw: str, path: str | None, url: str | None) -> None:
    loc = normalise_location(raw)
    assert (loc.path, loc.url) == (path, url)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../../etc/passwd", "climbs out of the library root"),
        ("Music/../../secret.mp3", "climbs out of the library root"),
        ("..\\..\\Windows\\win.ini", "climbs out of the library root"),
        ("/../etc/passwd", "climbs out of the library root"),
        ("C:\\..\\x.mp3", "climbs out of the library root"),
        ("file:///%2E%2E/etc/passwd", "climbs out of the library root"),
        ("file:///music/a%00b.mp3", "NUL byte"),
        ("\\\\server", "network path without a server and share"),
        ("Music/..", "names a folder"),
        ("", "empty location"),
    ],
)
def test_unusable_locations(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise_location(raw)


def test_base_folder_lets_entries_climb_within_the_root() -> None:
    assert normalise_location("../Tracks/a.mp3", base="Playlists").path == "Tracks/a.mp3"
    with pytest.raises(ValueError, match="climbs out"):
        normalise_location("../../a.mp3", base="Playlists")


def test_every_path_form_in_one_playlist() -> None:
    result = m3u(
        "#EXTM3U\n"
        "rel/a.mp3\n"  # 2
        "/abs/b.mp3\n"  # 3
        "D:\\DJ\\c.mp3\n"  # 4
        "file:///abs/with%20space/d.mp3\n"  # 5
        "http://example.com/e.mp3\n"  # 6
        "../../above.mp3\n"  # 7
        "/../escape.mp3\n"  # 8
        "ok/../f.mp3\n"  # 9
    )
    assert [(e.line, e.path or e.url) for e in result.entries] == [
        (2, "rel/a.mp3"),
        (3, "/abs/b.mp3"),
        (4, "D:/DJ/c.mp3"),
        (5, "/abs/with space/d.mp3"),
        (6, "http://example.com/e.mp3"),
        (7, "../../above.mp3"),  # no library root: relative to the playlist, wherever it climbs
        (9, "f.mp3"),
    ]
    assert result.problems == [Problem(8, "path climbs out of the library root with '..'; skipped")]


# --- duplicates, NUL bytes, long lines, limits -----------------------------------------------------


def test_duplicates_are_kept_and_flagged() -> None:
    result = m3u("a.mp3\nb.mp3\na.mp3\nC:\\X\\c.mp3\nc:/x/C.MP3\nhttp://h/s\nhttp://h/s\n./a.mp3\n")
    dup = {e.line: e.duplicate_of for e in result.entries}
    assert dup == {1: None, 2: None, 3: 1, 4: None, 5: 4, 6: None, 7: 6, 8: 1}


def test_nul_bytes_reject_the_line_only() -> None:
    result = parse_playlist(b"#EXTM3U\nfirst.mp3\nbad\x00name.mp3\nlast.mp3\n")
    assert [e.path for e in result.entries] == ["first.mp3", "last.mp3"]
    assert result.problems == [Problem(3, "line contains a NUL byte; skipped")]


def test_overlong_lines_are_rejected_with_their_number() -> None:
    long_line = "x/" * 3000 + "a.mp3"
    result = m3u(f"#EXTM3U\nok.mp3\n{long_line}\n#EXTINF:1,{'y' * 5000}\nlast.mp3\n")
    assert [e.path for e in result.entries] == ["ok.mp3", "last.mp3"]
    assert [p.line for p in result.problems] == [3, 4]
    assert "characters long (limit 4,096); skipped" in result.problems[0].reason


def test_size_limit() -> None:
    with pytest.raises(PoolError, match="the limit is 100"):
        parse_playlist(b"a.mp3\n" * 50, limits=Limits(max_bytes=100))


def test_entry_limit() -> None:
    with pytest.raises(PoolError, match="more than 3 entries"):
        m3u("a\nb\nc\nd\n", limits=Limits(max_entries=3))
    assert len(m3u("a\nb\nc\n", limits=Limits(max_entries=3)).entries) == 3


def test_empty_and_binary_input_is_unusable() -> None:
    with pytest.raises(PoolError, match="empty"):
        parse_playlist(b"")
    with pytest.raises(PoolError, match="empty"):
        parse_playlist(b"\n\n  \n")
    with pytest.raises(PoolError, match="binary"):
        parse_playlist(
            b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 20, filename="song.mp3"
        )


def test_header_only_playlist_is_readable_and_empty() -> None:
    result = m3u("#EXTM3U\n")
    assert result.entries == [] and result.problems == []


# --- format detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "fmt"),
    [
        (b"#EXTM3U\na.mp3\n", None, "m3u"),
        (b"a.mp3\n", "x.m3u8", "m3u"),
        (b"artist,title\nA,B\n", None, "csv"),
        (b"artist,title\nA,B\n", "x.m3u", "m3u"),
        (b"<?xml version='1.0'?><DJ_PLAYLISTS/>", "x.txt", "rekordbox"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<NML VERSION='19'/>", None, "nml"),
        (b"# comment, with comma\na.mp3\n", None, "m3u"),
    ],
)
def test_detect_format(data: bytes, filename: str | None, fmt: str) -> None:
    assert detect_format(data, filename) == fmt


def test_other_xml_is_unusable() -> None:
    with pytest.raises(PoolError, match="neither a Rekordbox"):
        parse_playlist(b"<?xml version='1.0'?><plist><dict/></plist>")


# --- Rekordbox XML ---------------------------------------------------------------------------------


def test_rekordbox_collection() -> None:
    result = read_playlist(FIXTURES / "rekordbox.xml")
    assert result.format == "rekordbox"
    assert result.encoding == "utf-8"
    strobe, cafe, new, odd, stream = result.entries
    assert (strobe.line, strobe.source_id, strobe.title, strobe.artist) == (
        6,
        "101",
        "Strobe",
        "deadmau5",
    )
    assert strobe.path == "/Users/dj/Music/deadmau5 - Strobe.mp3"
    assert strobe.raw == "file://localhost/Users/dj/Music/deadmau5%20-%20Strobe.mp3"
    assert (strobe.bpm, strobe.duration_s, strobe.year, strobe.genre, strobe.label) == (
        128.0,
        637.0,
        2009,
        "Progressive House",
        "mau5trap",
    )
    assert strobe.key is not None and strobe.key.camelot == "8A"
    assert strobe.energy == 6  # from the Mixed In Key comment
    assert cafe.path == "C:/Users/DJ/Music/Café del Mar.flac"
    assert (cafe.bpm, cafe.key.camelot if cafe.key else None) == (132.5, "9A")
    assert (new.bpm, new.key, new.duration_s) == (None, None, None)  # not analysed: no problems
    assert odd.key is None
    assert stream.url == "https://stream.example.com/track/105" and stream.path is None
    assert result.problems == [Problem(14, "Tonality: unknown key notation: 'Xm'; ignored")]
    assert result.playlists == [
        {"name": "Friday", "path": "Gigs/Friday", "entries": 3},
        {"name": "By location", "path": "By location", "entries": 1},
    ]


def test_rekordbox_one_playlist_by_name() -> None:
    result = read_playlist(FIXTURES / "rekordbox.xml", playlist="Friday")
    assert result.name == "Friday"
    assert [(e.line, e.title) for e in result.entries] == [(21, "Café del Mar"), (22, "Strobe")]
    assert (
        Problem(23, "playlist names track '999', which is not in the collection; skipped")
        in result.problems
    )


def test_a_track_twice_in_a_collection_playlist_is_flagged() -> None:
    data = (
        (FIXTURES / "rekordbox.xml")
        .read_bytes()
        .replace(b'<TRACK Key="999"/>', b'<TRACK Key="102"/>')
    )
    result = parse_playlist(data, playlist="Friday")
    assert [(e.line, e.duplicate_of) for e in result.entries] == [(21, None), (22, None), (23, 21)]


def test_rekordbox_playlist_keyed_by_location() -> None:
    result = read_playlist(FIXTURES / "rekordbox.xml", playlist="By location")
    assert [e.title for e in result.entries] == ["Strobe"]


def test_rekordbox_unknown_playlist() -> None:
    with pytest.raises(PoolError, match=r"no playlist named 'Saturday'.*Gigs/Friday"):
        read_playlist(FIXTURES / "rekordbox.xml", playlist="Saturday")


def test_xml_entities_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<DJ_PLAYLISTS><COLLECTION><TRACK Name="&b;"/></COLLECTION></DJ_PLAYLISTS>'
    )
    with pytest.raises(PoolError, match="DOCTYPE"):
        parse_playlist(bomb)


def test_broken_xml_keeps_what_came_before() -> None:
    data = (FIXTURES / "rekordbox.xml").read_bytes().replace(b'<TRACK TrackID="104"', b"<TRACK <<")
    result = parse_playlist(data)
    assert [e.source_id for e in result.entries] == ["101", "102", "103"]
    assert result.problems[-1].line == 14
    assert "the rest is skipped" in result.problems[-1].reason


def test_broken_xml_from_the_start_is_unusable() -> None:
    with pytest.raises(PoolError, match="not a readable Rekordbox XML"):
        parse_playlist(b"<?xml version='1.0'?><DJ_PLAYLISTS><COLLECTION><TRACK <</DJ_PLAYLISTS>")


# --- Traktor NML -----------------------------------------------------------------------------------


def test_traktor_collection() -> None:
    result = read_playlist(FIXTURES / "traktor.nml")
    assert result.format == "nml"
    strobe, cafe, display = result.entries
    assert strobe.line == 5
    assert (strobe.title, strobe.artist, strobe.album) == (
        "Strobe",
        "deadmau5",
        "For Lack of a Better Name",
    )
    assert strobe.path == "/Users/dj/Music/deadmau5 - Strobe.mp3"
    assert strobe.raw == strobe.source_id == "Macintosh HD/:Users/:dj/:Music/:deadmau5 - Strobe.mp3"
    assert (strobe.bpm, strobe.duration_s, strobe.year, strobe.label) == (
        128.0,
        636.842,
        2009,
        "mau5trap",
    )
    assert strobe.key is not None and strobe.key.camelot == "8A"
    assert strobe.energy == 6
    assert cafe.path == "C:/Users/DJ/Music/Café del Mar.flac"
    assert cafe.key is not None and cafe.key.camelot == "9A"  # MUSICAL_KEY 16 = Em
    assert display.key is not None and display.key.camelot == "5B"  # INFO KEY "10d" alone
    assert display.bpm is None
    assert result.problems == []
    assert result.playlists == [{"name": "Friday", "path": "Friday", "entries": 3}]


def test_traktor_playlist() -> None:
    result = read_playlist(FIXTURES / "traktor.nml", playlist="Friday")
    assert [e.title for e in result.entries] == ["Café del Mar", "Strobe"]
    assert len(result.problems) == 1 and "gone.mp3" in result.problems[0].reason


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_pool() -> None:
    result = read_playlist(FIXTURES / "library.csv")
    assert result.format == "csv"
    lines = by_line(result)
    assert sorted(lines) == [2, 3, 5, 6, 9]
    strobe = lines[2]
    assert (strobe.artist, strobe.title, strobe.bpm, strobe.energy, strobe.duration_s) == (
        "deadmau5",
        "Strobe",
        128.0,
        6,
        637.0,
    )
    assert strobe.key is not None and strobe.key.camelot == "8A"
    assert strobe.path == "/Users/dj/Music/deadmau5 - Strobe.mp3"
    assert lines[3].path == "C:/Users/DJ/Music/Café del Mar.flac"
    assert lines[3].key is not None and lines[3].key.camelot == "9A"
    assert (lines[5].title, lines[5].bpm, lines[5].key, lines[5].energy) == (
        "Row",
        None,
        None,
        None,
    )
    assert (lines[6].artist, lines[6].path) == ("Multi\nline", "relative/quoted.mp3")
    assert (lines[9].path, lines[9].title) == (None, "Location")
    assert result.problems == [
        Problem(5, "BPM: BPM 'abc' is not a number; ignored"),
        Problem(5, "Key: unknown key notation: 'Xm'; ignored"),
        Problem(5, "Energy: energy 42 is outside 1–10; ignored"),
    ]


def test_rekordbox_text_export_tab_separated_utf16() -> None:
    text = (
        "#\tTrack Title\tArtist\tBPM\tKey\tTime\n"
        "1\tStrobe\tdeadmau5\t128.00\tAm\t10:37\n"
        "2\tCafé del Mar\tEnergy 52\t132.00\tEm\t07:00\n"
    )
    result = parse_playlist(text.encode("utf-16"), filename="export.txt")
    assert result.format == "rekordbox-txt" and result.encoding == "utf-16"
    assert [
        (e.title, e.bpm, e.key.camelot if e.key else None, e.duration_s) for e in result.entries
    ] == [("Strobe", 128.0, "8A", 637.0), ("Café del Mar", 132.0, "9A", 420.0)]


def test_semicolon_csv_with_decimal_commas() -> None:
    result = parse_playlist(b"Title;Artist;BPM;File\nA;B;128,5;a.mp3\n", filename="x.csv")
    assert result.entries[0].bpm == 128.5
    assert result.entries[0].path == "a.mp3"


def test_csv_without_usable_columns_is_unusable() -> None:
    with pytest.raises(PoolError, match="none of the columns we read"):
        parse_playlist(b"foo,bar\n1,2\n", filename="x.csv")


def test_csv_rows_with_bad_locations_are_skipped() -> None:
    result = parse_playlist(b"path,title\n/../x.mp3,X\nok.mp3,Y\n", filename="x.csv")
    assert [e.title for e in result.entries] == ["Y"]
    assert result.problems == [
        Problem(2, "path: path climbs out of the library root with '..'; skipped")
    ]


def test_read_playlist_root(tmp_path: Path) -> None:
    (tmp_path / "Playlists").mkdir()
    playlist = tmp_path / "Playlists" / "set.m3u8"
    playlist.write_text("../Tracks/a.mp3\n../../outside.mp3\n", encoding="utf-8")
    result = read_playlist(playlist, root=tmp_path)
    assert [e.path for e in result.entries] == ["Tracks/a.mp3"]
    assert [p.line for p in result.problems] == [2]
    alone = read_playlist(playlist)  # no root: entries stay relative to the playlist's folder
    assert [e.path for e in alone.entries] == ["../Tracks/a.mp3", "../../outside.mp3"]
    assert alone.problems == []


def test_read_playlist_outside_root_and_missing(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    playlist = tmp_path / "set.m3u"
    playlist.write_text("a.mp3\n")
    with pytest.raises(PoolError, match="outside the library root"):
        read_playlist(playlist, root=tmp_path / "lib")
    with pytest.raises(PoolError, match="cannot read"):
        read_playlist(tmp_path / "missing.m3u")


def test_choosing_a_playlist_needs_a_collection() -> None:
    with pytest.raises(PoolError, match="Rekordbox and Traktor"):
        m3u("a.mp3\n", playlist="x")


def test_json_shape() -> None:
    data = m3u("#EXTINF:10,A - B\na.mp3\n/../x\n").to_json()
    assert set(data) >= {"format", "encoding", "entries", "problems"}
    entry = data["entries"][0]
    for name in (
        "line",
        "raw",
        "path",
        "duration_s",
        "artist",
        "title",
        "bpm",
        "key",
        "energy",
        "genre",
        "label",
        "duplicate_of",
    ):
        assert name in entry
    assert data["problems"] == [
        {"line": 3, "reason": "path climbs out of the library root with '..'; skipped"}
    ]
