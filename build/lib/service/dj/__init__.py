"""Pure DJ domain code: keys, playlists, tags, sequencing, exports.

Nothing here imports Flask, RQ, Redis, requests or ``service.integrations``: plain functions and
dataclasses, usable from the command line, a job or a test alike.
"""
