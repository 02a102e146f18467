"""Which format a playlist is in, from its content first and its file name second.

Content decides when it can: XML (Rekordbox or Traktor), a ``[playlist]`` section (PLS), a ``#`` tab
header (Rekordbox's text export), ``#EXTM3U``, a CSV header naming our columns. A ``.m3u``/``.m3u8``
or ``.csv``/``.tsv`` name decides the rest. Text that none of these fit is read as a plain M3U only
when its lines look like locations (a path, a URL or a file name with an extension); anything else
is refused with what it starts with, never guessed.
"""

from __future__ import annotations

import os
import re

from service.dj.playlists.csv import csv_header_fields
from service.dj.playlists.model import PoolError
from service.dj.playlists.pls import looks_like_pls
from service.dj.playlists.rekordbox_txt import FORMAT as REKORDBOX_TXT
from service.dj.playlists.rekordbox_txt import looks_like_rekordbox_txt
from service.dj.playlists.text import LINE_SPLIT, decode, looks_binary

__all__ = ["FORMATS", "detect_format"]

#: Every format :func:`detect_format` names.
FORMATS = ("m3u", "pls", "rekordbox", REKORDBOX_TXT, "nml", "csv")
READ_TEXT = "M3U/M3U8, PLS, Rekordbox XML or text export, Traktor NML or CSV"

# A path (any slash), a URL or drive ("scheme:"), or a file name with an extension.
_LOCATION_RE = re.compile(r"[/\\]|^[A-Za-z][A-Za-z0-9+.-]*:|\.[A-Za-z0-9]{1,5}$")
_SAMPLE_LINES = 20


def _looks_like_locations(lines: list[str]) -> bool:
    entries = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    sample = entries[:_SAMPLE_LINES]
    return bool(sample) and all(_LOCATION_RE.search(ln) for ln in sample)


def detect_format(data: bytes, filename: str | None = None) -> str:
    """One of :data:`FORMATS`, from the content first and the file name second.

    Raises :class:`PoolError` when the content is none of them.
    """
    head, _ = decode(data[:8192], errors="replace")  # the cut may split a character
    start = head.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        if "<DJ_PLAYLISTS" in head:
            return "rekordbox"
        if "<NML" in head:
            return "nml"
        raise PoolError("an XML file, but neither a Rekordbox collection nor a Traktor NML")
    if looks_binary(head):
        raise PoolError("binary data, not a playlist")
    if looks_like_pls(head):
        return "pls"
    if looks_like_rekordbox_txt(head):
        return REKORDBOX_TXT
    ext = os.path.splitext(filename or "")[1].lower()
    if ext == ".pls":
        raise PoolError("a .pls file, but it does not start with the [playlist] section")
    if ext in (".m3u", ".m3u8"):
        return "m3u"
    if ext in (".csv", ".tsv"):
        return "csv"
    lines = LINE_SPLIT.split(start)
    first = next((ln for ln in lines if ln.strip()), "")
    if first.upper().startswith("#EXTM3U"):
        return "m3u"
    if csv_header_fields(first) & {"location", "title", "artist"}:
        return "csv"
    if _looks_like_locations(lines[:-1] if len(data) > 8192 else lines):
        return "m3u"
    raise PoolError(
        f"not a playlist we read: it starts with {first[:60]!r}, which is no location; "
        f"use {READ_TEXT}"
    )
