"""Match a DJ's track to catalog entries (Beatport): one documented score from 0 to 1.

A file's tags say ``Losing It (Original Mix)`` / ``FISHER``; the catalog says name ``Losing It``,
mix_name ``Original Mix``, artists ``[FISHER]``. Both sides are first split into a *base title*, a
*version* and a set of *artists*:

- Titles and names are folded by :func:`service.dj.matching.identity_text` (case, accents,
  punctuation ignored); text with no Latin letters or digits left (Japanese, Cyrillic…) keeps its own
  letters instead, so two different non-Latin titles never fold to the same empty string. A leading
  "The" is dropped from artist names ("The Chemical Brothers" = "Chemical Brothers"). A trailing ``(…)``/``[…]`` or `` - …`` naming a version (mix, remix, edit, dub,
  VIP…) is the version; ``feat./ft./featuring X`` in a title moves X to the artists.
- Versions fall in classes: *original* (no version, "Original Mix", "Extended Mix", "Club Mix",
  "Extended"), *radio* ("Radio Edit", "Radio Mix", "Edit", "Short Mix"), *remix by R* ("R Remix",
  "R Rework", "R Edit", "R Bootleg", "R Dub"; R from the catalog's ``remixers`` too) and *other*
  ("Dub", "VIP", "Instrumental"… kept as their folded text).
- Artists are split on ``,``, ``&``, `` and ``, `` x ``, ``vs``, ``feat.``/``ft.``; each name folded.

The score is a weighted sum, each part in 0..1:

=========  ======  =========================================================================
part       weight  value
=========  ======  =========================================================================
title      0.40    1 if the base titles fold equal, else their difflib ratio (0 below 0.6)
artists    0.30    share of our artists found on their side (main + feat. + remixers), with
                   a floor of 0.8 when our first artist is there
version    0.20    1 same class (same remixer for remixes); 0.75 when ours names no version and
                   theirs is an original or radio edit (then the duration decides); 0 for remix
                   vs original, another remixer, radio vs original, a different "other"
duration   0.10    1 within ``DURATION_EXACT_S`` (3 s), falling linearly to 0 at
                   ``DURATION_FAR_S`` (30 s); 0.5 when either side is unknown
=========  ======  =========================================================================

An equal ISRC adds ``ISRC_BONUS`` (0.3): it names the recording, but several releases (an original
and its radio edit on a compilation) may share one, so it does not decide alone. The score shown and
compared with the thresholds is capped at 1; ranking and the margin use the uncapped sum, so two
entries sharing the ISRC are still told apart by their other parts. A
version conflict caps the score at ``CONFLICT_CAP`` (0.5), and so does a title ratio below 0.6: a
remix is never accepted for an original, whatever else agrees.

A best candidate is *accepted* when its score reaches ``ACCEPT`` (0.85) and beats the runner-up by
``MARGIN`` (0.05); otherwise candidates scoring at least ``CANDIDATE`` (0.5) are kept for the DJ to
confirm. Measured on the tricky-case table in tests/dj/test_catalog_match.py (see its note).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.dj.matching import identity_text

__all__ = [
    "ACCEPT",
    "CANDIDATE",
    "CatalogEntry",
    "MatchDecision",
    "Scored",
    "Wanted",
    "decide",
    "score",
    "split_artists",
    "split_title",
]

WEIGHTS = {"title": 0.40, "artists": 0.30, "version": 0.20, "duration": 0.10}
ISRC_BONUS = 0.30
CONFLICT_CAP = 0.50
ACCEPT = 0.85
MARGIN = 0.05
CANDIDATE = 0.50
UNSPECIFIED_VERSION = 0.75
DURATION_EXACT_S = 3.0
DURATION_FAR_S = 30.0
TITLE_FLOOR = 0.6
PRIMARY_ARTIST_FLOOR = 0.8

_VERSION_WORDS = re.compile(
    r"\b(mix|remix|rmx|edit|version|dub|vip|rework|bootleg|instrumental|extended|original|"
    r"radio|re-?edit|flip|remaster(ed)?)\b",
    re.IGNORECASE,
)
_FEAT = re.compile(r"\s*[\(\[]?\b(?:feat\.?|ft\.?|featuring)\s+([^\)\]]+)[\)\]]?", re.IGNORECASE)
_FEAT_START = re.compile(r"\s*(feat\.?|ft\.?|featuring)\s", re.IGNORECASE)
_THE = re.compile(r"^\s*the\s+", re.IGNORECASE)
_TAIL_GROUP = re.compile(r"\s*[\(\[]([^\)\]]*)[\)\]]\s*$")
_TAIL_DASH = re.compile(r"\s+[-–—]\s+([^-–—]+)$")
_ARTIST_SPLIT = re.compile(
    r"\s*(?:,|&|\band\b|\bx\b|\bvs\.?\b|\bfeat\.?\b|\bft\.?\b|\bfeaturing\b|\+)\s*", re.IGNORECASE
)
_ORIGINAL = {"", "originalmix", "original", "extendedmix", "extended", "clubmix", "extendedversion"}
_RADIO = {"radioedit", "radiomix", "edit", "shortmix", "radioversion", "shortedit", "singleedit"}
_REMIX_SUFFIX = re.compile(
    r"^(?P<who>.+?)\s+(?:remix|rmx|rework|re-?edit|edit|bootleg|dub|mix|flip|version)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Wanted:
    """Our track as the library knows it (from tags or the playlist)."""

    title: str
    artist: str | None = None
    duration_s: float | None = None
    isrc: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A catalog track as the matcher needs it."""

    id: int
    name: str
    mix_name: str | None = None
    artists: tuple[str, ...] = ()
    remixers: tuple[str, ...] = ()
    duration_s: float | None = None
    isrc: str | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    """One candidate with its score and the parts it is made of."""

    entry: CatalogEntry
    score: float  # 0..1, what is shown and compared with the thresholds
    parts: dict[str, float] = field(default_factory=dict)
    raw: float = 0.0  # the uncapped sum: ranks candidates and measures the margin


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """The accepted entry (or None) and the candidates kept for the DJ, best first."""

    accepted: Scored | None
    candidates: tuple[Scored, ...]


