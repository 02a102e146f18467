"""The DJ domain stays pure: no web framework, queue, HTTP, Redis or Directus code in ``service/dj``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SERVICE_DJ = Path(__file__).resolve().parents[2] / "service" / "dj"
FORBIDDEN = (
    "flask",
    "rq",
    "requests",
    "redis",
    "werkzeug",
    "psycopg",
    "google",
    "litellm",
    "service.integrations",
    "service.web",
    "service.jobs",
    "service.ai",
    "service.cli",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_forbidden_imports_in_source() -> None:
    offenders = {
        f"{path.relative_to(SERVICE_DJ)}: {name}"
        for path in SERVICE_DJ.rglob("*.py")
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    }
    assert not offenders


def test_importing_the_domain_loads_none_of_them() -> None:
    modules = [f"service.dj.{p.stem}" for p in SERVICE_DJ.glob("*.py") if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or "
        f"any(m.startswith(b + '.') or m == b for b in {FORBIDDEN!r})]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=SERVICE_DJ.parents[1],
    )
    assert out.stdout.strip() == ""
