"""The local stack looks after itself: mail is caught and readable, crashed processes come back."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.integrations.mail import MailClient, MailSettings, OutgoingMail
from service.stack.mailcatcher import caught_mail
from service.stack.settings import REPO_ROOT, free_port
from service.stack.supervisor import Supervisor
from service.web.app import create_app


@pytest.fixture
def mail_catcher(tmp_path: Path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.stack.mailcatcher", "--port", str(port),
         "--dir", str(tmp_path)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = MailClient(MailSettings("127.0.0.1", port, "AIDJSets <no-reply@example.com>"))
    deadline = time.monotonic() + 20
    while True:
        try:
            client.send(OutgoingMail("probe@example.com", "probe", "ready?"))
            break
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.2)
    yield client, tmp_path
    process.terminate()
    process.wait(timeout=10)


def test_mail_the_local_stack_sends_is_caught_and_shown_with_its_links(mail_catcher) -> None:
    client, folder = mail_catcher
    link = "http://127.0.0.1:5000/verify-email?token=abc.def"
    client.send(OutgoingMail("new-dj@example.com", "Confirm your email", f"Open {link}\nThanks"))

    caught = next(m for m in caught_mail(folder) if m.subject == "Confirm your email")
    assert caught.to == "new-dj@example.com" and caught.links == (link,)

    app = create_app({"AIDJ_ENV": "dev", "MAIL_CATCHER_DIR": str(folder), "SECRET_KEY": "x"})
    page = app.test_client().get("/dev/mail")
    assert page.status_code == 200
    assert f'<a href="{link}">' in page.text and "new-dj@example.com" in page.text


def test_production_has_no_mail_page(tmp_path: Path) -> None:
    app = create_app({"AIDJ_ENV": "test", "MAIL_CATCHER_DIR": str(tmp_path), "SECRET_KEY": "x"})
    assert app.test_client().get("/dev/mail").status_code == 404


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _exits_at_once() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.exit(3)"], start_new_session=True
    )


def _wait_exited(supervisor: Supervisor) -> None:
    for process in supervisor.processes:
        process.wait(timeout=10)


def test_a_crashed_worker_is_restarted_with_growing_pauses_and_logged(caplog) -> None:
    clock = _Clock()
    supervisor = Supervisor(backoff_s=(1.0, 5.0), stable_s=60.0, clock=clock)
    supervisor.add("worker", _exits_at_once)
    restarts = []
    for step in range(12):
        _wait_exited(supervisor)
        if supervisor.check():
            restarts.append(clock.now)
        clock.now = step + 1.0
    # 1 s after the first exit; the next exit is seen a second later and waits 5 s.
    assert restarts == [1.0, 7.0]
    assert "worker exited with status 3; restarting in 1 s" in caplog.text
    assert "worker restarted" in caplog.text
    supervisor.stop_all()


def test_a_process_that_stays_up_gets_the_short_pause_again() -> None:
    clock = _Clock()
    supervisor = Supervisor(backoff_s=(1.0, 5.0), stable_s=60.0, clock=clock)
    long_lived = lambda: subprocess.Popen(  # noqa: E731
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    supervisor.add("cron", long_lived)
    child = supervisor.children[0]
    child.restarts = 4  # it had been crashing
    clock.now = 61.0
    supervisor.check()
    assert child.restarts == 0
    supervisor.stop_all()
    assert child.process.poll() is not None