def fold(text: str | None) -> str:
    """``identity_text``, or for text without Latin letters or digits, its own letters casefolded."""
    folded = identity_text(text)
    if folded or not text:
        return folded
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def _artist(name: str) -> str:
    return fold(_THE.sub("", name)) or fold(name)


def split_artists(text: str | None) -> list[str]:
    """Folded artist names from a credit such as ``A & B feat. C``."""
    if not text:
        return []
    return [f for f in (_artist(p) for p in _ARTIST_SPLIT.split(text)) if f]


def split_title(title: str) -> tuple[str, str, list[str]]:
    """``(base title, version text, featured artists)`` from a title as tags write it."""
    featured: list[str] = []

    def take_feat(match: re.Match[str]) -> str:
        featured.extend(split_artists(match.group(1)))
        return " "

    text = title.strip()
    version = ""
    # Peel version groups from the end: "Song (feat. X) [Y Remix]".
    for _ in range(3):
        group = _TAIL_GROUP.search(text)
        dash = _TAIL_DASH.search(text)
        if group and _FEAT_START.match(group.group(1)):
            featured.extend(split_artists(group.group(1)))
            text = text[: group.start()]
        elif group and _VERSION_WORDS.search(group.group(1)) and not version:
            version = group.group(1)
            text = text[: group.start()]
        elif dash and _VERSION_WORDS.search(dash.group(1)) and not version:
            version = dash.group(1)
            text = text[: dash.start()]
        else:
            break
    text = _FEAT.sub(take_feat, text)
    return fold(text), version.strip(), featured


