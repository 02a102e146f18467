"""``aidj run``, ``aidj stop`` and ``aidj directus …``: the local stack and Directus as code."""

from __future__ import annotations

import sys

import click

from service.stack import directus, run
from service.stack.settings import SNAPSHOT_FILE, load_settings

ENVIRONMENTS = click.Choice(["dev", "test", "production"])
env_option = click.option(
    "--env",
    "env_name",
    type=ENVIRONMENTS,
    default="dev",
    show_default=True,
    help="Which environment's stack.",
)


def register(main: click.Group) -> None:
    """Attach the stack commands."""
    main.add_command(run_command)
    main.add_command(stop_command)
    main.add_command(directus_group)
    main.add_command(backup_command)
    main.add_command(restore_command)


@click.command("run")
@env_option
@click.option("--no-seed", is_flag=True, help="Do not create the demo DJ and library.")
def run_command(env_name: str, no_seed: bool) -> None:
    """Run the whole stack (Redis, Directus, web, worker) until Ctrl-C."""
    run.run_stack(load_settings(env_name), seed=not no_seed)


@click.command("stop")
@env_option
def stop_command(env_name: str) -> None:
    """Stop a stack started by ``aidj run``."""
    click.echo("stopped" if run.stop_running(load_settings(env_name)) else "nothing was running")


@click.group("directus")
def directus_group() -> None:
    """Install, configure and provision the pinned Directus."""


@directus_group.command("install")
@click.option("--force", is_flag=True, help="Run npm ci even when the pinned version is installed.")
def install_command(force: bool) -> None:
    """Install Directus from the lockfile (npm ci)."""
    if force or directus.installed_version() != directus.PINNED_VERSION:
        click.echo(
            f"installing Directus {directus.PINNED_VERSION} with npm ci (a few minutes the first time)…"
        )
    ran = directus.install(force=force)
    click.echo(
        f"Directus {directus.installed_version()} " + ("installed" if ran else "already installed")
    )


@directus_group.command("env")
@env_option
def env_command(env_name: str) -> None:
    """Write the environment's Directus config file and print its path."""
    click.echo(directus.write_env_file(load_settings(env_name)))


@directus_group.command("bootstrap")
@env_option
def bootstrap_command(env_name: str) -> None:
    """Create Directus's tables and admin, then apply the committed schema."""
    settings = load_settings(env_name)
    directus.bootstrap(settings)
    directus.apply_schema(settings)
    click.echo(f"schema {SNAPSHOT_FILE.name} applied")


@directus_group.command("access")
@env_option
@click.option(
    "--check", is_flag=True, help="Change nothing; exit 1 when Directus differs from access.yaml."
)
def access_command(env_name: str, check: bool) -> None:
    """Apply roles, policies, permissions, users and settings (Directus must be running)."""
    from service.integrations.directus import DirectusClient
    from service.stack.access import apply_access

    settings = load_settings(env_name)
    admin = DirectusClient(settings.directus_url, settings.admin_token)
    plan = apply_access(admin, {"service_token": settings.service_token}, check=check)
    if not plan.changes:
        click.echo("access: nothing changed" if not check else "access: no drift")
        return
    for change in plan.changes:
        click.echo(("drift: " if check else "") + change)
    if check:
        sys.exit(1)


@directus_group.command("publish-legal")
@env_option
def publish_legal_command(env_name: str) -> None:
    """Publish the privacy policy and terms kept in service/data/legal (each version once)."""
    from service.integrations.directus import DirectusClient
    from service.legal import publish_legal_documents

    settings = load_settings(env_name)
    created = publish_legal_documents(DirectusClient(settings.directus_url, settings.service_token))
    click.echo("published " + ", ".join(created) if created else "legal documents: nothing new")


@directus_group.command("snapshot")
@env_option
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=str(SNAPSHOT_FILE), show_default=True
)
def snapshot_command(env_name: str, output: str) -> None:
    """Write the running database's schema (take it from PostgreSQL: AIDJ_DB=postgres)."""
    from pathlib import Path

    click.echo(directus.take_snapshot(load_settings(env_name), Path(output)))


@directus_group.command("start")
@env_option
def start_command(env_name: str) -> None:
    """Run Directus alone in the foreground."""
    settings = load_settings(env_name)
    process = directus.start(settings)
    try:
        process.wait()
    except KeyboardInterrupt:
        directus.stop(process)


@click.command("backup")
@env_option
@click.option(
    "-o", "--output", "out_dir", type=click.Path(file_okay=False), default="var/backups",
    show_default=True, help="Folder the backup is written to.",
)  # fmt: skip
@click.option("--keep", type=click.IntRange(min=1), help="Keep only the newest N backups there.")
def backup_command(env_name: str, out_dir: str, keep: int | None) -> None:
    """Back up the database, the uploaded files and the schema into one checked archive."""
    from pathlib import Path

    from service.stack.backup import BackupError, backup

    try:
        click.echo(backup(load_settings(env_name), Path(out_dir), keep=keep))
    except BackupError as exc:
        click.echo(f"aidj backup: {exc}", err=True)
        sys.exit(1)


@click.command("restore")
@env_option
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the environment's database and files.")
def restore_command(env_name: str, archive: str, yes: bool) -> None:
    """Restore a backup onto this environment's (stopped) stack: its database and files."""
    from pathlib import Path

    from service.integrations.directus import DirectusClient, DirectusError
    from service.stack.backup import BackupError, restore

    settings = load_settings(env_name)
    try:
        running = DirectusClient(settings.directus_url, timeout=2, max_attempts=1).ping()
    except DirectusError:
        running = False
    if running:
        click.echo("aidj restore: Directus is running here; stop the stack first", err=True)
        sys.exit(1)
    if not yes:
        click.echo("aidj restore: this replaces the database and files; add --yes", err=True)
        sys.exit(2)
    try:
        manifest = restore(settings, Path(archive))
    except BackupError as exc:
        click.echo(f"aidj restore: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"restored the {manifest.env} backup of {manifest.created_at}: "
        f"{sum(manifest.tables.values())} rows in {len(manifest.tables)} tables, "
        f"{sum(1 for name in manifest.files if name.startswith('uploads/'))} files"
    )
