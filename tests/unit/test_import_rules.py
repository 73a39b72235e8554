"""Who imports whom: the faces stay apart, and the worker and admin never load FastAPI.

``hookline worker`` and ``hookline admin`` run where no web server does; pulling in
FastAPI would cost them start-up time and memory for nothing. A fresh interpreter is the
only honest place to check what an import loads. Which package imports which is read
from the source, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hookline

PACKAGE = Path(hookline.__file__).parent
WEB_FRAMEWORK = ("fastapi", "starlette")


def imported_after(statement: str) -> set[str]:
    script = textwrap.dedent(
        f"""
        import json, sys
        {statement}
        print(json.dumps(sorted(sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def web_framework_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules for f in WEB_FRAMEWORK if m == f or m.startswith(f + "."))


@pytest.mark.parametrize(
    "module",
    ["hookline.dispatch.worker", "hookline.bootstrap", "hookline.cli", "hookline.supervisor"],
)
def test_the_worker_side_loads_no_web_framework(module: str) -> None:
    modules = imported_after(f"import {module}")
    assert module in modules
    assert web_framework_in(modules) == []


def test_the_app_does_load_it() -> None:
    """The check above can fail: the ASGI app's import shows what it looks for."""
    assert "fastapi" in web_framework_in(imported_after("import hookline.app"))


def hookline_imports(package: str) -> set[str]:
    """Every ``hookline.*`` module the package's source imports, at any depth."""
    found: set[str] = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("hookline.")}


def reaches(imports: set[str], package: str) -> list[str]:
    prefix = f"hookline.{package}"
    return sorted(m for m in imports if m == prefix or m.startswith(prefix + "."))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("api", ("web", "dispatch", "app", "bootstrap")),
        ("web", ("api", "dispatch", "store", "app", "bootstrap")),
        ("http", ("api", "web", "dispatch", "store", "app", "bootstrap")),
    ],
)
def test_the_faces_import_neither_each_other_nor_dispatch(
    package: str, forbidden: tuple[str, ...]
) -> None:
    imports = hookline_imports(package)
    assert imports, f"no imports found under hookline/{package}"
    assert {other: reaches(imports, other) for other in forbidden} == {
        other: [] for other in forbidden
    }