def _version_class(version: str | None, remixers: Sequence[str] = ()) -> tuple[str, frozenset[str]]:
    """``("original"|"radio"|"remix"|"other:<text>", remixers)`` for a version text."""
    folded = identity_text(version)
    if folded in _ORIGINAL:
        return ("remix", frozenset(remixers)) if remixers else ("original", frozenset())
    if folded in _RADIO:
        return "radio", frozenset()
    who = _REMIX_SUFFIX.match((version or "").strip())
    names = set(remixers)
    if who and identity_text(who.group("who")) not in ("radio", "original", "extended", "club"):
        names.update(split_artists(who.group("who")))
    if names:
        return "remix", frozenset(names)
    return f"other:{folded}", frozenset()


def _version_part(
    ours: tuple[str, frozenset[str]], theirs: tuple[str, frozenset[str]], ours_given: bool
) -> float:
    (oc, orx), (tc, trx) = ours, theirs
    if oc == "remix" or tc == "remix":
        if oc == tc == "remix":
            return 1.0 if orx & trx else 0.0
        return 0.0
    if not ours_given:
        # Tags often omit the version: original or radio edit alike, the duration decides.
        return UNSPECIFIED_VERSION if tc in ("original", "radio") else 0.0
    return 1.0 if oc == tc else 0.0


def _duration_part(ours: float | None, theirs: float | None) -> float:
    if ours is None or theirs is None:
        return 0.5
    gap = abs(ours - theirs)
    if gap <= DURATION_EXACT_S:
        return 1.0
    return max(0.0, 1.0 - (gap - DURATION_EXACT_S) / (DURATION_FAR_S - DURATION_EXACT_S))


def score(wanted: Wanted, entry: CatalogEntry) -> Scored:
    """The documented score of ``entry`` as a match for ``wanted`` (see the module docstring)."""
    base, version, featured = split_title(wanted.title)
    their_base, their_version_in_name, their_featured = split_title(entry.name)
    their_version = entry.mix_name or their_version_in_name

    title = (
        1.0
        if base and base == their_base
        else difflib.SequenceMatcher(None, base, their_base).ratio()
    )
    title_ok = title >= TITLE_FLOOR
    if not title_ok:
        title = 0.0

    our_artists = split_artists(wanted.artist) + featured
    their_artists = {a for name in entry.artists for a in split_artists(name)}
    their_artists |= set(their_featured) | {_artist(r) for r in entry.remixers}
    if our_artists:
        share = sum(1 for a in our_artists if a in their_artists) / len(our_artists)
        if our_artists[0] in their_artists:
            share = max(share, PRIMARY_ARTIST_FLOOR)
    else:
        share = 0.5

    remixers = [_artist(r) for r in entry.remixers]
    ours_v = _version_class(version)
    theirs_v = _version_class(their_version, remixers)
    version_part = _version_part(ours_v, theirs_v, bool(identity_text(version)))
    duration = _duration_part(wanted.duration_s, entry.duration_s)

    parts = {"title": title, "artists": share, "version": version_part, "duration": duration}
    total = sum(WEIGHTS[k] * v for k, v in parts.items())
    if wanted.isrc and entry.isrc and wanted.isrc.strip().upper() == entry.isrc.strip().upper():
        parts["isrc"] = 1.0
        total += ISRC_BONUS
    if version_part == 0.0 or not title_ok:
        total = min(total, CONFLICT_CAP)
    return Scored(entry, round(min(1.0, total), 4), parts, round(total, 4))


def decide(wanted: Wanted, entries: Sequence[CatalogEntry], *, keep: int = 5) -> MatchDecision:
    """Score every entry: accept the best if clearly good enough, else keep candidates for the DJ."""
    seen: set[int] = set()
    ranked: list[Scored] = []
    for entry in entries:
        if entry.id in seen:
            continue
        seen.add(entry.id)
        ranked.append(score(wanted, entry))
    ranked.sort(key=lambda s: (-s.raw, s.entry.id))
    kept = tuple(s for s in ranked if s.score >= CANDIDATE)[:keep]
    if ranked and ranked[0].score >= ACCEPT:
        runner_up = ranked[1].raw if len(ranked) > 1 else 0.0
        if ranked[0].raw - runner_up >= MARGIN:
            return MatchDecision(ranked[0], kept)
    return MatchDecision(None, kept)
