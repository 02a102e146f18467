"""Install, configure, bootstrap and run the pinned Directus for one environment."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from service.integrations.directus import DirectusClient, DirectusError
from service.stack.processes import stop_process
from service.stack.settings import DIRECTUS_DIR, SNAPSHOT_FILE, StackSettings, snapshot_version

log = logging.getLogger(__name__)

DIRECTUS_CLI = DIRECTUS_DIR / "node_modules" / "directus" / "cli.js"
PINNED_VERSION = "12.4.0"


def node_binary() -> str:
    """The machine's Node (Directus must not run under another Node found in a parent folder)."""
    node = shutil.which("node")
    if not node:
        raise RuntimeError("Node.js 20 or newer is needed to run Directus: install nodejs and npm")
    return node


def installed_version() -> str | None:
    """The Directus version in node_modules, or None when it is not installed."""
    package = DIRECTUS_DIR / "node_modules" / "directus" / "package.json"
    if not package.exists():
        return None
    import json

    return json.loads(package.read_text())["version"]


def install(*, force: bool = False) -> bool:
    """``npm ci`` from the lockfile unless the pinned version is already there; True if it ran."""
    if not force and installed_version() == PINNED_VERSION:
        return False
    log.info("installing Directus %s with npm ci (a few minutes the first time)", PINNED_VERSION)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=DIRECTUS_DIR,
        check=True,
    )
    return True


def write_env_file(settings: StackSettings) -> Path:
    """Write the environment's Directus config; it overrides the process environment."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# Generated for the {settings.env} stack; do not edit (regenerated at every start)."]
    for name, value in settings.directus_env().items():
        if "\n" in value:
            raise ValueError(f"{name} must be a single line")
        lines.append(f'{name}="{value}"' if " " in value or "#" in value else f"{name}={value}")
    settings.env_file.write_text("\n".join(lines) + "\n")
    settings.env_file.chmod(0o600)
    return settings.env_file


def _cli_env(settings: StackSettings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DIRECTUS_"))}
    env["CONFIG_PATH"] = str(settings.env_file)
    return env


def run_cli(
    settings: StackSettings, *args: str, quiet: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``directus <args>`` against this environment's config file."""
    result = subprocess.run(
        [node_binary(), str(DIRECTUS_CLI), *args],
        cwd=DIRECTUS_DIR,
        env=_cli_env(settings),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"directus {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    if not quiet:
        log.info("directus %s: %s", " ".join(args), result.stdout.strip()[-500:])
    return result


def bootstrap(settings: StackSettings) -> None:
    """Create Directus's own tables and the first admin (a no-op on an installed database)."""
    write_env_file(settings)
    run_cli(settings, "bootstrap")


def apply_schema(settings: StackSettings, snapshot: Path = SNAPSHOT_FILE) -> str:
    """Bring collections, fields and relations to the committed snapshot; returns Directus's summary."""
    result = run_cli(settings, "schema", "apply", "--yes", str(snapshot))
    return result.stdout.strip()


def record_schema_version(admin: DirectusClient, snapshot: Path = SNAPSHOT_FILE) -> str:
    """Store the applied snapshot's version where ``/readyz`` can compare it with the code's."""
    version = snapshot_version(snapshot)
    admin.update_singleton("app_settings", {"schema_version": version})
    return version


def take_snapshot(settings: StackSettings, destination: Path = SNAPSHOT_FILE) -> Path:
    """Write the running database's schema to ``destination`` (keep the committed one from PostgreSQL)."""
    run_cli(settings, "schema", "snapshot", "--yes", str(destination))
    return destination


def start(settings: StackSettings, *, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Start Directus in the background for this environment and return the process."""
    write_env_file(settings)
    log_path = log_file or settings.var_dir / "directus.log"
    out = log_path.open("ab")
    return subprocess.Popen(
        [node_binary(), str(DIRECTUS_CLI), "start"],
        cwd=DIRECTUS_DIR,
        env=_cli_env(settings),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until_ready(
    settings: StackSettings, process: subprocess.Popen[bytes] | None = None, timeout_s: float = 90
) -> None:
    """Block until Directus answers ``/server/ping``; fail early if its process died."""
    client = DirectusClient(settings.directus_url, timeout=2, max_attempts=1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = (settings.var_dir / "directus.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"Directus exited with status {process.returncode}:\n{tail}")
        try:
            if client.ping():
                return
        except DirectusError:
            pass
        time.sleep(0.3)
    raise TimeoutError(
        f"Directus did not answer on {settings.directus_url} within {timeout_s:.0f} s"
    )


def stop(process: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    """Stop a Directus process (and its children) politely, then firmly."""
    stop_process(process, timeout_s)


def schema_drift(admin: DirectusClient, snapshot: Path = SNAPSHOT_FILE) -> dict | None:
    """What applying the snapshot would change in the running Directus, or None when nothing."""
    import yaml

    body = yaml.safe_load(snapshot.read_text())
    # /schema/diff refuses another vendor unless forced; types differ slightly across vendors.
    return admin.call("POST", "/schema/diff", params={"force": "true"}, json=body)


def provision(settings: StackSettings) -> subprocess.Popen[bytes]:
    """Bootstrap, apply schema, start, apply access and record the schema version; returns Directus."""
    from service.stack.access import apply_access

    bootstrap(settings)
    apply_schema(settings)
    process = start(settings)
    try:
        wait_until_ready(settings, process)
        admin = DirectusClient(settings.directus_url, settings.admin_token)
        plan = apply_access(admin, {"service_token": settings.service_token})
        log.info("access: %s", "; ".join(plan.changes) or "nothing changed")
        record_schema_version(admin)
    except BaseException:
        stop(process)
        raise
    return process
