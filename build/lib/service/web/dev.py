"""Pages for the local stack only: the mail ``make run`` caught (``/dev/mail``).

Registered only when ``AIDJ_ENV`` is ``dev`` and ``MAIL_CATCHER_DIR`` is set, so production never
serves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, render_template

from service.stack.mailcatcher import caught_mail

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.get("/mail")
def mail() -> Any:
    """Every message the stack sent, newest first, with its links ready to open."""
    folder = Path(current_app.config["MAIL_CATCHER_DIR"])
    return render_template("dev/mail.html", messages=caught_mail(folder), folder=folder)


def init_dev(app: Flask) -> None:
    """Attach the local-stack pages when this is the local stack."""
    if app.config.get("AIDJ_ENV") == "dev" and app.config.get("MAIL_CATCHER_DIR"):
        app.register_blueprint(bp)
