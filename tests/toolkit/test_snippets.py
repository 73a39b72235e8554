"""The verification snippets of docs/receiving.md, run against requests hookline signs.

Each snippet is a small program (``WEBHOOK_SECRET=... <run> BODY_FILE HEADERS_FILE``),
so the test runs the very file the docs show. Python and Node.js must run everywhere
(Node.js is part of the toolchain); Go and PHP run where installed and skip otherwise,
except under CI=true, where .ci/run installs them and a missing one fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookline.catalog import TOPICS
from hookline.domain import wire
from hookline.domain.secrets import generate_share_secret

DOCS = Path(__file__).resolve().parents[2] / "docs"
SNIPPETS = DOCS / "snippets"
EMBEDDED = re.compile(
    r"<!-- snippet: snippets/(?P<name>[\w.]+) -->\n```(?P<lang>\w+)\n(?P<code>.*?)^```$",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Snippet:
    file: str
    tool: str | None
    """The executable it needs (``None``: this test's own Python)."""
    required: bool
    """A missing tool fails the test instead of skipping it."""
    maac_switch: tuple[str, str]
    """The line that allows MAAC-only requests, as shipped and switched on."""
    command: Callable[[Path, Path], list[str]]
    """The command line running the snippet file, given it and a scratch directory."""


def _go(path: Path, scratch: Path) -> list[str]:
    # `go run` compiles on every call; build once per snippet variant instead.
    binary = scratch / "verify-go"
    if not binary.exists():
        subprocess.run(["go", "build", "-o", str(binary), str(path)], check=True, cwd=scratch)
    return [str(binary)]


LANGUAGES = {
    "python": Snippet(
        "verify.py",
        None,
        True,
        ("ALLOW_MAAC_ONLY = False", "ALLOW_MAAC_ONLY = True"),
        lambda path, _scratch: [sys.executable, str(path)],
    ),
    "python-hookline": Snippet(
        "verify_hookline.py",
        None,
        True,
        ('SCHEMES: set[str] | None = {"standard"}', "SCHEMES: set[str] | None = None"),
        lambda path, _scratch: [sys.executable, str(path)],
    ),
    "node": Snippet(
        "verify.js",
        "node",
        True,
        ("const ALLOW_MAAC_ONLY = false;", "const ALLOW_MAAC_ONLY = true;"),
        lambda path, _scratch: ["node", str(path)],
    ),
    "go": Snippet(
        "verify.go",
        "go",
        False,
        ("const allowMAACOnly = false", "const allowMAACOnly = true"),
        _go,
    ),
    "php": Snippet(
        "verify.php",
        "php",
        False,
        ("const ALLOW_MAAC_ONLY = false;", "const ALLOW_MAAC_ONLY = true;"),
        lambda path, _scratch: ["php", str(path)],
    ),
}


@dataclass(frozen=True)
class Request:
    body: bytes
    headers: dict[str, str]

    def without(self, *prefixes: str) -> Request:
        kept = {k: v for k, v in self.headers.items() if not k.lower().startswith(prefixes)}
        return Request(self.body, kept)

    def tampered(self) -> Request:
        changed = self.body.replace(b'"message_id": 5521', b'"message_id": 5522')
        assert changed != self.body
        return Request(changed, self.headers)


def sign(*secrets: str, ago: float = 0) -> Request:
    """A ``message.first_open`` request exactly as hookline's worker signs it."""
    sent_at = datetime.now(UTC) - timedelta(seconds=ago)
    topic = TOPICS["message.first_open"]
    body = wire.render_body(topic.name, topic.sample, sent_at, "Asia/Taipei")
    headers = wire.delivery_headers(
        secrets=secrets, idempotency_key=wire.new_idempotency_key(), body=body, sent_at=sent_at
    )
    return Request(body, headers)


class Runner:
    """Runs one snippet (optionally with MAAC-only requests allowed) on a request."""

    def __init__(self, snippet: Snippet, scratch: Path, *, allow_maac_only: bool) -> None:
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        source = (SNIPPETS / snippet.file).read_text(encoding="utf-8")
        shipped, switched = snippet.maac_switch
        assert source.count(shipped) == 1, f"{snippet.file} lost its line {shipped!r}"
        path = scratch / snippet.file
        path.write_text(source.replace(shipped, switched) if allow_maac_only else source)
        self.command = snippet.command(path, scratch)

    def run(self, request: Request, secret: str) -> subprocess.CompletedProcess[str]:
        (self.scratch / "body").write_bytes(request.body)
        (self.scratch / "headers.json").write_text(json.dumps(request.headers))
        return subprocess.run(
            [*self.command, str(self.scratch / "body"), str(self.scratch / "headers.json")],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "WEBHOOK_SECRET": secret},
            check=False,
        )

    def accepts(self, request: Request, secret: str) -> bool:
        done = self.run(request, secret)
        if done.returncode == 0:
            assert done.stdout.startswith("verified"), done.stdout + done.stderr
            return True
        assert done.returncode == 1, f"crashed ({done.returncode}):\n{done.stdout}{done.stderr}"
        assert "rejected" in done.stderr, done.stderr
        return False


