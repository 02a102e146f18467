"""DJ accounts: the signed links the service mails (email verification) and who counts as verified.

Only the service creates DJ accounts (Directus's public registration is off): the site checks the
age and records consent, creates the account with the service token, and a job mails a link signed
with the site's secret key. Opening it sets ``email_verified_at``; until then the site refuses to log
the account in, and no sign-up grant is given. A link names the account and the address it was sent
to, so it stops working once the address changes, and it expires after ``VERIFY_TTL_S``.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeTimedSerializer

__all__ = ["VERIFY_TTL_S", "read_verification_token", "verification_token"]

#: How long a verification link works (the DJ can ask for a new one at any time).
VERIFY_TTL_S = 3 * 24 * 3600
_VERIFY_SALT = "aidj-verify-email"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_VERIFY_SALT)


def verification_token(secret_key: str, user_id: str, email: str) -> str:
    """The token in a verification link for ``user_id`` at ``email``."""
    return _serializer(secret_key).dumps({"u": user_id, "e": email.lower()})


def read_verification_token(
    secret_key: str, token: str, *, max_age_s: int = VERIFY_TTL_S
) -> tuple[str, str] | None:
    """(user id, email) from a genuine, unexpired token; None for anything else."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age_s)
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        return None
    if not isinstance(data.get("e"), str):
        return None
    return data["u"], data["e"]
