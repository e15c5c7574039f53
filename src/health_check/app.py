"""Canary Lambda: on a schedule, proves every secret can be read fast and still works.

Parses the scheduled event, runs one probe over the configured secrets (``probe.py``)
and publishes the results as CloudWatch metrics (EMF) and a JSON summary.
"""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("the canary lands with the health-check issue")