def _tool_available(language: str, snippet: Snippet) -> None:
    if snippet.tool is None or shutil.which(snippet.tool):
        return
    if snippet.required or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(
            f"`{snippet.tool}` is not on PATH: the {language} snippet of docs/receiving.md "
            f"must be tested, so install {snippet.tool} to run the tests (.ci/run does)"
        )
    pytest.skip(f"`{snippet.tool}` is not installed; the {language} snippet is not run")


@pytest.fixture(params=list(LANGUAGES), scope="module")
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def runner(language: str, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    snippet = LANGUAGES[language]
    _tool_available(language, snippet)
    return Runner(snippet, tmp_path_factory.mktemp(language), allow_maac_only=False)


@pytest.fixture(scope="module")
def maac_runner(language: str, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    snippet = LANGUAGES[language]
    _tool_available(language, snippet)
    return Runner(snippet, tmp_path_factory.mktemp(f"{language}-maac"), allow_maac_only=True)


SECRET = generate_share_secret()


def test_accepts_a_request_signed_by_hookline(runner: Runner) -> None:
    assert runner.accepts(sign(SECRET), SECRET)


def test_rejects_a_tampered_body(runner: Runner) -> None:
    assert not runner.accepts(sign(SECRET).tampered(), SECRET)


def test_rejects_another_secret(runner: Runner) -> None:
    assert not runner.accepts(sign(SECRET), generate_share_secret())


def test_rejects_a_stale_timestamp(runner: Runner) -> None:
    assert not runner.accepts(sign(SECRET, ago=600), SECRET)


def test_header_names_are_case_insensitive(runner: Runner) -> None:
    request = sign(SECRET)
    lowered = Request(request.body, {k.lower(): v for k, v in request.headers.items()})
    assert runner.accepts(lowered, SECRET)


def test_rotation_grace_period_accepts_old_and_new_secret(runner: Runner) -> None:
    new = generate_share_secret()
    request = sign(new, SECRET)  # hookline lists the current secret first
    assert len(request.headers["webhook-signature"].split()) == 2
    assert runner.accepts(request, SECRET)
    assert runner.accepts(request, new)


def test_refuses_maac_only_headers_unless_switched_on(runner: Runner, maac_runner: Runner) -> None:
    maac_only = sign(SECRET).without("webhook-")
    assert "CrescLab-Signature" in maac_only.headers
    assert not runner.accepts(maac_only, SECRET)
    assert maac_runner.accepts(maac_only, SECRET)
    assert not maac_runner.accepts(maac_only.tampered(), SECRET)
    assert not maac_runner.accepts(maac_only, generate_share_secret())
    assert maac_runner.accepts(sign(SECRET), SECRET)  # the timestamped check still applies
    assert not maac_runner.accepts(sign(SECRET, ago=600), SECRET)


def test_every_snippet_is_embedded_verbatim_in_receiving_md() -> None:
    text = (DOCS / "receiving.md").read_text(encoding="utf-8")
    embedded = [(m["name"], m["code"]) for m in EMBEDDED.finditer(text)]
    files = sorted(p.name for p in SNIPPETS.iterdir() if p.is_file())
    assert sorted(name for name, _ in embedded) == files
    for name, code in embedded:
        assert code == (SNIPPETS / name).read_text(encoding="utf-8"), (
            f"docs/receiving.md shows a different {name} than docs/snippets/{name}"
        )
    assert {s.file for s in LANGUAGES.values()} == set(files), "every snippet is run"


def test_receiving_md_links_resolve() -> None:
    text = (DOCS / "receiving.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?!https?://|#)[^)#]+)(?:#[^)]*)?\)", text)
    assert "receiver-library.md" in targets and "events/README.md" in targets
    missing = [t for t in targets if not (DOCS / t).exists()]
    assert missing == []
