"""The entry points: parse playlist bytes of any format, or read a playlist file."""

from __future__ import annotations

import os
from collections.abc import Callable

from service.dj.playlists.csv import parse_csv
from service.dj.playlists.detection import detect_format
from service.dj.playlists.m3u import parse_m3u
from service.dj.playlists.model import Limits, Playlist, PoolError
from service.dj.playlists.paths import flag_duplicates
from service.dj.playlists.pls import parse_pls
from service.dj.playlists.rekordbox import parse_rekordbox
from service.dj.playlists.rekordbox_txt import FORMAT as REKORDBOX_TXT
from service.dj.playlists.rekordbox_txt import parse_rekordbox_txt
from service.dj.playlists.samplers import leave_out_samplers
from service.dj.playlists.text import decode, looks_binary
from service.dj.playlists.traktor import parse_nml

__all__ = ["parse_playlist", "read_playlist"]

_TEXT_PARSERS: dict[str, Callable[[str, str, str | None, Limits], Playlist]] = {
    "m3u": parse_m3u,
    "pls": parse_pls,
    REKORDBOX_TXT: parse_rekordbox_txt,
    "csv": parse_csv,
}
_XML_PARSERS: dict[str, Callable[[bytes, str | None, str | None, Limits], Playlist]] = {
    "rekordbox": parse_rekordbox,
    "nml": parse_nml,
}


def parse_playlist(
    data: bytes,
    *,
    filename: str | None = None,
    base: str | None = None,
    playlist: str | None = None,
    limits: Limits | None = None,
) -> Playlist:
    """Parse playlist or collection bytes of any supported format into a :class:`Playlist`.

    ``base`` is the playlist's folder relative to the library root (see :func:`normalise_location`);
    without it no root is known: relative entries stay relative to the playlist and may climb out
    of its folder (for an upload, a location is only a name to match the uploaded files against).
    ``playlist`` picks one playlist inside a Rekordbox or Traktor collection (by name or path).
    Raises :class:`PoolError` when the input is unusable.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise PoolError(f"the file is {len(data):,} bytes; the limit is {limits.max_bytes:,}")
    if not data.strip():
        raise PoolError("the file is empty")
    fmt = detect_format(data, filename)
    if fmt in _XML_PARSERS:
        result = _XML_PARSERS[fmt](data, base, playlist, limits)
    elif playlist is not None:
        raise PoolError(
            "choosing a playlist by name works for Rekordbox and Traktor collections only"
        )
    else:
        text, encoding = decode(data)
        if looks_binary(text):
            raise PoolError("binary data, not a playlist")
        result = _TEXT_PARSERS[fmt](text, encoding, base, limits)
        flag_duplicates(result.entries)
    result.entries, left_out = leave_out_samplers(
        result.entries, lambda e: e.path, lambda e: e.line
    )
    result.problems += left_out
    return result


def read_playlist(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    playlist: str | None = None,
    limits: Limits | None = None,
) -> Playlist:
    """Read and parse a playlist file.

    Relative entries stay relative to the playlist's folder, ``../`` included. With ``root`` (the
    library root) they are made relative to it instead, and may not climb above it.
    """
    limits = limits or Limits()
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > limits.max_bytes:
            raise PoolError(f"the file is {size:,} bytes; the limit is {limits.max_bytes:,}")
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise PoolError(f"cannot read {path}: {exc.strerror or exc}") from None
    base: str | None = None
    if root is not None:
        rel = os.path.relpath(os.path.dirname(os.path.abspath(path)), os.path.abspath(root))
        if rel == ".." or rel.startswith(".." + os.sep):
            raise PoolError(f"{path} is outside the library root {os.fspath(root)}")
        base = "" if rel == "." else rel.replace(os.sep, "/")
    return parse_playlist(
        data, filename=os.path.basename(path), base=base, playlist=playlist, limits=limits
    )
