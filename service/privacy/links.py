"""The signed links the privacy centre mails: confirm a request, download an export, cancel a
deletion, unsubscribe from marketing mail.

Each kind has its own salt, so one link can never stand for another. Confirm and cancel links are
single-use because the request they name must still be in the state they act on (a second click finds
it moved on); the export link expires with the archive; the unsubscribe link works without logging in
and for as long as the address receives marketing mail (withdrawing twice changes nothing).
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

#: How long a link confirming a request made from the logged-out side works.
CONFIRM_TTL_S = 24 * 3600
#: An export link works as long as the archive is kept.
EXPORT_TTL_S = 7 * 24 * 3600
#: A deletion can be cancelled for the whole grace period.
CANCEL_TTL_S = 30 * 24 * 3600
#: Unsubscribe links in marketing mail keep working for a year (RFC 8058 asks for a long life).
UNSUBSCRIBE_TTL_S = 366 * 24 * 3600

_SALTS = {
    "confirm": "aidj-privacy-confirm",
    "export": "aidj-privacy-export",
    "cancel": "aidj-privacy-cancel-deletion",
    "unsubscribe": "aidj-unsubscribe",
}
_TTLS = {"confirm": CONFIRM_TTL_S, "export": EXPORT_TTL_S, "cancel": CANCEL_TTL_S,
         "unsubscribe": UNSUBSCRIBE_TTL_S}  # fmt: skip


def make(secret: str, purpose: str, subject: str) -> str:
    """A token for ``purpose`` naming ``subject`` (a request id, or a user id to unsubscribe)."""
    return URLSafeTimedSerializer(secret, salt=_SALTS[purpose]).dumps({"s": subject})


def read(secret: str, purpose: str, token: str, *, max_age_s: int | None = None) -> str | None:
    """The subject of a genuine, unexpired token for ``purpose``; None for anything else."""
    try:
        data: Any = URLSafeTimedSerializer(secret, salt=_SALTS[purpose]).loads(
            token, max_age=max_age_s if max_age_s is not None else _TTLS[purpose]
        )
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        return None
    return data["s"]
