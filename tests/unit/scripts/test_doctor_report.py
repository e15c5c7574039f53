"""The doctor's table and JSON, and its alarm hints against template.yaml's alarms."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scripts.doctor.checks import ALARM_HINTS, CheckResult, Status, alarm_hint
from scripts.doctor.cli import parse_args
from scripts.doctor.report import render_json, render_table, summary
from scripts.sam_template import DeployedTemplate

ROOT = Path(__file__).resolve().parents[3]

RESULTS = [
    CheckResult("kms key", "alias/a", Status.PASS, "enabled"),
    CheckResult("rotation database", "a-secret", Status.FAIL, "never rotated", "rotate it"),
    CheckResult("alarm", "a-alarm", Status.WARN, "INSUFFICIENT_DATA"),
    CheckResult("cloudtrail", "-", Status.SKIP, "no trail in dev"),
]


def test_a_failure_is_followed_by_its_hint() -> None:
    # When
    lines = render_table(RESULTS, title="t").splitlines()
    # Then
    failure = next(i for i, line in enumerate(lines) if "never rotated" in line)
    assert lines[failure + 1].strip() == "hint: rotate it"


def test_the_summary_counts_each_status_and_gives_the_verdict() -> None:
    # When / Then
    assert summary(RESULTS) == "FAILED: 1 passed, 1 failed, 1 warnings, 1 skipped"
    assert summary(RESULTS[:1]).startswith("READY: ")


def test_json_carries_the_verdict() -> None:
    # When
    document = json.loads(render_json(RESULTS))
    # Then
    assert document["ok"] is False
    assert document["checks"][1]["hint"] == "rotate it"


def test_long_targets_are_shortened_from_the_left() -> None:
    # Given
    row = CheckResult("secret", "x" * 80 + "-secret-database", Status.PASS, "ok")
    # When
    table = render_table([row], title="t")
    # Then
    assert "…" in table
    assert "-secret-database" in table


def test_every_alarm_of_the_template_has_its_own_hint_and_runbook_section() -> None:
    # Given every alarm prod deploys (prod has them all)
    alarms = [
        r.name for r in DeployedTemplate.for_environment("prod").resources("AWS::CloudWatch::Alarm")
    ]
    runbook = (ROOT / "docs" / "operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbook, flags=re.MULTILINE)
    }
    # Then
    assert alarms
    for name in alarms:
        assert name
        hint = alarm_hint(name)
        assert "#alarms" not in hint, f"{name} has no specific hint"
        anchor = hint.rsplit("#", 1)[1].rstrip(")")
        assert anchor in anchors, f"docs/operations.md has no section #{anchor}"
    assert {keyword for keyword, _ in ALARM_HINTS} <= anchors


def test_the_cli_needs_an_environment_and_reads_its_options() -> None:
    # When
    config = parse_args(["--env", "stg", "--app", "shop", "--output", "json"])
    # Then
    assert (config.environment, config.app_name, config.output) == ("stg", "shop", "json")
