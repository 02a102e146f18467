"""The ``aidj`` command line: one group, one module per area."""

from __future__ import annotations

import logging

import click


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """AIDJSets: turn a DJ's playlist into a set that mixes."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    """Attach the subcommands that exist; each area owns its own module."""
    import importlib

    for module_name in ("library", "sets", "stack"):
        try:
            module = importlib.import_module(f"service.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"service.cli.{module_name}":
                raise
            continue
        module.register(main)


_register()
