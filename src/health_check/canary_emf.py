"""Adapter: publish a run's results as CloudWatch metrics in Embedded Metric Format.

Powertools writes one EMF document per secret to stdout; CloudWatch Logs turns it into
metrics, so the canary makes no PutMetricData call. Every metric carries exactly the
dimensions ``Environment`` and ``SecretName`` (:data:`canary_metrics.DIMENSIONS`).

Why one document per secret: an EMF document has one set of dimension values, so
metrics of several secrets cannot share one. And why ``EphemeralMetrics`` with an empty
service: the ``Metrics`` singleton shares state across instances (and threads), and a
non-empty service makes Powertools add a third ``service`` dimension, which would make
these different CloudWatch metrics from the ones the alarms and dashboard query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import EphemeralMetrics

import canary_metrics as m

if TYPE_CHECKING:
    from probe import CanaryReport, SecretReport

__all__ = ["metric_values", "publish_metrics"]


def metric_values(report: SecretReport) -> list[tuple[str, float]]:
    """The (metric name, value) pairs one secret's report publishes.

    ``RetrievalSuccess``/``RetrievalFailure`` always (one is 1, the other 0), so a
    healthy secret keeps its failure metric at 0 rather than missing. The latency, the
    login pair and the rotation pair only when that check produced a value.
    """
    retrieval = report.retrieval
    values: list[tuple[str, float]] = [
        (m.RetrievalSuccess, 1.0 if retrieval.ok else 0.0),
        (m.RetrievalFailure, 0.0 if retrieval.ok else 1.0),
    ]
    if retrieval.latency_ms is not None:
        values.append((m.RetrievalLatency, round(retrieval.latency_ms, 3)))
    if report.login is not None:
        values.append((m.DatabaseLoginSuccess, 1.0 if report.login.ok else 0.0))
        values.append((m.DatabaseLoginFailure, 0.0 if report.login.ok else 1.0))
    rotation = report.rotation
    if rotation is not None and rotation.error is None:
        if rotation.days_since_last_rotation is not None:
            values.append((m.DaysSinceLastRotation, round(rotation.days_since_last_rotation, 3)))
        values.append((m.RotationOverdue, 1.0 if rotation.overdue else 0.0))
    return values


def publish_metrics(
    report: CanaryReport,
    *,
    namespace: str,
    environment: str,
    service_name: str,
) -> int:
    """Print one EMF document per secret; return how many were written."""
    written = 0
    for secret in report.reports:
        metrics = EphemeralMetrics(namespace=namespace, service="")
        metrics.add_dimension(name="Environment", value=environment)
        metrics.add_dimension(name="SecretName", value=secret.target.name)
        for name, value in metric_values(secret):
            metrics.add_metric(name=name, unit=m.METRIC_UNITS[name], value=value)
        metrics.add_metadata(key="service", value=service_name)
        metrics.add_metadata(key="secretKind", value=str(secret.target.kind))
        metrics.flush_metrics(raise_on_empty_metrics=True)
        written += 1
    return written
