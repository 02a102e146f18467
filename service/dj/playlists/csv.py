"""CSV and other delimited tables (``,`` ``;`` tab ``|``), columns found by their header names.

Header names are compared through :func:`service.dj.tracks.csv_header_key` against each field's CSV
aliases in the field table; the first column for a field wins.
"""

from __future__ import annotations

import csv
import io

from service.dj.exports import spreadsheet_text
from service.dj.playlists.fields import check_count, fill_from_comment, set_field, unusable_line
from service.dj.playlists.model import Limits, Playlist, PoolEntry, PoolError, Problem
from service.dj.playlists.paths import normalise_location
from service.dj.playlists.text import LINE_SPLIT, legacy_problem
from service.dj.tracks import FIELDS, TrackField, csv_header_key

__all__ = ["CSV_DELIMITERS", "CSV_KEYS", "csv_header_fields", "parse_csv"]

CSV_KEYS = {csv_header_key(alias): f for f in FIELDS for alias in f.csv}
CSV_DELIMITERS = (",", ";", "\t", "|")


def csv_header_fields(line: str) -> set[str]:
    """The track fields a header line names (empty when it is not delimited at all)."""
    delimiter = max(CSV_DELIMITERS, key=line.count)
    if delimiter not in line:
        return set()
    cells = next(csv.reader([line], delimiter=delimiter))
    return {CSV_KEYS[k].name for k in map(csv_header_key, cells) if k in CSV_KEYS}


def parse_csv(
    text: str,
    encoding: str,
    base: str | None,
    limits: Limits,
    *,
    fmt: str = "csv",
    what: str = "the CSV header",
    delimiter: str | None = None,
) -> Playlist:
    """Rows of a delimited table with a header naming at least a location, a title or an artist.

    ``fmt``, ``what`` and ``delimiter`` let a known table export (Rekordbox's text export) use the
    same reader under its own name; without ``delimiter`` the header's commonest one is used.
    """
    result = Playlist(fmt, encoding, problems=legacy_problem(encoding))
    problems = result.problems
    lines = LINE_SPLIT.split(text)
    header_no = next((i for i, ln in enumerate(lines, 1) if ln.strip()), None)
    if header_no is None:
        raise PoolError("the CSV file is empty")
    header_line = lines[header_no - 1].lstrip("\ufeff")
    delimiter = delimiter or max(CSV_DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    for _ in range(header_no):
        header = next(reader)
    columns: list[tuple[int, TrackField, str]] = []
    taken: set[str] = set()
    for index, cell in enumerate(header):
        f = CSV_KEYS.get(csv_header_key(cell))
        if f is not None and f.name not in taken:
            columns.append((index, f, cell.strip()))
            taken.add(f.name)
    if not taken & {"location", "title", "artist"}:
        raise PoolError(
            f"{what} names none of the columns we read (path or location, title, artist); "
            f"it has: {', '.join(c.strip() for c in header) or 'nothing'}"
        )
    previous = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(reader.line_num, f"unreadable CSV row ({exc}); skipped"))
            previous = reader.line_num
            continue
        no, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        row = [spreadsheet_text(cell) for cell in row]  # our own export guards formulas
        raw = delimiter.join(row)
        if (problem := unusable_line(no, raw, limits, "row")) is not None:
            problems.append(problem)
            continue
        entry = PoolEntry(line=no, raw=raw)
        skip = False
        for index, f, label in columns:
            cell = row[index] if index < len(row) else ""
            if f.name == "location":
                if not cell.strip():
                    continue
                try:
                    loc = normalise_location(cell, base)
                except ValueError as exc:
                    problems.append(Problem(no, f"{label}: {exc}; skipped"))
                    skip = True
                    break
                entry.path, entry.url = loc.path, loc.url
            else:
                set_field(entry, f, cell, label, problems)
        if skip:
            continue
        if entry.path is None and entry.url is None and entry.title is None:
            problems.append(Problem(no, "row has neither a location nor a title; skipped"))
            continue
        fill_from_comment(entry)
        check_count(result.entries, limits)
        result.entries.append(entry)
    return result
