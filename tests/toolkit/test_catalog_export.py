"""The generated event docs and schemas: in sync with the catalog, deterministic, valid."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from hookline.catalog import TOPICS
from hookline.cli import app
from hookline.devtools.catalog_export import (
    SAMPLE_TIME,
    SAMPLE_TIMEZONE,
    WHEN_NOTES,
    ZONE_NOTES,
    Status,
    export,
    render_all,
    sample_body,
    walk_fields,
)
from hookline.domain.wire import render_body

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_files_match_the_catalog() -> None:
    differing = [r for r in export(REPO_ROOT, check=True) if r.status is not Status.UNCHANGED]
    assert not differing, (
        "generated files are out of date; run `hookline catalog export` and commit:\n"
        + "\n".join(f"{r.status.value}: {r.path}" for r in differing)
    )


def test_rendering_is_byte_deterministic() -> None:
    assert render_all() == render_all()
    for content in render_all().values():
        assert content.endswith(b"\n")
        assert b"\r" not in content


@pytest.mark.parametrize("name", list(TOPICS))
def test_sample_body_validates_against_its_schema_file(name: str) -> None:
    schema = json.loads((REPO_ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    body = json.loads(sample_body(TOPICS[name]))
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
    assert errors == []


@pytest.mark.parametrize("name", list(TOPICS))
def test_schema_file_rejects_a_wrong_topic_and_a_missing_field(name: str) -> None:
    schema = json.loads((REPO_ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    body = json.loads(sample_body(TOPICS[name]))
    assert not validator.is_valid({**body, "topic": "other.topic"})
    first_field = next(iter(TOPICS[name].schema["required"]))
    data = {k: v for k, v in body["data"].items() if k != first_field}
    assert not validator.is_valid({**body, "data": data})


@pytest.mark.parametrize("name", list(TOPICS))
def test_page_shows_the_exact_wire_body_and_every_field(name: str) -> None:
    topic = TOPICS[name]
    page = render_all()[PurePosixPath("docs/events", f"{name}.md")]
    text = page.decode("utf-8")
    wire = render_body(name, topic.sample, SAMPLE_TIME, SAMPLE_TIMEZONE).decode("ascii")
    assert f"```json\n{wire}\n```" in text
    for field in topic.schema["properties"]:
        assert f"| `{field}` |" in text
    assert f"Zone {topic.zone}" in text


def test_nested_fields_are_walked_as_paths() -> None:
    receipt = {f.path: f for f in walk_fields(TOPICS["receipt.receipt_validated"].schema)}
    assert receipt["items"].type == "array of object"
    assert receipt["items[].amount"].type == "number"
    assert receipt["items[].amount"].required
    assert receipt["customer_id"].type == "string or null"
    survey = {f.path: f for f in walk_fields(TOPICS["form.surveycake_submitted"].schema)}
    assert survey["answer.result[].answerAlias"].type == "array of string"
    assert not survey["answer.alias.maac_member_gender"].required
    assert "answer.alias.<key>" in survey
    status = {f.path: f for f in walk_fields(TOPICS["pnp.status_updated"].schema)}
    assert "`sms_callback_timeout`" in status["status"].meaning


def test_pipes_in_patterns_do_not_split_table_cells() -> None:
    page = render_all()[PurePosixPath("docs/events/pnp.status_updated.md")]
    row = next(line for line in page.decode().splitlines() if line.startswith("| `phone_number`"))
    assert "\\|[0-9a-fA-F]{64}" in row
    assert row.replace("\\|", "").count("|") == 5


def test_export_writes_then_reports_unchanged_and_check_finds_drift(tmp_path: Path) -> None:
    first = export(tmp_path)
    assert {r.status for r in first} == {Status.CREATED}
    assert {r.path.as_posix() for r in first} >= {
        "docs/events/README.md",
        "schemas/message.first_open.json",
    }
    assert {r.status for r in export(tmp_path, check=True)} == {Status.UNCHANGED}

    edited = tmp_path / "schemas" / "message.first_open.json"
    edited.write_text("{}\n", encoding="utf-8")
    stale = tmp_path / "docs" / "events" / "retired.topic.md"
    stale.write_text("old\n", encoding="utf-8")
    drift = {r.path.as_posix(): r.status for r in export(tmp_path, check=True)}
    assert drift["schemas/message.first_open.json"] is Status.UPDATED
    assert drift["docs/events/retired.topic.md"] is Status.REMOVED
    assert edited.read_text(encoding="utf-8") == "{}\n"  # check mode writes nothing
    assert stale.exists()

    export(tmp_path)
    assert not stale.exists()
    assert {r.status for r in export(tmp_path, check=True)} == {Status.UNCHANGED}


def test_cli_check_exits_1_listing_differences_then_0_after_export(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["catalog", "export", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "missing   schemas/prize.points_added.json" in result.output
    assert not (tmp_path / "schemas").exists()

    result = runner.invoke(app, ["catalog", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "created   docs/events/prize.points_added.md" in result.output
    result = runner.invoke(app, ["catalog", "export", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 0, result.output
    assert "all up to date" in result.output


def test_every_topic_says_when_it_fires_and_no_note_is_left_over() -> None:
    assert set(WHEN_NOTES) == set(TOPICS)
    assert set(ZONE_NOTES) >= {t.zone for t in TOPICS.values()}
