"""The canary's metric names, units and dimensions: the one source of truth.

``probe.py`` emits exactly these; ``template.yaml``'s alarms and dashboard reference
them, and ``tests/template`` checks that every metric the template names is one of these.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DIMENSIONS",
    "METRIC_UNITS",
    "DatabaseLoginFailure",
    "DatabaseLoginSuccess",
    "DaysSinceLastRotation",
    "RetrievalFailure",
    "RetrievalLatency",
    "RetrievalSuccess",
    "RotationOverdue",
]

RetrievalSuccess: Final = "RetrievalSuccess"
RetrievalFailure: Final = "RetrievalFailure"
RetrievalLatency: Final = "RetrievalLatency"
DatabaseLoginSuccess: Final = "DatabaseLoginSuccess"
DatabaseLoginFailure: Final = "DatabaseLoginFailure"
DaysSinceLastRotation: Final = "DaysSinceLastRotation"
RotationOverdue: Final = "RotationOverdue"

# CloudWatch unit names, as Powertools' MetricUnit values spell them.
METRIC_UNITS: Final[dict[str, str]] = {
    RetrievalSuccess: "Count",
    RetrievalFailure: "Count",
    RetrievalLatency: "Milliseconds",
    DatabaseLoginSuccess: "Count",
    DatabaseLoginFailure: "Count",
    DaysSinceLastRotation: "Count",
    RotationOverdue: "Count",
}

# Every canary metric carries both dimensions.
DIMENSIONS: Final = ("Environment", "SecretName")
