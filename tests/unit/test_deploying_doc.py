"""The deployment guide names only commands, options and variables that exist.

A guide is copied line by line into unit files and compose files; a renamed option or
a misspelt variable there fails at three in the morning. Every ``hookline ...`` command
line in the guide's code and in ``deploy/`` is walked through the Typer app's own
command tree, and every ``HOOKLINE_*`` name is looked up among the settings
(``env_prefix`` ``HOOKLINE_``) and the options' own environment variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from hookline.cli import app
from hookline.config import Settings

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "deploying.md"
GUIDES = [
    GUIDE,
    *(ROOT / "docs" / f"{name}.md" for name in ("metrics", "alerts", "portal", "openapi")),
]
DEPLOY_FILES = [
    ROOT / "deploy" / "docker-compose.yml",
    ROOT / "deploy" / "nginx.conf",
    ROOT / "deploy" / "Dockerfile",
]
COMMAND = re.compile(r"(?:^|(?<=[\s`'\"(])|(?<=/bin/))hookline[ \t]+(?=[a-z-])([^`\n]*)")
VARIABLE = re.compile(r"\bHOOKLINE_[A-Z0-9_]+")
SHELL_BREAKS = re.compile(r"\s(?:&&|\|\||\||;|#)\s?|[\"']\]?$")


def tree() -> Any:
    """The app's click command tree (Typer vendors its own click: read it by shape)."""
    return typer.main.get_command(app)


def is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def code_of(markdown: str) -> str:
    """Fenced blocks and inline code spans: where a reader copies commands from."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.M | re.S)
    outside = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.M | re.S)
    return "\n".join([*fenced, *re.findall(r"`([^`\n]+)`", outside)])


def command_lines(text: str) -> Iterator[str]:
    joined = re.sub(r"\\\n\s*", " ", text)  # shell line continuations
    for found in COMMAND.finditer(joined):
        yield SHELL_BREAKS.split(found.group(1))[0].strip()


def command_problems(line: str) -> list[str]:
    """What in ``hookline <line>`` the command line would refuse."""
    command, tokens = tree(), line.split()
    while tokens:
        token = tokens.pop(0)
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            param = next((p for p in command.params if name in (*p.opts, *p.secondary_opts)), None)
            if param is None:
                return [f"hookline {line}: {command.name} has no option {name}"]
            takes_value = param.param_type_name == "option" and not param.is_flag
            if takes_value and "=" not in token and tokens:
                tokens.pop(0)
        elif is_group(command):
            sub = command.commands.get(token)
            if sub is None:
                return [f"hookline {line}: {command.name} has no command {token!r}"]
            command = sub
        # else: a positional argument of a leaf command
    if is_group(command):
        return [f"hookline {line}: names a group, not a command"]
    return []


def known_variables() -> set[str]:
    names = {f"HOOKLINE_{field.upper()}" for field in Settings.model_fields}

    def walk(command: Any) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            names.update([envvar] if isinstance(envvar, str) else envvar or [])
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(tree())
    return names


def sources() -> list[tuple[str, str, str]]:
    """(name, text to find commands in, whole text to find variables in)."""
    found = []
    for path in GUIDES:
        guide = path.read_text(encoding="utf-8")
        found.append((path.name, code_of(guide), guide))
    for path in DEPLOY_FILES:
        text = path.read_text(encoding="utf-8")
        found.append((path.name, text, text))
    return found


@pytest.mark.parametrize(("name", "code", "whole"), sources(), ids=lambda v: str(v)[:20])
def test_every_command_and_variable_named_exists(name: str, code: str, whole: str) -> None:
    lines = list(command_lines(code))
    problems = [p for line in lines for p in command_problems(line)]
    unknown = sorted(set(VARIABLE.findall(whole)) - known_variables())
    assert not problems, f"{name}: {problems}"
    assert not unknown, f"{name} names variables hookline does not read: {unknown}"


def test_the_guide_names_the_commands_it_is_about() -> None:
    """The parsing above finds what it should: a guide it could not read would pass."""
    lines = set(command_lines(code_of(GUIDE.read_text(encoding="utf-8"))))
    assert {"serve --no-worker --host 0.0.0.0 --port 8000", "worker", "migrate"} <= lines
    compose = set(command_lines(DEPLOY_FILES[0].read_text(encoding="utf-8")))
    assert "worker --metrics-port 9101 --metrics-host 0.0.0.0" in compose


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("serve --no-workers", "has no option --no-workers"),
        ("work", "has no command 'work'"),
        ("admin create-usr --email e", "has no command 'create-usr'"),
        ("admin", "names a group"),
    ],
)
def test_a_wrong_command_is_caught(line: str, why: str) -> None:
    (problem,) = command_problems(line)
    assert why in problem


def test_a_wrong_variable_is_caught() -> None:
    assert "HOOKLINE_SECRET_KEY" in known_variables()
    assert "HOOKLINE_LISTEN_SECRET" in known_variables()  # an option's own variable
    assert "HOOKLINE_SECRETKEY" not in known_variables()
