"""gunicorn settings for the site, in every environment (``gunicorn -c python:service.web.gunicorn_conf``).

Threads (gthread) let a worker serve other requests while one streams an upload to Directus. gunicorn
has no timeout for reading a request, so a client that declares a large body and sends it slowly
holds a thread: in production the site sits behind a buffering proxy (``deploy/nginx.conf``) that
reads each request whole, at the client's pace and with its own timeouts, before passing it on.
Request lines and headers are bounded here too. ``WEB_WORKERS`` and ``WEB_THREADS`` size the pool.
"""

from __future__ import annotations

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
# A worker whose main loop is silent this long is replaced (a thread stuck in a request is not).
timeout = 120
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
