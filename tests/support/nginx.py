"""The real nginx for tests: a whole ``nginx.conf`` around the ``http`` block a test needs."""

from __future__ import annotations

import shutil
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def write_nginx_conf(folder: Path, http_body: str) -> Path:
    """Write ``folder/nginx.conf`` running in the foreground with its temp files in ``folder``."""
    temp_paths = ""
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        path = folder / f"{name}_temp"
        path.mkdir()
        path.chmod(0o777)  # nginx's workers may run as another user
        temp_paths += f"  {name}_temp_path {path};\n"
    config = folder / "nginx.conf"
    config.write_text(
        f"daemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "worker_processes 1;\nevents { worker_connections 1024; }\n"
        f"http {{\n  access_log off;\n{temp_paths}{http_body}}}\n"
    )
    return config
