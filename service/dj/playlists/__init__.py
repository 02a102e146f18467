"""Playlists and DJ collections as pools of tracks: M3U/M3U8, PLS, Rekordbox XML and text, NML, CSV.

``parse_playlist(data)`` (or ``read_playlist(path)``) returns a :class:`Playlist`: the entries in order,
each with its line number, raw text, normalised path (or URL), and whatever the format gave (duration,
artist, title, BPM, key, energy, genre, label…), plus a list of :class:`Problem` ``{line, reason}``.
A bad line is reported and skipped; the rest is kept. Input that cannot be used at all (too large,
too many entries, not a playlist, broken XML with nothing in it) raises :class:`PoolError`.

One module per format (:mod:`.m3u`, :mod:`.pls`, :mod:`.csv`, :mod:`.rekordbox`,
:mod:`.rekordbox_txt`, :mod:`.traktor`, with :mod:`.collection` for what the two XML collections
share), behind :mod:`.detection` (which format a file is in; unknown text is refused, never guessed)
and :mod:`.reader` (the entry points). Locations are normalised one way for every format in
:mod:`.paths`; text decoding lives in :mod:`.text`; :mod:`.samplers` leaves out the sampler sounds
DJ software lists in its collection.
"""

from service.dj.playlists.detection import detect_format
from service.dj.playlists.model import Limits, Location, Playlist, PoolEntry, PoolError, Problem
from service.dj.playlists.paths import location_key, normalise_location
from service.dj.playlists.reader import parse_playlist, read_playlist

__all__ = [
    "Limits",
    "Location",
    "Playlist",
    "PoolEntry",
    "PoolError",
    "Problem",
    "detect_format",
    "location_key",
    "normalise_location",
    "parse_playlist",
    "read_playlist",
]
