"""A demo DJ and a demo library, so a fresh stack has something to build a set from.

The audio is real and full length (five to seven minutes a track, as DJ tracks are), yet small and
quick to make: mono 8-bit WAV at 8 kHz (about 0.5 MB a minute), synthesised with numpy at set-up in a
fraction of a second per track. Each track is a kick on every beat under the key's tonic chord, laid
out as DJs expect: a kick-only intro and outro to mix over, and a breakdown without the kick. The
files are tagged with BPM, key and energy the way DJ software writes them, beside an extended M3U8.
Sixteen tracks play about 80 minutes mixed, so every arc builds a 60-minute set from them.
"""

from __future__ import annotations

import logging
import math
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from mutagen.id3 import ID3, TBPM, TCON, TIT2, TKEY, TPE1, TPUB, TXXX
from mutagen.wave import WAVE

from service.integrations.directus import DirectusClient, DirectusError
from service.stack.access import role_id

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@aidjsets.example.com"
DEMO_PASSWORD = "demo-dj-2026"
SAMPLE_RATE = 8_000
INTRO_S = 30.0  # kick only at each end: room to mix in and out


@dataclass(frozen=True)
class DemoTrack:
    """One demo track: what it is called, how it is tagged and how long it plays."""

    artist: str
    title: str
    bpm: float
    key: str  # as DJ software writes it in TKEY
    tonic_pc: int
    minor: bool
    energy: int
    genre: str
    label: str
    seconds: float = 360.0

    @property
    def filename(self) -> str:
        """The file name on disk and in the playlist."""
        return f"{self.artist} - {self.title}.wav"


DEMO_TRACKS = (
    DemoTrack("Lumen Drift", "First Light", 120.0, "8A", 9, True, 2, "Deep House", "Dawn Audio", 372),
    DemoTrack("Kasa Mori", "Harbour Lights", 121.0, "9A", 4, True, 3, "Deep House", "Dawn Audio", 355),
    DemoTrack("Ines Valcourt", "Low Tide", 122.0, "9B", 7, False, 4, "House", "Shoreline", 341),
    DemoTrack("Tomas Reyes", "Salt Road", 122.0, "8B", 0, False, 3, "Deep House", "Shoreline", 388),
    DemoTrack("The Quiet Assembly", "Second Wind", 123.0, "10A", 11, True, 5, "House", "Shoreline", 330),
    DemoTrack("Mira Osei", "Glass Garden", 123.0, "10B", 2, False, 5, "House", "Metro Cuts", 364),
    DemoTrack("Ovo Sato", "Night Market", 124.0, "11B", 9, False, 6, "Tech House", "Metro Cuts", 322),
    DemoTrack("Rhea Kallio", "Static Bloom", 124.0, "11A", 6, True, 6, "Tech House", "Metro Cuts", 347),
    DemoTrack("Jun Park", "Paper Moons", 125.0, "12A", 1, True, 7, "Tech House", "Metro Cuts", 336),
    DemoTrack("Marek Ilves", "Copper Sky", 126.0, "12B", 4, False, 7, "Techno", "Iron Garden", 378),
    DemoTrack("Delta Sine", "Pressure Point", 127.0, "1A", 8, True, 9, "Techno", "Iron Garden", 352),
    DemoTrack("Sela Varga", "Iron Bloom", 128.0, "1B", 11, False, 8, "Techno", "Iron Garden", 344),
    DemoTrack("Nadia Ferro", "After Hours", 126.0, "2A", 3, True, 7, "Melodic Techno", "Afterglow", 395),
    DemoTrack("Aiko Lind", "Slow Signal", 124.0, "2B", 6, False, 5, "Melodic Techno", "Afterglow", 360),
    DemoTrack("Kasa Mori", "Homeward", 122.0, "7A", 2, True, 4, "Deep House", "Dawn Audio", 333),
    DemoTrack("Lumen Drift", "Last Light", 120.0, "7B", 5, False, 2, "Deep House", "Dawn Audio", 384),
)  # fmt: skip


def _synthesise(track: DemoTrack) -> bytes:
    """A kick on each beat under the tonic triad of the track's key, as 8-bit unsigned samples."""
    t = np.arange(int(SAMPLE_RATE * track.seconds), dtype=np.float32) / SAMPLE_RATE
    tonic_hz = 220.0 * 2 ** (((track.tonic_pc - 9) % 12) / 12)
    third = 3 if track.minor else 4
    chord = sum(np.sin(2 * math.pi * tonic_hz * 2 ** (step / 12) * t) for step in (0, third, 7)) / 3
    phase = np.mod(t, np.float32(60.0 / track.bpm))
    kick = np.sin(2 * math.pi * (50 + 90 * np.exp(-phase * 30)) * phase) * np.exp(-phase * 9)
    end = track.seconds
    chord_on = (t >= INTRO_S) & (t < end - INTRO_S)  # kick-only intro and outro
    kick_on = (t < 0.45 * end) | (t >= 0.55 * end)  # a breakdown in the middle
    mix = 0.35 * chord * chord_on * (0.6 + 0.4 * np.exp(-phase * 3)) + 0.6 * kick * kick_on
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.5)
    return np.clip(mix * fade * 0.8 * 127 + 128, 0, 255).astype(np.uint8).tobytes()


