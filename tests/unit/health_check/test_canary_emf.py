"""The EMF documents: names, units and dimensions from canary_metrics, one per secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

import canary_metrics as m
from canary_emf import metric_values, publish_metrics
from canary_targets import SecretKind, SecretTarget
from probe import (
    CanaryReport,
    CheckFailure,
    LoginResult,
    RetrievalResult,
    RotationResult,
    SecretReport,
)

DB = SecretTarget("app-dev-secret-database", "app-dev-secret-database", SecretKind.DATABASE)
JWT = SecretTarget("app-dev-secret-jwt", "app-dev-secret-jwt", SecretKind.JWT)
FAILURE = CheckFailure("SecretNotFoundError", "secret does not exist")


@pytest.fixture(autouse=True)
def _metrics_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "would-add-a-service-dimension")


def healthy_db() -> SecretReport:
    return SecretReport(
        target=DB,
        retrieval=RetrievalResult(ok=True, latency_ms=12.3456),
        rotation=RotationResult(enabled=True, days_since_last_rotation=3.25, overdue=False),
        login=LoginResult(ok=True, latency_ms=40.0),
    )


def test_a_healthy_database_secret_publishes_every_metric() -> None:
    assert dict(metric_values(healthy_db())) == {
        m.RetrievalSuccess: 1.0,
        m.RetrievalFailure: 0.0,
        m.RetrievalLatency: 12.346,
        m.DatabaseLoginSuccess: 1.0,
        m.DatabaseLoginFailure: 0.0,
        m.DaysSinceLastRotation: 3.25,
        m.RotationOverdue: 0.0,
    }


def test_an_unreadable_secret_publishes_its_failure_and_nothing_it_could_not_measure() -> None:
    report = SecretReport(
        target=JWT,
        retrieval=RetrievalResult(ok=False, error=FAILURE),
        rotation=RotationResult(error=FAILURE),
    )

    assert dict(metric_values(report)) == {m.RetrievalSuccess: 0.0, m.RetrievalFailure: 1.0}


def test_a_refused_login_and_an_overdue_rotation_publish_as_ones() -> None:
    report = SecretReport(
        target=DB,
        retrieval=RetrievalResult(ok=True, latency_ms=5.0),
        rotation=RotationResult(enabled=False, days_since_last_rotation=45.0, overdue=True),
        login=LoginResult(ok=False, error=FAILURE),
    )

    values = dict(metric_values(report))

    assert values[m.DatabaseLoginFailure] == 1.0
    assert values[m.DatabaseLoginSuccess] == 0.0
    assert values[m.RotationOverdue] == 1.0


def emf_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in map(json.loads, text.splitlines()) if "_aws" in doc]


def test_each_secret_gets_one_document_with_exactly_the_contract_dimensions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    jwt = SecretReport(target=JWT, retrieval=RetrievalResult(ok=True, latency_ms=2.0))
    report = CanaryReport(reports=(healthy_db(), jwt), duration_ms=50.0)

    written = publish_metrics(
        report, namespace="GoalMandala/Secrets", environment="dev", service_name="svc"
    )

    docs = emf_documents(capsys.readouterr().out)
    assert written == len(docs) == 2
    for doc, secret in zip(docs, (DB, JWT), strict=True):
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "GoalMandala/Secrets"
        assert directive["Dimensions"] == [list(m.DIMENSIONS)]
        assert (doc["Environment"], doc["SecretName"]) == ("dev", secret.name)
        for metric in directive["Metrics"]:
            assert metric["Unit"] == m.METRIC_UNITS[metric["Name"]]
    db_doc = docs[0]
    assert db_doc[m.DatabaseLoginSuccess] == [1.0]
    assert db_doc[m.RetrievalLatency] == [12.346]
    assert db_doc["secretKind"] == "database"
