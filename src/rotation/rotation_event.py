"""Validate the event Secrets Manager sends, before anything is read or changed.

The event is ``{"SecretId", "ClientRequestToken", "Step"}`` (and, from newer callers,
``"RotationToken"``), read through Powertools' ``SecretsManagerEvent``. Any other shape
raises :class:`RotationEventError` naming the key; values are echoed only as a short,
type-level description, never as the raw event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SecretsManagerEvent

from rotation_errors import RotationEventError
from rotation_model import RotationRequest, Step
from secret_service.models import json_type_name

__all__ = ["parse_event"]

MAX_SECRET_ID_LENGTH = 2048
_TOKEN = re.compile(r"^[\x21-\x7e]{32,64}$")  # 32-64 printable ASCII, no spaces
_ROTATION_TOKEN = re.compile(r"^[A-Za-z0-9-]{36,256}$")
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:secret:[\w/+=.@-]+$"
)
_SECRET_NAME = re.compile(r"^[\w/+=.@-]{1,512}$")
_STEPS = ", ".join(step.value for step in Step)


def parse_event(event: object) -> RotationRequest:
    """Return the validated request, or raise :class:`RotationEventError`."""
    if not isinstance(event, Mapping):
        raise RotationEventError(
            f"the event must be a JSON object with SecretId, ClientRequestToken and Step; "
            f"got {json_type_name(event)}"
        )
    wrapped = SecretsManagerEvent(dict(event))
    secret_id = _required_str(wrapped, "SecretId")
    token = _required_str(wrapped, "ClientRequestToken")
    step_name = _required_str(wrapped, "Step")

    if len(secret_id) > MAX_SECRET_ID_LENGTH or not (
        _SECRET_ARN.match(secret_id)
        if secret_id.startswith("arn:")
        else _SECRET_NAME.match(secret_id)
    ):
        raise RotationEventError(
            "SecretId must be a Secrets Manager secret ARN or name "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
            field="SecretId",
        )
    if not _TOKEN.match(token):
        raise RotationEventError(
            f"ClientRequestToken must be 32-64 printable characters without spaces "
            f"(got {len(token)} characters)",
            field="ClientRequestToken",
        )
    try:
        step = Step(step_name)
    except ValueError:
        raise RotationEventError(
            f"Step must be one of {_STEPS}; got {step_name[:40]!r}", field="Step"
        ) from None

    rotation_token = wrapped.get("RotationToken")
    if rotation_token is not None and (
        not isinstance(rotation_token, str) or not _ROTATION_TOKEN.match(rotation_token)
    ):
        raise RotationEventError(
            "RotationToken, when present, must be 36-256 letters, digits or dashes",
            field="RotationToken",
        )
    return RotationRequest(
        secret_id=secret_id, token=token, step=step, rotation_token=rotation_token
    )


def _required_str(event: SecretsManagerEvent, key: str) -> str:
    if key not in event:
        raise RotationEventError(f"the event has no {key!r}; it is not a rotation event", field=key)
    value: Any = event[key]
    if not isinstance(value, str):
        raise RotationEventError(f"{key} must be a string, got {json_type_name(value)}", field=key)
    if not value.strip():
        raise RotationEventError(f"{key} must not be empty", field=key)
    if value != value.strip():
        raise RotationEventError(f"{key} must not have leading or trailing spaces", field=key)
    return value
