"""Output shapes other tools read: the contract of ``aidj inspect --json``."""

#: Every object ``aidj inspect --json`` prints carries at least these fields.
INSPECT_FIELDS = {
    "path",
    "format",
    "title",
    "artist",
    "album",
    "genre",
    "label",
    "isrc",
    "bpm",
    "key",
    "energy",
    "duration_s",
    "sources",
    "error",
}
