"""The service is a package: installed from its wheel into a clean environment away from the
repository, it finds its schema, access, event map and legal texts, checks Directus's access and
answers /readyz against the test stack."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from service.stack.settings import REPO_ROOT, free_port

pytestmark = pytest.mark.stack

DATA_FILES = ("service/data/events.json", "service/data/schema/snapshot.yaml",
              "service/data/schema/access.yaml", "service/data/legal/privacy.md",
              "service/web/templates/base.html", "service/web/static/site.css")  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv holding only our wheel; the dependencies are borrowed from the test venv's site
    packages, listed after its own (so no editable install or checkout is seen)."""
    work = tmp_path_factory.mktemp("packaging")
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "service", source / "service",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"),
         str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    wheel = next((work / "dist").glob("aidjsets-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(DATA_FILES) <= names, set(DATA_FILES) - names
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = next((venv / "lib").glob("python3*/site-packages"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    borrowed = [p for p in site.getsitepackages() if "site-packages" in p]
    (target / "zz_borrowed_dependencies.pth").write_text("\n".join(borrowed) + "\n")
    return venv


def _env(stack) -> dict[str, str]:
    settings = stack.settings
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "AIDJ_VAR_DIR": str(settings.var_dir),
        "DIRECTUS_URL": settings.directus_url,
        "DIRECTUS_SECRET": settings.secret,
        "DIRECTUS_ADMIN_PASSWORD": settings.admin_password,
        "DIRECTUS_ADMIN_TOKEN": settings.admin_token,
        "DIRECTUS_SERVICE_TOKEN": settings.service_token,
        "HOOK_SECRET": settings.hook_secret,
        "FLASK_SECRET_KEY": settings.flask_secret_key,
        "REDIS_URL": settings.redis_url,
        "AIDJ_ENV": "production",
    }


def test_the_installed_package_uses_its_own_files_not_the_checkout(installed, tmp_path) -> None:
    code = (
        "import service, service.stack.settings as s, service.jobs.events as e;"
        "print(service.__file__); print(s.SNAPSHOT_FILE); print(e.EVENT_MAP_FILE)"
    )
    out = subprocess.run(
        [str(installed / "bin" / "python"), "-c", code],
        cwd=tmp_path, capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    ).stdout.split()  # fmt: skip
    assert all(str(installed) in line for line in out), out
    assert all(Path(line).exists() for line in out)


def test_the_installed_aidj_checks_access_against_the_stack(installed, stack, tmp_path) -> None:
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "service.cli", "directus", "access", "--check",
         "--env", "production"],
        cwd=tmp_path, capture_output=True, text=True, env=_env(stack),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "access: no drift"


def test_the_installed_web_app_is_ready_against_the_stack(installed, stack, tmp_path) -> None:
    port = free_port()
    web = subprocess.Popen(
        [str(installed / "bin" / "python"), "-m", "gunicorn", "--config",
         "python:service.web.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
         "service.web.app:create_app()"],
        cwd=tmp_path, env=_env(stack), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise
                time.sleep(0.3)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"directus": "ok", "redis": "ok", "schema": "ok"}
    finally:
        web.terminate()
        web.wait(timeout=20)
