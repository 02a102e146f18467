"""Locations, normalised one way for every format, and what makes two entries the same file.

Forward slashes, ``file://`` URIs decoded, Windows drives upper-cased (``C:/Music/a.mp3``), UNC shares
kept as ``//server/share/…``, ``.`` and ``..`` resolved, and a ``..`` that would climb above ``/`` or
a drive rejected. A relative entry may climb above the playlist's folder (DJ software writes
``../Music/x.mp3``): without a library root the leading ``..`` are kept, so the entry still names its
file relative to the playlist; with a root (``base``), climbing above it is rejected. Remote
``http(s)://`` entries are kept with ``url`` set and no path.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from service.dj.playlists.model import Location, PoolEntry

__all__ = ["flag_duplicates", "location_key", "normalise_location"]

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_DRIVE_RE = re.compile(r"^([A-Za-z]):(?:/|$)")
_URI_DRIVE_RE = re.compile(r"^/([A-Za-z])[:|](?=/|$)")


def _unquote(text: str) -> str:
    try:
        return unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return unquote(text, encoding="latin-1")  # old Windows tools percent-encode ANSI bytes


def _file_uri_path(uri: str) -> str:
    rest = uri[5:]  # after "file:"
    if rest.startswith("//"):
        host, _, path = rest[2:].partition("/")
        path = "/" + path
        host = _unquote(host)
        if host and host.lower() != "localhost":
            path = "//" + host + path  # file://server/share/x → UNC
    else:
        path = rest
    path = _unquote(path)
    if m := _URI_DRIVE_RE.match(path):  # /C:/Music → C:/Music (and the old /C|/ form)
        path = f"{m[1]}:{path[3:]}"
    return path


def normalise_location(raw: str, base: str | None = "") -> Location:
    """Normalise a playlist location; raise ValueError (with the reason) if it is unusable.

    ``base`` is the playlist's folder relative to the library root: relative entries are resolved
    against it, and may not climb above the root. ``None``: no root is known, and a relative entry
    keeps the ``..`` that climb above the playlist's folder.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty location")
    if (m := _SCHEME_RE.match(text)) and len(m[1]) > 1:  # one letter is a Windows drive
        if m[1].lower() != "file":
            return Location(url=text)
        text = _file_uri_path(text)
    if "\x00" in text:
        raise ValueError("location contains a NUL byte")
    unc = text.startswith("\\\\")
    text = text.replace("\\", "/")
    share = text[2:].split("/", 2) if text.startswith("//") else []
    if m := _DRIVE_RE.match(text):
        prefix, rest = f"{m[1].upper()}:/", text[3:]
    elif len(share) == 3 and share[0] and share[1]:  # //server/share/… (UNC)
        prefix, rest = f"//{share[0]}/{share[1]}/", share[2]
    elif unc:
        raise ValueError("network path without a server and share")
    elif text.startswith("/"):  # POSIX absolute; a stray leading "//" is just "/"
        prefix, rest = "/", text
    else:
        prefix, rest = "", f"{base}/{text}" if base else text
    may_climb = base is None and prefix == ""
    climbs = 0  # leading ".." kept for a relative entry without a root
    stack: list[str] = []
    for part in rest.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if stack:
                stack.pop()
            elif may_climb:
                climbs += 1
            else:
                raise ValueError("path climbs out of the library root with '..'")
        else:
            stack.append(part)
    if not stack:
        raise ValueError("location names a folder, not a file")
    return Location(path=prefix + "../" * climbs + "/".join(stack))


def location_key(entry: PoolEntry) -> str | None:
    """What makes two entries the same file (URL or path; Windows paths ignore case), or None."""
    if entry.url is not None:
        return "url:" + entry.url
    if entry.path is None:
        return None
    if _DRIVE_RE.match(entry.path) or entry.path.startswith("//"):
        return entry.path.casefold()
    return entry.path


def flag_duplicates(entries: list[PoolEntry]) -> None:
    """Point every entry naming an earlier entry's location at that entry's line."""
    first: dict[str, int | None] = {}
    for entry in entries:
        key = location_key(entry)
        if key is None:
            continue
        if key in first:
            entry.duplicate_of = first[key]
        else:
            first[key] = entry.line
