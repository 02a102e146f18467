"""Mail every active DJ about a material change of a legal text (pipeline ``legal_notice``).

Started by the event map when staff publish a ``legal_documents`` version (created published, or
set to published) with ``material_change`` ticked. DJs are mailed in batches at
``LEGAL_MAIL_RATE_PER_S`` (a rate mail providers accept); the version's ``notice_progress`` and
``notified_count`` show how far it got. Who was mailed is remembered in Redis by keyed pseudonym, so a
retry (RQ retries a mail server that is down) carries on where it stopped and nobody is mailed twice.
At their next log-in each DJ is asked to accept the new version (``service/web/site/consent.py``).
"""

from __future__ import annotations

import logging
import time

from service.config import load_config
from service.integrations.directus import DirectusForbidden, DirectusNotFound
from service.integrations.mail import MailRejected, OutgoingMail, mail_client_from_config
from service.jobs import state
from service.jobs.queue import redis_connection
from service.privacy import pseudonym
from service.stack.access import role_id

log = logging.getLogger(__name__)

BATCH = 100
SENT_TTL_S = 30 * 24 * 3600
PAGE_NAMES = {"privacy": "privacy policy", "terms": "terms of service", "cookies": "cookie notice"}


def sent_key(document_id: int | str) -> str:
    """The Redis set of pseudonyms already mailed about one version."""
    return f"aidj:legal-notice:{document_id}"


def notice_mail(site_url: str, email: str, name: str, document: dict) -> OutgoingMail:
    """The message about one changed document."""
    what = PAGE_NAMES.get(document["slug"], document["slug"])
    link = f"{site_url.rstrip('/')}/{document['slug']}"
    text = (
        f"Hello {name},\n\nWe changed our {what}. The new version ({document['version']}) takes effect on "
        f"{document['effective_date']}. Read it here:\n\n{link}\n\nWe will ask you to accept it the next "
        "time you log in. Earlier versions stay readable on the site.\n"
    )
    return OutgoingMail(to=email, subject=f"We changed our {what}", text=text)


def run(document_id: str) -> str:
    """RQ entry point: mail every active, verified DJ about a published material change, once."""
    state.job_logging()
    config = load_config()
    directus = state.directus_client(config)
    connection = redis_connection(config)
    secret = str(config["SECRET_KEY"])
    try:
        document = directus.get_item("legal_documents", document_id,
                                     fields=["id", "slug", "version", "effective_date", "status", "material_change"])  # fmt: skip
    except (DirectusNotFound, DirectusForbidden):
        return "gone"
    if document.get("status") != "published" or not document.get("material_change"):
        return "not a published material change"
    audience = {
        "role": {"_eq": role_id("DJ")},
        "status": {"_eq": "active"},
        "email_verified_at": {"_nnull": True},
    }
    total = directus.count("directus_users", audience)
    client = mail_client_from_config(config)
    pause = 1.0 / max(0.1, float(config["LEGAL_MAIL_RATE_PER_S"]))
    key = sent_key(document_id)
    done = 0
    users = directus.iter_items("directus_users", filter=audience, fields=["id", "email", "display_name"],
                                page_size=BATCH)  # fmt: skip
    for n, user in enumerate(users, start=1):
        member = pseudonym(secret, str(user["id"]))
        if not connection.sismember(key, member):
            try:
                client.send(notice_mail(str(config["SITE_URL"]), user["email"], user.get("display_name") or "there",
                                        document))  # fmt: skip
            except MailRejected as exc:
                log.warning("material-change mail refused for one DJ: %s", exc)
            connection.sadd(key, member)
            connection.expire(key, SENT_TTL_S)
            done += 1
            time.sleep(pause)
        if n % BATCH == 0 or n == total:
            directus.update_item("legal_documents", document_id, {
                "notice_progress": min(100, int(100 * n / max(1, total))),
                "notified_count": int(connection.scard(key))})  # fmt: skip
    directus.update_item("legal_documents", document_id,
                         {"notice_progress": 100, "notified_count": int(connection.scard(key))})  # fmt: skip
    log.info(
        "material change %s: %d DJs mailed now, %d in all", document_id, done, connection.scard(key)
    )
    return f"mailed {done}"
