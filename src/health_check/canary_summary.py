"""The run's JSON summary (the handler's return value) and its per-secret log fields.

The format is documented in ``docs/health_check.md``. Nothing here can hold a secret
value: only names, kinds, numbers, error type names and the layer's value-free messages.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from probe import CanaryRun, CheckFailure, SecretReport

__all__ = ["SUMMARY_VERSION", "secret_fields", "summarize"]

SUMMARY_VERSION = 1


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _error_type(failure: CheckFailure | None) -> str | None:
    return None if failure is None else failure.error_type


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def secret_fields(report: SecretReport) -> dict[str, Any]:
    """One secret's entry: what the summary lists and what its log line carries."""
    error = report.error
    fields: dict[str, Any] = {
        "secret_name": report.target.name,
        "kind": str(report.target.kind),
        "ok": report.ok,
        "latency_ms": _ms(report.retrieval.latency_ms),
        "error": _error_type(error),
        "error_message": None if error is None else error.message,
        "retrieval": {
            "ok": report.retrieval.ok,
            "error": _error_type(report.retrieval.error),
        },
        "database_login": None,
        "rotation": None,
    }
    if report.login is not None:
        fields["database_login"] = {
            "ok": report.login.ok,
            "latency_ms": _ms(report.login.latency_ms),
            "error": _error_type(report.login.error),
        }
    rotation = report.rotation
    if rotation is not None:
        days = rotation.days_since_last_rotation
        fields["rotation"] = {
            "enabled": rotation.enabled,
            "days_since_last_rotation": None if days is None else round(days, 3),
            "overdue": rotation.overdue,
            "next_rotation": _iso(rotation.next_rotation),
            "error": _error_type(rotation.error),
            "error_message": None if rotation.error is None else rotation.error.message,
        }
    return fields


def summarize(run: CanaryRun, *, environment: str) -> dict[str, Any]:
    """The whole run as a JSON-serialisable dict."""
    report = run.report
    discovery = run.discovery
    return {
        "version": SUMMARY_VERSION,
        "environment": environment,
        "ok": report.ok and discovery.error is None and bool(report.reports),
        "secrets_checked": len(report.reports),
        "secrets_failed": len(report.failed),
        "rotations_overdue": sum(
            1 for item in report.reports if item.rotation is not None and item.rotation.overdue
        ),
        "deadline_exceeded": report.deadline_exceeded,
        "duration_ms": _ms(report.duration_ms),
        "discovery": {
            "enabled": discovery.enabled,
            "found": len(discovery.found),
            "error": _error_type(discovery.error),
            "error_message": None if discovery.error is None else discovery.error.message,
        },
        "secrets": [secret_fields(item) for item in report.reports],
    }
