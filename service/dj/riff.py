"""RIFF WAV chunks mutagen leaves alone: ``LIST/INFO`` text, and RF64/BW64 files as a whole.

A WAV file is ``RIFF <size> WAVE`` followed by chunks (4-byte id, little-endian u32 size, payload
padded to an even length). RF64 (EBU Tech 3306) and BW64 (ITU-R BS.2088) lift the 4 GiB limit:
the header says ``RF64``/``BW64`` with size 0xFFFFFFFF, and a ``ds64`` chunk right after ``WAVE``
holds the real 64-bit sizes (RIFF size, ``data`` size, sample count, then a table for other big
chunks). Broadcast recorders and DAWs write RF64 for long recordings, and some for every file;
mutagen refuses them, so the stream info and tags are read here.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["WaveStream", "is_rf64", "read_info", "read_rf64"]

_RIFF_IDS = (b"RIFF", b"RF64", b"BW64")
_RF64_IDS = (b"RF64", b"BW64")
_UNKNOWN_SIZE = 0xFFFFFFFF
_MAX_CHUNKS = 256  # a WAV has a handful of chunks; bound the walk on garbage
_MAX_TEXT = 1 << 20  # INFO and ID3 chunks are small; never read a damaged size's worth
# WAVE format tags whose payload is PCM samples (integer, float, or extensible wrapping either)
_PCM_TAGS = {0x0001, 0x0003, 0xFFFE}


@dataclass(frozen=True, slots=True)
class WaveStream:
    """The ``fmt `` chunk and the size of the ``data`` chunk."""

    format_tag: int
    channels: int
    sample_rate: int
    byte_rate: int
    bits_per_sample: int
    data_bytes: int

    @property
    def duration_s(self) -> float | None:
        """Length in seconds, or None without a byte rate."""
        return self.data_bytes / self.byte_rate if self.byte_rate > 0 else None

    @property
    def codec(self) -> str | None:
        """``pcm`` for PCM and float samples, else None (a compressed WAVE codec)."""
        return "pcm" if self.format_tag in _PCM_TAGS else None


def is_rf64(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts like an RF64 or BW64 WAV file."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(12)
    except OSError:
        return False
    return header[:4] in _RF64_IDS and header[8:12] == b"WAVE"


def _chunks(fh: IO[bytes]) -> Iterator[tuple[bytes, int, int]]:
    """(id, payload size, payload offset) of each chunk; RF64 sizes taken from ``ds64``."""
    header = fh.read(12)
    if len(header) < 12 or header[:4] not in _RIFF_IDS or header[8:12] != b"WAVE":
        return
    data_size: int | None = None
    for _ in range(_MAX_CHUNKS):
        head = fh.read(8)
        if len(head) < 8:
            return
        cid, size = struct.unpack("<4sI", head)
        offset = fh.tell()
        if cid == b"ds64" and size >= 16:
            _riff_size, data_size = struct.unpack("<QQ", fh.read(16))
            fh.seek(offset)
        elif cid == b"data" and size == _UNKNOWN_SIZE and data_size is not None:
            size = data_size
        yield cid, size, offset
        fh.seek(offset + size + (size & 1))


def read_info(path: str | os.PathLike[str]) -> dict[str, tuple[str, Any]]:
    """``LIST/INFO`` text chunks as ``{ID UPPER-CASED: ("INFO:<id>", text)}``; {} when none."""
    out: dict[str, tuple[str, Any]] = {}
    with open(path, "rb") as fh:
        for cid, size, _ in _chunks(fh):
            if cid == b"LIST" and size >= 4 and fh.read(4) == b"INFO":
                _parse_info_list(fh.read(min(size - 4, _MAX_TEXT)), out)
                break
    return out


def _parse_info_list(data: bytes, out: dict[str, tuple[str, Any]]) -> None:
    pos = 0
    while pos + 8 <= len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        raw = data[pos + 8 : pos + 8 + size].split(b"\x00", 1)[0]
        pos += 8 + size + (size & 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # INFO predates Unicode; Windows tools write ANSI
            text = raw.decode("cp1252", "replace")
        name = cid.decode("latin-1")
        out.setdefault(name.upper(), ("INFO:" + name, text))


def read_rf64(path: str | os.PathLike[str]) -> tuple[WaveStream, bytes | None]:
    """The stream of an RF64/BW64 file and its ID3 chunk's bytes (None without one).

    Raises ValueError saying what is missing when the file has no usable ``fmt `` or ``data``.
    """
    fmt: tuple[int, ...] | None = None
    data_bytes: int | None = None
    id3: bytes | None = None
    with open(path, "rb") as fh:
        size_on_disk = os.fstat(fh.fileno()).st_size
        for cid, size, offset in _chunks(fh):
            if cid == b"fmt " and size >= 16:
                fmt = struct.unpack("<HHIIHH", fh.read(16))
            elif cid == b"data":
                data_bytes = min(size, max(0, size_on_disk - offset))  # a cut file plays this much
            elif cid in (b"id3 ", b"ID3 ") and id3 is None:
                id3 = fh.read(min(size, _MAX_TEXT))
    if fmt is None:
        raise ValueError("an RF64 WAV file without a format (fmt) chunk")
    if data_bytes is None:
        raise ValueError("an RF64 WAV file without audio (no data chunk)")
    format_tag, channels, sample_rate, byte_rate, _align, bits = fmt
    return WaveStream(format_tag, channels, sample_rate, byte_rate, bits, data_bytes), id3
