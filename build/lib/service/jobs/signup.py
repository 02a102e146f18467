"""Grant a new DJ the sign-up tokens, once (ledger reference ``signup:<user id>``).

Started by the site when a DJ logs in with a verified email address (and by the sweep for a DJ whose
job was lost), so an account that never proved its address never gets tokens. Only DJ accounts get
the grant (not staff or the service user); the amount is ``app_settings.signup_grant_tokens``, which
staff can change without a deploy. The demo seed writes the same reference, so seeding and this job
never grant twice.
"""

from __future__ import annotations

import logging

from service import ledger
from service.integrations.directus import DirectusForbidden, DirectusNotFound
from service.jobs import state
from service.stack.access import role_id

log = logging.getLogger(__name__)


def run(user_id: str) -> str:
    """RQ entry point: grant the sign-up tokens to one new DJ."""
    state.job_logging()
    directus = state.directus_client()
    try:
        user = directus.get_item(
            "directus_users", user_id, fields=["id", "role", "email_verified_at"]
        )
    except (DirectusNotFound, DirectusForbidden):
        return "gone"
    if user.get("role") != role_id("DJ"):
        return "not a DJ"
    if not user.get("email_verified_at"):
        return "not verified"
    _, created = ledger.grant(
        directus, user_id, ledger.signup_grant_amount(directus), ledger.signup_reference(user_id)
    )
    return "granted" if created else "already granted"
