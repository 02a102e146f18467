"""Reading playlist bytes as text: BOMs, UTF-8, the legacy Windows encodings, binary input."""

from __future__ import annotations

import codecs
import re

from service.dj.playlists.model import PoolError, Problem

__all__ = ["LINE_SPLIT", "decode", "legacy_problem", "looks_binary"]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
LINE_SPLIT = re.compile(r"\r\n|\r|\n")


def decode(data: bytes, errors: str = "strict") -> tuple[str, str]:
    """Text and the encoding it was read in: a BOM, else UTF-8, else Windows-1252, else Latin-1."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding, errors), encoding
            except UnicodeDecodeError as exc:
                raise PoolError(f"the file starts like {encoding} but is not: {exc}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def legacy_problem(encoding: str) -> list[Problem]:
    """The note a playlist read in a legacy encoding gets (none for UTF-8 and UTF-16)."""
    if encoding in ("cp1252", "latin-1"):
        return [Problem(None, f"the file is not UTF-8; read it as {encoding} (a legacy .m3u)")]
    return []


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def looks_binary(text: str) -> bool:
    """Audio, images and archives are full of control characters; playlists have next to none."""
    head = text[:65536]
    return len(_CONTROL.findall(head)) > 0.05 * len(head)
