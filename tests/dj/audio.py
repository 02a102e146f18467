"""Tiny real audio files of every format we read, and taggers that write tags the way real tools do.

soundfile writes WAV, AIFF, FLAC, Ogg Vorbis, Opus and MP3; the two M4A templates (AAC, ALAC) are
committed in ``fixtures/`` (made by ``fixtures/make_m4a.sh``), since nothing on PyPI writes MP4 audio.
The taggers deliberately spell tag names themselves rather than reading ``service.dj.tracks``, so
the tests check the table against the real world, not against itself.
"""

from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

import mutagen
import numpy as np
import soundfile as sf
from mutagen import id3
from mutagen.mp4 import MP4Cover, MP4FreeForm

FIXTURES = Path(__file__).parent / "fixtures"

#: kind → (file suffix, soundfile format, subtype, sample rate); None format = committed template
KINDS: dict[str, tuple[str, str | None, str | None, int]] = {
    "mp3": (".mp3", "MP3", "MPEG_LAYER_III", 44100),
    "flac": (".flac", "FLAC", "PCM_16", 44100),
    "ogg": (".ogg", "OGG", "VORBIS", 44100),
    "opus": (".opus", "OGG", "OPUS", 48000),
    "m4a-aac": (".m4a", None, None, 22050),
    "m4a-alac": (".m4a", None, None, 22050),
    "aiff": (".aiff", "AIFF", "PCM_16", 44100),
    "wav": (".wav", "WAV", "PCM_16", 44100),
}
#: the ``format`` the reader reports for each kind
FORMAT_OF = {
    "mp3": "mp3",
    "flac": "flac",
    "ogg": "ogg",
    "opus": "opus",
    "m4a-aac": "m4a",
    "m4a-alac": "m4a",
    "aiff": "aiff",
    "wav": "wav",
}
#: tag family each kind is tagged with
FAMILY = {
    "mp3": "id3",
    "aiff": "id3",
    "wav": "id3",
    "flac": "vorbis",
    "ogg": "vorbis",
    "opus": "vorbis",
    "m4a-aac": "mp4",
    "m4a-alac": "mp4",
}


def write_audio(path: Path, kind: str, seconds: float = 0.3) -> Path:
    """Write an untagged file of ``kind`` (a short sine) at ``path``."""
    _suffix, fmt, subtype, rate = KINDS[kind]
    if fmt is None:
        shutil.copyfile(FIXTURES / f"template-{kind.split('-')[1]}.m4a", path)
        return path
    t = np.arange(int(rate * seconds)) / rate
    signal = (0.2 * np.sin(2 * np.pi * 440 * t)).astype("float32")
    sf.write(str(path), signal, rate, format=fmt, subtype=subtype)
    return path


# --- taggers: values keyed by our field names, written under each family's usual tag ---------------

ID3_FRAMES = {
    "title": "TIT2",
    "artist": "TPE1",
    "album": "TALB",
    "genre": "TCON",
    "label": "TPUB",
    "isrc": "TSRC",
    "year": "TDRC",
    "bpm": "TBPM",
    "key": "TKEY",
}
VORBIS_KEYS = {
    "title": "TITLE",
    "artist": "ARTIST",
    "album": "ALBUM",
    "genre": "GENRE",
    "label": "LABEL",
    "isrc": "ISRC",
    "year": "DATE",
    "bpm": "BPM",
    "key": "INITIALKEY",
    "energy": "ENERGYLEVEL",
    "comment": "COMMENT",
}
MP4_ATOMS = {
    "title": "©nam",
    "artist": "©ART",
    "album": "©alb",
    "genre": "©gen",
    "year": "©day",
    "comment": "©cmt",
    "label": "----:com.apple.iTunes:LABEL",
    "isrc": "----:com.apple.iTunes:ISRC",
    "key": "----:com.apple.iTunes:initialkey",
    "energy": "----:com.apple.iTunes:EnergyLevel",
    "bpm": "----:com.apple.iTunes:BPM",
}


def id3_frames(values: dict[str, str]) -> list[id3.Frame]:
    """ID3 frames as Mixed In Key / rekordbox / iTunes write them."""
    frames: list[id3.Frame] = []
    for name, value in values.items():
        if name == "energy":
            frames.append(id3.TXXX(encoding=3, desc="EnergyLevel", text=[value]))
        elif name == "comment":
            frames.append(id3.COMM(encoding=3, lang="eng", desc="", text=[value]))
        else:
            frames.append(getattr(id3, ID3_FRAMES[name])(encoding=3, text=[value]))
    return frames


def tag_id3(path: Path, values: dict[str, str], version: int = 4) -> None:
    """Write an ID3v2.3/2.4 tag (MP3: at the front; AIFF/WAV: as an ID3 chunk)."""
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    for frame in id3_frames(values):
        audio.tags.add(frame)
    audio.save(v2_version=version)


def tag_vorbis(path: Path, values: dict[str, str]) -> None:
    """Write Vorbis comments (FLAC, Ogg Vorbis, Opus)."""
    audio = mutagen.File(path)
    for name, value in values.items():
        audio[VORBIS_KEYS[name]] = value
    audio.save()


def tag_mp4(path: Path, values: dict[str, str]) -> None:
    """Write MP4 atoms, free-form ones as iTunes does."""
    audio = mutagen.File(path)
    for name, value in values.items():
        atom = MP4_ATOMS[name]
        if atom.startswith("----:"):
            audio[atom] = [MP4FreeForm(value.encode("utf-8"))]
        else:
            audio[atom] = [value]
    audio.save()


