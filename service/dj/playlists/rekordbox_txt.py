"""Rekordbox's text export ("Export a playlist to a file" → .txt): a tab-separated table.

Rekordbox writes it in UTF-16 with a BOM, one header row starting with a ``#`` column (the position),
then the columns shown in its browser in their order: ``Track Title``, ``Artist``, ``BPM``, ``Key``,
``Time`` (``m:ss``), ``Album``, ``Genre``, ``Label``, ``Comments``, ``Year``… The columns are found by
name through the field table's CSV aliases; the ``#``, ``Artwork``, ``Rating`` and ``Date Added``
columns are not track fields and are passed over. The export holds no file locations unless the
DJ showed one, so entries are usually matched by artist and title.
"""

from __future__ import annotations

from service.dj.playlists.csv import parse_csv
from service.dj.playlists.model import Limits, Playlist
from service.dj.playlists.text import LINE_SPLIT

__all__ = ["FORMAT", "looks_like_rekordbox_txt", "parse_rekordbox_txt"]

FORMAT = "rekordbox-txt"


def looks_like_rekordbox_txt(text: str) -> bool:
    """Whether the first line is a Rekordbox export header: ``#``, a tab, more columns."""
    first = next((ln for ln in LINE_SPLIT.split(text.lstrip("\ufeff")) if ln.strip()), "")
    return first.startswith("#\t")


def parse_rekordbox_txt(text: str, encoding: str, base: str | None, limits: Limits) -> Playlist:
    """The rows of a Rekordbox text export, in play order."""
    return parse_csv(
        text,
        encoding,
        base,
        limits,
        fmt=FORMAT,
        what="the Rekordbox text export",
        delimiter="\t",
    )
