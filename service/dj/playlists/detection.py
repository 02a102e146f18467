"""Which format a playlist is in, from its content first and its file name second."""

from __future__ import annotations

import os

from service.dj.playlists.csv import csv_header_fields
from service.dj.playlists.model import PoolError
from service.dj.playlists.text import LINE_SPLIT, decode

__all__ = ["detect_format"]


def detect_format(data: bytes, filename: str | None = None) -> str:
    """``m3u``, ``rekordbox``, ``nml`` or ``csv``, from the content first and the file name second."""
    head, _ = decode(data[:8192], errors="replace")  # the cut may split a character
    start = head.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        if "<DJ_PLAYLISTS" in head:
            return "rekordbox"
        if "<NML" in head:
            return "nml"
        raise PoolError("an XML file, but neither a Rekordbox collection nor a Traktor NML")
    ext = os.path.splitext(filename or "")[1].lower()
    if ext in (".m3u", ".m3u8"):
        return "m3u"
    if ext in (".csv", ".tsv"):
        return "csv"
    first = next((ln for ln in LINE_SPLIT.split(start) if ln.strip()), "")
    if first.upper().startswith("#EXTM3U"):
        return "m3u"
    if csv_header_fields(first) & {"location", "title", "artist"}:
        return "csv"
    return "m3u"
