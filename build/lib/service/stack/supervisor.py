"""Keep the local stack's processes running: one that exits is started again after a pause.

A worker killed by the OOM killer or a crashed scheduler must not take the whole stack down, nor
be restarted in a tight loop: each restart waits longer (``BACKOFF_S``), and a process that then
stays up for ``STABLE_S`` starts again from the shortest pause. Every exit and restart is logged.
Only Ctrl-C or ``aidj stop`` stops everything.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from service.stack.processes import stop_process

log = logging.getLogger(__name__)

#: Pauses before the 1st, 2nd, … restart of a process that keeps exiting (then the last one).
BACKOFF_S: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
#: Up this long, a process counts as healthy again: its next exit waits the shortest pause.
STABLE_S = 60.0


@dataclass
class Supervised:
    """One process of the stack: how to start it, and its current run."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    process: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0  # consecutive restarts since it was last stable
    restart_at: float | None = None


@dataclass
class Supervisor:
    """The stack's processes, restarted with backoff when they exit."""

    backoff_s: Sequence[float] = BACKOFF_S
    stable_s: float = STABLE_S
    clock: Callable[[], float] = time.monotonic
    children: list[Supervised] = field(default_factory=list)

    def add(self, name: str, start: Callable[[], subprocess.Popen[bytes]]) -> None:
        """Start a process and keep it running."""
        self.children.append(Supervised(name, start, start(), self.clock()))

    def adopt(
        self,
        name: str,
        process: subprocess.Popen[bytes],
        start: Callable[[], subprocess.Popen[bytes]],
    ) -> None:
        """Keep a process started elsewhere running, with ``start`` to start it again."""
        self.children.append(Supervised(name, start, process, self.clock()))

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The current run of every process, in the order they were added."""
        return [child.process for child in self.children]

    def check(self) -> bool:
        """Look at every process once: schedule restarts, start what is due; True if any restarted."""
        now = self.clock()
        restarted = False
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.process = child.start()
                    child.started_at, child.restart_at = now, None
                    log.warning("%s restarted (restart %d)", child.name, child.restarts)
                    restarted = True
                continue
            code = child.process.poll()
            if code is None:
                if child.restarts and now - child.started_at >= self.stable_s:
                    child.restarts = 0
                continue
            pause = self.backoff_s[min(child.restarts, len(self.backoff_s) - 1)]
            child.restarts += 1
            child.restart_at = now + pause
            log.error("%s exited with status %s; restarting in %g s", child.name, code, pause)
        return restarted

    def stop_all(self) -> None:
        """Stop every process, the last added first."""
        for child in reversed(self.children):
            child.restart_at = None
            stop_process(child.process)
