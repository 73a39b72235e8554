"""Importing the receiver library must not import the hookline server.

Receivers ``pip install hookline`` to verify webhooks inside their own app; pulling in
SQLAlchemy, aiohttp or FastAPI on import would cost them start-up time, memory and
surprises. A fresh interpreter is the only honest place to check what gets imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

FORBIDDEN = [
    "sqlalchemy",
    "aiohttp",
    "fastapi",
    "starlette",
    "flask",
    "django",
    "pydantic_settings",
    "cryptography",
    "hookline.api",
    "hookline.store",
    "hookline.dispatch",
    "hookline.services",
    "hookline.domain",
    "hookline.catalog",
    "hookline.config",
    "hookline.devtools",
    "rich",
]


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


def test_import_hookline_receiver_loads_no_server_module() -> None:
    modules = imported_after("import hookline.receiver")
    assert "hookline.receiver" in modules and "pydantic" in modules
    loaded = sorted(m for m in modules for f in FORBIDDEN if m == f or m.startswith(f + "."))
    assert loaded == []


def test_a_framework_helper_loads_only_its_own_framework() -> None:
    modules = imported_after("import hookline.receiver.flask")
    assert "flask" in modules
    assert not {"fastapi", "django", "sqlalchemy", "aiohttp", "hookline.store"} & modules
