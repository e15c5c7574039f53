"""Rotation Lambda: the door Secrets Manager knocks on to rotate a secret.

Parses the rotation event, runs one step of the rotation protocol (``steps.py``) over
the database adapter (``mysql.py``), and maps the outcome to logs and metrics.
"""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    raise NotImplementedError("rotation protocol lands with the rotation issue")
