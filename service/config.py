"""The service's configuration: defaults, then the environment, then an explicit mapping (tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "AIDJ_ENV": "dev",
    "DIRECTUS_URL": "http://127.0.0.1:8055",
    "DIRECTUS_SERVICE_TOKEN": None,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "HOOK_SECRET": None,
    "SECRET_KEY": None,
    "SITE_URL": "http://127.0.0.1:5000",
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": 1025,
    # Outgoing mail (service/integrations/mail): receipts now, privacy and marketing mail later.
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "SMTP_SECURITY": "none",  # none, starttls or tls
    "SMTP_TIMEOUT_S": 10.0,
    "EMAIL_FROM": "AIDJSets <no-reply@aidjsets.example.com>",
    "MAIL_CATCHER_DIR": None,  # dev only: where `make run`'s mail catcher keeps mail (/dev/mail)
    "AI_PROVIDER": "local",
    "HTTP_TIMEOUT_S": 10.0,
    "METRICS_TOKEN": None,  # bearer token Prometheus sends to /metrics; unset: no /metrics
    # The site: sessions, rate limits (attempts per window, per address and per email), uploads.
    "SESSION_TTL_S": 7 * 24 * 3600,
    "OPS_SESSION_TTL_S": 8 * 3600,  # a staff session on /ops (the RQ dashboard)
    "RATE_LIMIT_LOGIN": 10,
    "RATE_LIMIT_SIGNUP": 5,
    "RATE_LIMIT_RESET": 5,
    "RATE_LIMIT_RESEND": 5,
    "RATE_LIMIT_WINDOW_S": 900,
    "RATE_LIMIT_ADDRESS_FACTOR": 5,  # an address may be shared: it gets this many times the limit
    "MAX_UPLOAD_BYTES": 2 * 1024**3,  # an upload of a logged-in DJ
    "MAX_FORM_BYTES": 1024**2,  # any other request
    "TRUSTED_PROXY_HOPS": 0,
    # Event bridge and pipelines (service/web/hooks.py, service/jobs/).
    "HOOK_SECRET_PREVIOUS": None,  # the old secret, accepted too while rotating HOOK_SECRET
    "HOOK_TOLERANCE_S": 300,  # accepted clock difference of a signed event, either way
    "HOOK_DEDUPE_TTL_S": 86400,  # how long an event id is remembered against duplicate deliveries
    "SWEEP_INTERVAL_S": 60,
    "SWEEP_STALE_S": 120.0,  # a queued/running item unchanged this long is re-enqueued
    "SWEEP_LOST_S": 15.0,  # a queued item with no job this long lost its event
    "SWEEP_DEAD_WORKER_S": 120.0,  # a worker silent this long is dead (RQ beats every 30 s)
    "SWEEP_MAX_RECOVERIES": 3,
    "JOB_LOCK_TTL_S": 30.0,  # a run's item lock expires this long after the run dies
    "USAGE_RAW_RETENTION_DAYS": 90,  # raw usage events are summed nightly, then deleted after this
    # Paddle Billing (service/billing.py, /hooks/paddle, the Buy tokens pages). Without the client
    # token and webhook secrets the purchase pages are hidden and say why; the rest works.
    "PADDLE_ENV": "sandbox",  # sandbox or production
    "PADDLE_CLIENT_TOKEN": None,  # Paddle.js client-side token (test_… or live_…): public
    "PADDLE_WEBHOOK_SECRETS": None,  # notification secrets, comma-separated (several while rotating)
    "PADDLE_WEBHOOK_TOLERANCE_S": 60,  # accepted age of a Paddle-Signature timestamp, either way
    "PADDLE_API_KEY": None,  # optional: customer portal links for the subscription page
    "PADDLE_API_URL": None,  # default: Paddle's sandbox or production API by PADDLE_ENV
    "PADDLE_JS_URL": "https://cdn.paddle.com/paddle/v2/paddle.js",
    "PADDLE_CHECKOUT_ORIGINS": None,  # frames Paddle.js opens; default: Paddle's buy.paddle.com hosts
    # Beatport (service/integrations/beatport, service/beatport.py): on when the first three are set.
    "BEATPORT_CLIENT_ID": None,
    "BEATPORT_CLIENT_SECRET": None,
    "BEATPORT_REDIRECT_URI": None,  # <SITE_URL>/beatport/callback, registered with Beatport
    # Fernet keys, comma-separated: the first encrypts, all decrypt. Required in production; elsewhere
    # a key derived from SECRET_KEY stands in when unset.
    "BEATPORT_TOKEN_KEYS": None,
    "BEATPORT_API_URL": "https://api.beatport.com/v4",
    "BEATPORT_CACHE_TTL_S": 86400,  # catalog answers kept in Redis this long
    "BEATPORT_RATE_PER_S": 5.0,  # requests per second to Beatport, shared by every process
    "BEATPORT_BURST": 10,
    # Privacy centre: the rate of the mail telling every DJ about a material change of a legal text.
    "LEGAL_MAIL_RATE_PER_S": 5.0,
    "UPLOAD_RETENTION_DAYS": 365,  # uploaded audio is deleted this long after its last use…
    "UPLOAD_WARNING_DAYS": 14,  # …and the DJ is mailed this long before
}

# Environment variable → config key, where the names differ.
ENV_ALIASES = {"FLASK_SECRET_KEY": "SECRET_KEY"}

# Without these, production must refuse to start rather than run half-configured.
PRODUCTION_SECRETS = ("DIRECTUS_SERVICE_TOKEN", "HOOK_SECRET", "SECRET_KEY")


def load_config(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Defaults → environment → overrides, with types taken from the defaults."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name, value in environ.items():
        key = ENV_ALIASES.get(name, name)
        if key in config:
            default = DEFAULTS[key]
            config[key] = type(default)(value) if isinstance(default, int | float) else value
        elif name.startswith(("AI_", "GEMINI_", "LITELLM_")):
            config[name] = value
    config.update(overrides or {})
    if config["AIDJ_ENV"] == "production":
        missing = [key for key in PRODUCTION_SECRETS if not config.get(key)]
        if config.get("BEATPORT_CLIENT_ID") and not config.get("BEATPORT_TOKEN_KEYS"):
            missing.append("BEATPORT_TOKEN_KEYS")  # never keep Beatport tokens unencrypted
        if missing:
            raise RuntimeError(f"refusing to start in production without: {', '.join(missing)}")
    return config
