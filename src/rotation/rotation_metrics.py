"""The rotation function's metric names and dimensions: the one source of truth.

``app.py`` emits exactly these (Powertools Metrics, EMF); ``template.yaml``'s alarms
reference them, and ``tests/template`` checks the names match.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DIMENSIONS",
    "METRIC_UNITS",
    "RotationFailed",
    "RotationRolledBack",
    "RotationStepDuration",
    "RotationSucceeded",
]

RotationSucceeded: Final = "RotationSucceeded"
RotationFailed: Final = "RotationFailed"
RotationRolledBack: Final = "RotationRolledBack"
RotationStepDuration: Final = "RotationStepDuration"

METRIC_UNITS: Final[dict[str, str]] = {
    RotationSucceeded: "Count",
    RotationFailed: "Count",
    RotationRolledBack: "Count",
    RotationStepDuration: "Milliseconds",
}

DIMENSIONS: Final = ("Environment", "SecretName")