def add_itunes_atoms(path: Path) -> None:
    """The atoms iTunes and Apple Music write besides the text ones: flags, numbers, cover art.

    ``cpil`` (compilation), ``pgap`` (gapless), ``pcst`` (podcast) are single bools in
    mutagen, not lists; ``rtng``/``stik``/``tmpo`` lists of ints; ``trkn``/``disk`` lists of tuples.
    """
    audio = mutagen.File(path)
    audio["cpil"] = True
    audio["pgap"] = True
    audio["pcst"] = False
    audio["rtng"] = [0]
    audio["stik"] = [1]
    audio["tmpo"] = [128]
    audio["trkn"] = [(3, 12)]
    audio["disk"] = [(1, 2)]
    audio["covr"] = [MP4Cover(b"\x89PNG\r\n\x1a\n" + bytes(32), MP4Cover.FORMAT_PNG)]
    audio.save()


def tag(path: Path, kind: str, values: dict[str, str]) -> None:
    """Tag ``path`` with ``values`` in the family its kind uses."""
    {"id3": tag_id3, "vorbis": tag_vorbis, "mp4": tag_mp4}[FAMILY[kind]](path, values)


def make(tmp: Path, kind: str, values: dict[str, str] | None = None, name: str = "track") -> Path:
    """A real file of ``kind`` in ``tmp``, tagged with ``values``."""
    path = write_audio(tmp / f"{name}{KINDS[kind][0]}", kind)
    if values:
        tag(path, kind, values)
    return path


# --- hand-built tags mutagen cannot write ----------------------------------------------------------


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3v22_tag(frames: dict[str, str]) -> bytes:
    """An ID3v2.2 tag (3-letter frame ids, as iTunes wrote until 2007); COM/TXX need ``desc:text``."""
    body = b""
    for fid, value in frames.items():
        if fid == "COM":
            data = b"\x00eng\x00" + value.encode("latin-1")
        elif fid.startswith("TXX:"):
            data = b"\x00" + fid[4:].encode("latin-1") + b"\x00" + value.encode("latin-1")
            fid = "TXX"
        else:
            data = b"\x00" + value.encode("latin-1")
        body += fid.encode("ascii") + len(data).to_bytes(3, "big") + data
    return b"ID3\x02\x00\x00" + _syncsafe(len(body)) + body


def prepend_id3v22(path: Path, frames: dict[str, str]) -> None:
    """Put an ID3v2.2 tag in front of an (untagged) MP3."""
    path.write_bytes(id3v22_tag(frames) + path.read_bytes())


def only_id3v1(path: Path, values: dict[str, str]) -> None:
    """Give an MP3 an ID3v1 tag and no ID3v2 tag."""
    tags = id3.ID3()
    for frame in id3_frames(values):
        if isinstance(frame, id3.COMM):
            tags["COMM"] = frame  # mutagen's ID3v1 writer looks the comment up under this bare key
        else:
            tags.add(frame)
    tags.save(path, v1=2)
    id3.delete(path, delete_v1=False, delete_v2=True)


def add_riff_info(path: Path, items: dict[str, str], encoding: str = "utf-8") -> None:
    """Append a ``LIST/INFO`` chunk (as Windows Explorer and Sound Forge write) to a WAV file."""
    body = b"INFO"
    for cid, value in items.items():
        raw = value.encode(encoding) + b"\x00"
        body += cid.encode("ascii") + struct.pack("<I", len(raw)) + raw + b"\x00" * (len(raw) & 1)
    data = bytearray(path.read_bytes())
    data += b"LIST" + struct.pack("<I", len(body)) + body
    data[4:8] = struct.pack("<I", len(data) - 8)
    path.write_bytes(bytes(data))


def write_rf64(
    path: Path, seconds: float = 0.5, info: dict[str, str] | None = None, id3_values=None
) -> Path:
    """An RF64 WAV as libsndfile writes it, plus ``LIST/INFO`` and ``id3 `` chunks.

    libsndfile writes ``RF64``, ``ds64``, ``fmt `` and ``data`` (its 32-bit size 0xFFFFFFFF); the
    chunks are appended and the 64-bit RIFF size in ``ds64`` kept right, as a tagger would.
    """
    rate = 44100
    t = np.arange(int(rate * seconds)) / rate
    sf.write(str(path), (0.2 * np.sin(2 * np.pi * 440 * t)).astype("float32"), rate,
             format="RF64", subtype="PCM_24")  # fmt: skip
    data = bytearray(path.read_bytes())
    assert data[:4] == b"RF64" and data[12:16] == b"ds64"
    if len(data) & 1:
        data += b"\x00"
    if info:
        body = b"INFO"
        for cid, value in info.items():
            raw = value.encode("utf-8") + b"\x00"
            body += (
                cid.encode("ascii") + struct.pack("<I", len(raw)) + raw + b"\x00" * (len(raw) & 1)
            )
        data += b"LIST" + struct.pack("<I", len(body)) + body
    if id3_values:
        tags = id3.ID3()
        for frame in id3_frames(id3_values):
            tags.add(frame)
        buffer = io.BytesIO()
        tags.save(buffer)
        raw = buffer.getvalue()
        data += b"id3 " + struct.pack("<I", len(raw)) + raw + b"\x00" * (len(raw) & 1)
    data[20:28] = struct.pack("<Q", len(data) - 8)  # ds64 RIFF size
    path.write_bytes(bytes(data))
    return path
