"""The DJ's profile: where their music lives on each computer, so exports can find the files.

A playlist of bare or relative names says nothing about where the files are on the DJ's computer;
the music folder per operating system set here (or per upload) is where every export places them
(:func:`service.dj.exports.locate`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from service.dj.exports import MUSIC_FOLDER_SYSTEMS, check_music_folder, folder_system
from service.web.site import bp, current_user_id, directus, login_required

log = logging.getLogger(__name__)

SYSTEM_LABELS = {"macos": "Mac", "windows": "Windows PC"}


def music_folders(user: Mapping[str, Any] | None) -> dict[str, str]:
    """The DJ's music folder per operating system, only those set."""
    user = user or {}
    return {
        s: user[f"music_folder_{s}"] for s in MUSIC_FOLDER_SYSTEMS if user.get(f"music_folder_{s}")
    }


def export_folder(
    user: Mapping[str, Any] | None, playlist_folder: str | None, system: str | None
) -> tuple[str | None, str | None]:
    """(music folder, its system) an export for ``system`` uses: the upload's own, else the profile's.

    With no ``system`` asked, the upload's folder wins, then the profile's Mac folder, then Windows.
    """
    folders = music_folders(user)
    if system not in MUSIC_FOLDER_SYSTEMS:
        system = None
    if playlist_folder and (system is None or folder_system(playlist_folder) == system):
        return playlist_folder, folder_system(playlist_folder)
    if system is not None:
        return folders.get(system), system if folders.get(system) else None
    for name, folder in folders.items():
        return folder, name
    return None, None


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    """Set the music folder on each computer the DJ plays from."""
    values = {s: (g.user.get(f"music_folder_{s}") or "") for s in MUSIC_FOLDER_SYSTEMS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        changes: dict[str, str | None] = {}
        for system in MUSIC_FOLDER_SYSTEMS:
            typed = request.form.get(f"music_folder_{system}", "")
            values[system] = typed.strip()
            try:
                changes[f"music_folder_{system}"] = check_music_folder(typed, system)
            except ValueError as exc:
                errors[system] = str(exc)
        if not errors:
            directus().update_item("directus_users", current_user_id(), changes)
            log.info("music folders updated")
            flash("Saved. Downloads now place your files under these folders.", "info")
            return redirect(url_for("site.profile"), code=303)
    return render_template(
        "accounts/profile.html", values=values, errors=errors, labels=SYSTEM_LABELS
    ), (400 if errors else 200)
