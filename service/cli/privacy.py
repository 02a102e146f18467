"""``aidj privacy export|erase|purge``: the operator's side of the privacy centre.

The same code paths as the jobs: ``export`` builds the archive the DJ would get, ``erase --now`` purges
an account without the grace period (the path for a child's account), ``erase`` without ``--now``
starts the 30-day deletion as the DJ's own confirmation does, and ``purge`` runs the daily purge now.
Each is recorded as a privacy request verified by the operator, with its audit trail. Configuration
comes from the environment (as for a worker), or from a local stack with ``--env``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


def register(main: click.Group) -> None:
    """Attach the privacy commands."""
    main.add_command(privacy_group)


def _context(env_name: str | None, *, with_config: bool = False) -> tuple[Any, Any, Any]:
    """(Directus client, Redis, secret) for the environment's configuration."""
    from service.config import load_config
    from service.jobs.queue import redis_connection
    from service.jobs.state import directus_client

    environ = None
    if env_name:
        from service.stack.settings import load_settings

        environ = load_settings(env_name).service_env()
    config = load_config(environ)
    if not config.get("SECRET_KEY") or not config.get("DIRECTUS_SERVICE_TOKEN"):
        raise click.ClickException(
            "FLASK_SECRET_KEY and DIRECTUS_SERVICE_TOKEN must be set (or use --env)"
        )
    return (directus_client(config), redis_connection(config),
            config if with_config else str(config["SECRET_KEY"]))  # fmt: skip


def _user_id(directus: Any, email: str) -> str:
    users = directus.list_items("directus_users", filter={"email": {"_eq": email.strip().lower()}},
                                fields=["id"], limit=1)  # fmt: skip
    if not users:
        raise click.ClickException(f"no account uses {email}")
    return str(users[0]["id"])


env_option = click.option("--env", "env_name", type=click.Choice(["dev", "test", "production"]), default=None,
                          help="Use a local stack's settings instead of the environment.")  # fmt: skip


@click.group("privacy")
def privacy_group() -> None:
    """DJs' privacy rights, run by an operator."""


@privacy_group.command("export")
@click.argument("email")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the zip.")  # fmt: skip
@env_option
def export_command(email: str, output: Path, env_name: str | None) -> None:
    """Write the archive the DJ would get (access/portability) to OUTPUT."""
    from service import privacy
    from service.privacy.export import build_archive

    directus, _, secret = _context(env_name)
    user_id = _user_id(directus, email)
    request = privacy.open_request(directus, secret, user_id, "access", actor="operator")
    request = privacy.verify(directus, secret, request, "operator", actor="operator")
    request = privacy.transition(directus, secret, request, "in_progress", actor="operator")
    manifest = build_archive(directus, user_id, output)
    privacy.transition(directus, secret, request, "complete", actor="operator",
                       changes={"progress": 100}, detail={"files": len(manifest["files"]), "delivered": "operator"})  # fmt: skip
    click.echo(f"wrote {output} ({len(manifest['files'])} entries)")


@privacy_group.command("erase")
@click.argument("email")
@click.option(
    "--now", "at_once", is_flag=True, help="Purge at once, without the 30-day grace period."
)
@env_option
def erase_command(email: str, at_once: bool, env_name: str | None) -> None:
    """Delete an account: with --now, purge it at once and print what went per store."""
    from service import privacy
    from service.privacy.erase import deactivate, erase_user

    directus, connection, secret = _context(env_name)
    user_id = _user_id(directus, email)
    request = privacy.open_request_of(directus, user_id, "deletion") or privacy.open_request(
        directus, secret, user_id, "deletion", actor="operator")  # fmt: skip
    if request["state"] == "received":
        request = privacy.verify(directus, secret, request, "operator", actor="operator")
    if not at_once:
        if request["state"] == "verified":
            request = deactivate(directus, connection, secret, request, actor="operator")
            from service.jobs.queue import enqueue

            enqueue("privacy_notice", request["id"], connection=connection)
        click.echo(f"account deactivated; purge due {str(request.get('expires_at'))[:10]}")
        return
    if request["state"] == "verified":
        request = privacy.transition(directus, secret, request, "in_progress", actor="operator")
    counts = erase_user(directus, connection, secret, user_id, actor="operator", reason="operator")
    privacy.transition(
        directus, secret, request, "complete", actor="operator", detail={"purged": True}
    )
    for store, count in counts.items():
        click.echo(f"{store:34} {count}")


@privacy_group.command("purge")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@env_option
def purge_command(as_json: bool, env_name: str | None) -> None:
    """Run the daily purge now: deletions past their grace period, expired export archives,
    uploaded audio past its retention."""
    from service.privacy.retention import nightly

    directus, connection, config = _context(env_name, with_config=True)
    counts = nightly(directus, connection, config)
    if as_json:
        json.dump(counts, sys.stdout, indent=2)
        click.echo()
        return
    for store, count in counts.items():
        click.echo(f"{store:34} {count}")