def _is_current(path: Path, track: DemoTrack) -> bool:
    """Whether ``path`` already holds this version of the track (an older, shorter demo is not)."""
    try:
        with wave.open(str(path), "rb") as existing:
            frames, rate, width = (
                existing.getnframes(),
                existing.getframerate(),
                existing.getsampwidth(),
            )
    except (OSError, EOFError, wave.Error):
        return False
    return (rate, width) == (SAMPLE_RATE, 1) and frames == int(SAMPLE_RATE * track.seconds)


def write_demo_library(folder: Path, *, entry_prefix: str = "") -> tuple[list[Path], Path]:
    """Write the tagged demo WAVs and ``demo.m3u8`` into ``folder`` (audio kept if already there).

    ``entry_prefix`` goes before each file name in the playlist (e.g. ``../Music/``, as DJ
    software writes playlists kept beside the music folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for track in DEMO_TRACKS:
        path = folder / track.filename
        paths.append(path)
        if _is_current(path, track):
            continue
        partial = path.with_suffix(".partial")
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(1)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(_synthesise(track))
        audio = WAVE(partial)
        audio.add_tags()
        tags: ID3 = audio.tags
        tags.add(TIT2(encoding=3, text=track.title))
        tags.add(TPE1(encoding=3, text=track.artist))
        tags.add(TCON(encoding=3, text=track.genre))
        tags.add(TPUB(encoding=3, text=track.label))
        tags.add(TBPM(encoding=3, text=f"{track.bpm:g}"))
        tags.add(TKEY(encoding=3, text=track.key))
        tags.add(TXXX(encoding=3, desc="EnergyLevel", text=str(track.energy)))
        audio.save()
        partial.rename(path)  # a crash mid-way leaves no short file that would be kept
    playlist = folder / "demo.m3u8"
    lines = ["#EXTM3U", "#PLAYLIST:AIDJSets demo"]
    for track, path in zip(DEMO_TRACKS, paths, strict=True):
        lines += [f"#EXTINF:{round(track.seconds)},{track.artist} - {track.title}",
                  entry_prefix + path.name]  # fmt: skip
    playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths, playlist


#: Token packs and a plan for the local stack. The price ids are placeholders: with a Paddle sandbox
#: account, replace them in the Studio (token_packs) with your sandbox prices; without one, post
#: signed events for them with `aidj paddle purchase --price pri_demo_starter …`.
DEMO_CATALOGUE = (
    {"kind": "pack", "name": "Starter", "paddle_price_id": "pri_demo_starter", "tokens": 10,
     "price_label": "€9", "active": True},
    {"kind": "pack", "name": "Crate", "paddle_price_id": "pri_demo_crate", "tokens": 50,
     "price_label": "€39", "active": True},
    {"kind": "plan", "name": "Residency", "paddle_price_id": "pri_demo_residency", "tokens": 30,
     "price_label": "€19 / month", "active": True},
)  # fmt: skip


def seed_catalogue(admin: DirectusClient) -> int:
    """Create the demo packs and plan that are missing (staff own token_packs: the admin writes)."""
    wanted = [p["paddle_price_id"] for p in DEMO_CATALOGUE]
    present = {
        item["paddle_price_id"]
        for item in admin.list_items(
            "token_packs", filter={"paddle_price_id": {"_in": wanted}}, fields=["paddle_price_id"]
        )
    }
    missing = [p for p in DEMO_CATALOGUE if p["paddle_price_id"] not in present]
    if missing:
        admin.create_items("token_packs", missing)
        log.info("seeded %d demo token packs and plans", len(missing))
    return len(missing)


def seed_demo(service: DirectusClient, library: Path) -> dict[str, str]:
    """Create the demo DJ with a token grant and its uploaded demo playlist, once."""
    existing = service.list_items(
        "directus_users", filter={"email": {"_eq": DEMO_EMAIL}}, fields=["id"]
    )
    if existing:
        return {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "user_id": existing[0]["id"]}
    user = service.create_item(
        "directus_users",
        {
            "email": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "role": role_id("DJ"),
            "status": "active",
            "email_verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "first_name": "Demo",
            "display_name": "Demo DJ",
            "age_confirmed": True,
        },
    )
    grant = service.get_singleton("app_settings").get("signup_grant_tokens") or 0
    try:
        service.create_item(
            "token_ledger",
            {
                "owner": user["id"],
                "delta": grant,
                "reason": "signup_grant",
                "reference": f"signup:{user['id']}",
            },
        )
    except DirectusError as exc:
        if exc.code != "RECORD_NOT_UNIQUE":
            raise
    audio, playlist_file = write_demo_library(library)
    folder = service.call("POST", "/folders", json={"name": f"upload {user['id'][:8]} demo"})
    for path in audio:
        service.upload_file(path, path.name, metadata={"folder": folder["id"]})
    source = service.upload_file(
        playlist_file, playlist_file.name, metadata={"folder": folder["id"]}
    )
    service.create_item(
        "playlists",
        {
            "owner": user["id"],
            "name": "AIDJSets demo",
            "source_format": "m3u8",
            "source_file": source["id"],
            "upload_folder": folder["id"],
            "status": "queued",
        },
    )
    log.info("seeded the demo DJ %s with %d tokens and %d tracks", DEMO_EMAIL, grant, len(audio))
    return {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "user_id": user["id"]}
