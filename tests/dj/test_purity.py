"""The DJ domain stays pure: no web framework, queue, HTTP, Redis, Directus or other service code.

Both checks cover every module of ``service/dj``, subpackages included (``sequencing/`` and any
added later): the source is read for import statements, and importing every module in a fresh
interpreter must load none of the forbidden packages (an indirect import counts too).
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import service.dj

SERVICE_DJ = Path(service.dj.__file__).resolve().parent
FORBIDDEN_PACKAGES = (
    "flask",
    "rq",
    "requests",
    "redis",
    "werkzeug",
    "psycopg",
    "google",
    "litellm",
)


def _forbidden(module: str) -> bool:
    """Third-party packages above, and any part of the service outside ``service.dj``."""
    top = module.split(".")[0]
    if top in FORBIDDEN_PACKAGES:
        return True
    return (
        top == "service"
        and module not in ("service", "service.dj")
        and not module.startswith("service.dj.")
    )


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _domain_modules() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(service.dj.__path__, prefix="service.dj.")]


def test_every_subpackage_is_checked() -> None:
    modules = _domain_modules()
    assert "service.dj.sequencing.heuristic" in modules
    assert len(modules) == len(list(SERVICE_DJ.rglob("*.py"))) - 1  # all but service/dj/__init__


def test_no_forbidden_imports_in_source() -> None:
    offenders = {
        f"{path.relative_to(SERVICE_DJ)}: {name}"
        for path in SERVICE_DJ.rglob("*.py")
        for name in _imports(path)
        if _forbidden(name)
    }
    assert not offenders


def test_importing_the_domain_loads_none_of_them() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {_domain_modules()!r}: importlib.import_module(m)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=SERVICE_DJ.parents[1],
    )
    loaded = out.stdout.split()
    assert [m for m in loaded if _forbidden(m)] == []
