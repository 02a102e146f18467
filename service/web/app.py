"""The Flask application factory: configuration in, clients built once, blueprints attached."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any

import redis
from flask import Flask, Response, current_app, g, request

from service import logs, metrics
from service.config import load_config
from service.integrations.directus import DirectusClient

log = logging.getLogger(__name__)


REQUEST_ID_HEADER = "X-Request-Id"


def _start_request() -> None:
    """Take the proxy's request id (or make one) for every log line and job of this request."""
    rid = logs.valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or logs.new_request_id()
    g.request_id = rid
    g.request_started = time.perf_counter()
    logs.current_request_id.set(rid)


def _finish_request(response: Response) -> Response:
    """Answer the request id, and time the request by route (the rule, never the ids in it)."""
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe(
            current_app.extensions["redis"],
            metrics.REQUEST_SECONDS,
            time.perf_counter() - started,
            route,
            request.method,
            f"{response.status_code // 100}xx",
        )
    return response


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from defaults, the environment and ``test_config``."""
    app = Flask(__name__)
    config = load_config(overrides=test_config)
    if not config.get("SECRET_KEY"):
        # Only outside production (load_config refuses there): sessions then last one process.
        config["SECRET_KEY"] = secrets.token_urlsafe(32)
        log.warning("no FLASK_SECRET_KEY set: using a random one; sessions end on restart")
    app.config.update(config)
    logs.configure(str(config["AIDJ_ENV"]))
    app.before_request(_start_request)
    app.after_request(_finish_request)
    # Small bodies everywhere; the upload route raises its own limit for logged-in DJs only.
    app.config["MAX_CONTENT_LENGTH"] = int(config["MAX_FORM_BYTES"])
    app.config["MAX_FORM_MEMORY_SIZE"] = int(config["MAX_FORM_BYTES"])
    if int(config["TRUSTED_PROXY_HOPS"]) > 0:
        # Behind a proxy: take the client address and scheme (https → HSTS) from its headers.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(config["TRUSTED_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    app.extensions["directus"] = DirectusClient(
        config["DIRECTUS_URL"],
        config["DIRECTUS_SERVICE_TOKEN"],
        timeout=(3.05, config["HTTP_TIMEOUT_S"]),
    )
    app.extensions["redis"] = redis.Redis.from_url(config["REDIS_URL"], socket_timeout=5)

    from service.web import health, hooks, paddle_hook  # noqa: F401 - paddle_hook adds /hooks/paddle
    from service.web.dev import init_dev
    from service.web.ops import init_ops
    from service.web.site import init_site

    app.register_blueprint(health.bp)
    app.register_blueprint(hooks.bp)
    init_site(app)
    init_ops(app)
    init_dev(app)
    return app
