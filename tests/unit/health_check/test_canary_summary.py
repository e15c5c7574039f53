"""The JSON summary the handler returns: per secret ok, latency and error type."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from canary_summary import SUMMARY_VERSION, summarize
from canary_targets import SecretKind, SecretTarget
from probe import (
    CanaryReport,
    CanaryRun,
    CheckFailure,
    DiscoveryResult,
    LoginResult,
    RetrievalResult,
    RotationResult,
    SecretReport,
)

DB = SecretTarget("app-dev-secret-database", "app-dev-secret-database", SecretKind.DATABASE)
JWT = SecretTarget("app-dev-secret-jwt", "app-dev-secret-jwt", SecretKind.JWT)
REFUSED = CheckFailure("DatabaseAuthError", "127.0.0.1:3306 refused the login of 'app'")


def run(*reports: SecretReport, discovery: DiscoveryResult | None = None) -> CanaryRun:
    return CanaryRun(
        report=CanaryReport(reports=reports, duration_ms=12.34567),
        discovery=discovery or DiscoveryResult(enabled=False),
    )


def test_a_refused_login_is_the_secrets_error_and_fails_the_run() -> None:
    report = SecretReport(
        target=DB,
        retrieval=RetrievalResult(ok=True, latency_ms=3.14159),
        rotation=RotationResult(
            enabled=True,
            days_since_last_rotation=2.0,
            overdue=False,
            next_rotation=datetime(2026, 12, 20, tzinfo=UTC),
        ),
        login=LoginResult(ok=False, error=REFUSED),
    )

    summary = summarize(run(report), environment="prod")

    assert summary["version"] == SUMMARY_VERSION
    assert (summary["ok"], summary["secrets_checked"], summary["secrets_failed"]) == (False, 1, 1)
    assert summary["rotations_overdue"] == 0
    (entry,) = summary["secrets"]
    assert entry["secret_name"] == DB.name
    assert entry["latency_ms"] == 3.142
    assert entry["error"] == "DatabaseAuthError"
    assert entry["retrieval"] == {"ok": True, "error": None}
    assert entry["database_login"] == {
        "ok": False,
        "latency_ms": None,
        "error": "DatabaseAuthError",
    }
    assert entry["rotation"]["next_rotation"] == "2026-12-20T00:00:00Z"


def test_a_discovery_failure_fails_the_run_even_when_every_secret_is_fine() -> None:
    ok = SecretReport(target=JWT, retrieval=RetrievalResult(ok=True, latency_ms=1.0))
    failed = DiscoveryResult(enabled=True, error=CheckFailure("SecretAccessDeniedError", "denied"))

    summary = summarize(run(ok, discovery=failed), environment="dev")

    assert summary["ok"] is False
    assert summary["secrets_failed"] == 0
    assert summary["discovery"]["error"] == "SecretAccessDeniedError"


def test_the_summary_is_plain_json() -> None:
    ok = SecretReport(target=JWT, retrieval=RetrievalResult(ok=True, latency_ms=1.0))

    summary = summarize(run(ok), environment="dev")

    assert json.loads(json.dumps(summary)) == summary
    assert summary["secrets"][0]["database_login"] is None


def test_overdue_rotations_are_counted_without_failing_the_secrets() -> None:
    overdue = SecretReport(
        target=JWT,
        retrieval=RetrievalResult(ok=True, latency_ms=1.0),
        rotation=RotationResult(enabled=True, days_since_last_rotation=45.0, overdue=True),
    )

    summary = summarize(run(overdue), environment="dev")

    assert (summary["ok"], summary["rotations_overdue"]) == (True, 1)


def keys_of(node: object) -> object:
    """The shape of a JSON document: its keys, recursively (lists by their first item)."""
    if isinstance(node, dict):
        return {key: keys_of(value) for key, value in node.items() if value is not None}
    if isinstance(node, list) and node:
        return [keys_of(node[0])]
    return None


def test_the_documented_summary_has_the_shape_summarize_returns() -> None:
    # Given the example in docs/health_check.md
    doc = (Path(__file__).resolve().parents[3] / "docs" / "health_check.md").read_text()
    example = json.loads(doc.split("## JSON summary", 1)[1].split("```json", 1)[1].split("```")[0])
    report = SecretReport(
        target=DB,
        retrieval=RetrievalResult(ok=True, latency_ms=7.5),
        rotation=RotationResult(
            enabled=True,
            days_since_last_rotation=2.0,
            overdue=False,
            next_rotation=datetime(2026, 12, 24, tzinfo=UTC),
        ),
        login=LoginResult(ok=False, error=REFUSED),
    )

    # When a run with the same story is summarised
    summary = json.loads(json.dumps(summarize(run(report), environment="prod")))

    # Then the documented fields are the ones the code returns, at every level
    assert keys_of({**example, "secrets": example["secrets"][:1]}) == keys_of(summary)
    assert set(example) == set(summary)
    assert set(example["secrets"][0]) == set(summary["secrets"][0])
