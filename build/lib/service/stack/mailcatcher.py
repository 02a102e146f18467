"""The local stack's mail server: every message the stack sends is caught, never delivered.

``make run`` starts it on ``SMTP_PORT`` (1025): Directus (password resets) and the service
(verification links, receipts) send to it. Each message is kept as an ``.eml`` file in the mail
folder (``var/dev/mail``), logged in one line with the links it holds, and shown on the site at
``/dev/mail`` while the stack runs in the ``dev`` environment. aiosmtpd is a development
dependency: production sends through a real mail server.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import re
import signal
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

log = logging.getLogger(__name__)

_LINK = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True)
class CaughtMail:
    """One caught message as the mail page shows it."""

    name: str  # the file's name in the mail folder
    to: str
    subject: str
    date: str
    text: str
    links: tuple[str, ...]


def read_mail(path: Path) -> CaughtMail:
    """A caught message from its ``.eml`` file: recipients, subject, plain text and links."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    links = tuple(dict.fromkeys(u.replace("&amp;", "&") for u in _LINK.findall(text)))
    return CaughtMail(
        name=path.name,
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        date=str(message.get("Date", "")),
        text=text,
        links=links,
    )


def caught_mail(folder: Path, limit: int = 50) -> list[CaughtMail]:
    """The newest caught messages first."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    return [read_mail(path) for path in files]


class _Keeper:
    """aiosmtpd handler: write each message to the mail folder and log it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self._lock:
            self._count += 1
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{self._count:04d}.eml"
        path = self.folder / name
        path.write_bytes(envelope.content)  # type: ignore[attr-defined]
        caught = read_mail(path)
        log.info("caught mail to %s: %s %s", caught.to, caught.subject, " ".join(caught.links))
        return "250 Message accepted (caught, not delivered)"


def serve(folder: Path, port: int, host: str = "127.0.0.1") -> None:
    """Catch mail on ``host:port`` into ``folder`` until SIGTERM or Ctrl-C."""
    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keeper(folder), hostname=host, port=port)
    controller.start()
    log.info("catching mail on %s:%d into %s", host, port, folder)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def main() -> None:
    """``python -m service.stack.mailcatcher --port 1025 --dir var/dev/mail``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    serve(args.dir, args.port)


if __name__ == "__main__":
    main()
