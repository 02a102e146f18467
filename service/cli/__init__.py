"""The ``aidj`` command line: one group, one module per area, each imported only when needed.

A command's module, and everything it imports, is loaded when that command runs: ``aidj set build``
never loads Flask, Redis, RQ or the local stack, so its time budget goes to the set, not to start-up.
"""

from __future__ import annotations

import importlib
import logging
import os
import time

import click

#: The module (under ``service.cli``) that registers each command. A command missing here is still
#: found, by loading every module: slower, never wrong.
COMMAND_MODULES: dict[str, str] = {
    "inspect": "library",
    "playlist": "library",
    "set": "sets",
    "run": "stack",
    "stop": "stack",
    "directus": "stack",
    "backup": "stack",
    "restore": "stack",
    "paddle": "billing",
    "analyze": "analysis",
    "privacy": "privacy",
}
#: Every module that registers commands.
MODULES: tuple[str, ...] = ("library", "sets", "stack", "billing", "analysis", "privacy")


#: A process older than this when a command runs was not started for the command (a test runner, a
#: long-lived host): its budget counts from now.
_FRESH_PROCESS_S = 10.0


def process_started_at() -> float:
    """``time.monotonic()`` at the moment this command's process started, so that a time budget
    covers start-up too; now, where /proc cannot say or the process is older than the command."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start, in ticks
    except (OSError, ValueError, IndexError):
        return now
    return now - age if 0.0 <= age < _FRESH_PROCESS_S else now


def _commands_of(module_name: str) -> dict[str, click.Command]:
    """The commands one module registers."""
    module = importlib.import_module(f"service.cli.{module_name}")
    group = click.Group()
    module.register(group)
    return dict(group.commands)


class _LazyGroup(click.Group):
    """A group that imports a command's module only when the command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name (this imports every module: only ``--help`` lists them)."""
        names = set(super().list_commands(ctx))
        for module_name in MODULES:
            names |= set(_commands_of(module_name))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing only its own module when the table knows it."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        module_names = [COMMAND_MODULES[cmd_name]] if cmd_name in COMMAND_MODULES else MODULES
        for module_name in module_names:
            command = _commands_of(module_name).get(cmd_name)
            if command is not None:
                self.commands[cmd_name] = command
                return command
        return None


@click.group(cls=_LazyGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """AIDJSets: turn a DJ's playlist into a set that mixes."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
