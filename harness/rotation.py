"""Drive a rotation the way Secrets Manager does, against moto (tests and ``make local``).

What RotateSecret does before it invokes the function: it turns rotation on, creates a
new version id (the ``ClientRequestToken``) carrying the ``AWSPENDING`` label and **no
value**, then invokes the function with ``createSecret``, ``setSecret``, ``testSecret``
and ``finishSecret`` for that token, in order (each retried on error).

Why not moto's ``rotate_secret`` (moto 5.2.5, ``moto/secretsmanager/models.py``):

* With ``RotationLambdaARN`` it needs that function in moto's Lambda backend and invokes
  all four steps itself through Docker (or, with ``mock_aws(config={"lambda":
  {"use_docker": False}})``, through a stub that runs nothing); with
  ``RotateImmediately=True`` it then makes the token the default version although no step
  ran - our function never gets the events to handle.
* Without an ARN it marks the new (valueless, or copied with ``RotateImmediately=False``)
  version ``AWSCURRENT`` at once: exactly the state a real rotation must never reach.
* ``getmoto/moto#8504`` made the AWSPENDING version valueless, as on AWS (reading it
  raises ``ResourceNotFoundException``), and ``PutSecretValue`` with that token fills it
  (moto's ``_check_with_existing_secrets_and_versions`` lets an AWSPENDING version be
  written). That is the state we reproduce.

So :func:`begin_rotation` sets the state on moto's in-process backend
(``moto.secretsmanager.models.secretsmanager_backends[account][region]``, the same
objects ``mock_aws`` and ``harness.aws.MotoServer`` serve): ``rotation_enabled``, the
rotation rules, the ARN of the rotation function, and ``versions[token] = {"version_stages":
["AWSPENDING"]}`` with no ``secret_string``, after taking AWSPENDING off the AWSCURRENT
version (where a finished rotation may leave it). Like RotateSecret, it refuses while
AWSPENDING sits on any *other* version - a rotation that has not finished, which AWS
retries with its own token - unless ``replace_pending=True`` (what an operator does by
hand after CancelRotateSecret).
Everything else - reads, PutSecretValue, UpdateSecretVersionStage - goes through the real
API of the client under test. :func:`rotate` then invokes the four steps in order.

One moto gap is closed after finishSecret: ``UpdateSecretVersionStage`` does not move
moto's ``default_version_id``, so a stage-less ``GetSecretValue`` would keep answering the
old value. :func:`sync_default_version` points it at the AWSCURRENT version, as AWS does.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "ROTATION_STEPS",
    "RotationInProgressError",
    "begin_rotation",
    "rotate",
    "rotation_event",
    "staging_labels",
    "sync_default_version",
]

ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
DEFAULT_ROTATION_LAMBDA_ARN = (
    "arn:aws:lambda:ap-northeast-1:123456789012:function:secrets-guard-rotation"
)


class RotationInProgressError(RuntimeError):
    """RotateSecret's refusal: AWSPENDING is on a version that is not AWSCURRENT."""


def _moto_secret(client: SecretsManagerClient, secret_id: str) -> tuple[str, Any]:
    """The ARN and moto's in-process FakeSecret for ``secret_id``."""
    from moto.secretsmanager.models import secretsmanager_backends

    arn = client.describe_secret(SecretId=secret_id)["ARN"]
    _, _, _, region, account, *_ = arn.split(":")
    return arn, secretsmanager_backends[account][region].secrets[arn]


def begin_rotation(
    client: SecretsManagerClient,
    secret_id: str,
    *,
    token: str | None = None,
    rotation_enabled: bool = True,
    rotation_lambda_arn: str = DEFAULT_ROTATION_LAMBDA_ARN,
    after_days: int = 30,
    replace_pending: bool = False,
) -> str:
    """Do what RotateSecret does before invoking createSecret; return the token.

    ``rotation_enabled=False`` leaves rotation off (to test the function's refusal).
    Raises :class:`RotationInProgressError` when an unfinished rotation holds AWSPENDING,
    as RotateSecret does, unless ``replace_pending`` (then that label is taken off it).
    """
    token = token or str(uuid.uuid4())
    if not 32 <= len(token) <= 64:
        raise ValueError("a ClientRequestToken has 32-64 characters")
    _, secret = _moto_secret(client, secret_id)
    unfinished = [
        version_id
        for version_id, version in secret.versions.items()
        if "AWSPENDING" in version["version_stages"]
        and "AWSCURRENT" not in version["version_stages"]
    ]
    if unfinished and not replace_pending:
        raise RotationInProgressError(
            f"a previous rotation of {secret_id} is not complete (AWSPENDING is on version "
            f"{unfinished[0]}); RotateSecret refuses (InvalidRequestException) and Secrets "
            "Manager retries that rotation with its token. Pass replace_pending=True to drop it"
        )
    secret.rotation_requested = True
    secret.rotation_enabled = rotation_enabled
    secret.rotation_lambda_arn = rotation_lambda_arn
    secret.auto_rotate_after_days = after_days
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {
        "createdate": int(time.time()),
        "version_id": token,
        "version_stages": ["AWSPENDING"],
    }
    return token


def rotation_event(secret_id: str, token: str, step: str) -> dict[str, str]:
    """The event Secrets Manager sends for one step."""
    return {"Step": step, "SecretId": secret_id, "ClientRequestToken": token}


def rotate(
    invoke: Callable[[dict[str, Any]], object],
    client: SecretsManagerClient,
    secret_id: str,
    *,
    token: str | None = None,
    steps: Iterable[str] = ROTATION_STEPS,
    after_step: Callable[[str], None] | None = None,
) -> str:
    """Begin a rotation and invoke ``steps`` in order with the secret's ARN; return the token.

    ``invoke(event)`` calls the handler; ``after_step(step)`` runs after each step (to
    check the application still logs in, for instance). An exception stops the rotation.
    """
    arn = client.describe_secret(SecretId=secret_id)["ARN"]
    token = begin_rotation(client, arn, token=token)
    for step in steps:
        invoke(rotation_event(arn, token, step))
        if step == "finishSecret":
            sync_default_version(client, arn)
        if after_step is not None:
            after_step(step)
    return token


def sync_default_version(client: SecretsManagerClient, secret_id: str) -> None:
    """Point moto's default version at AWSCURRENT (AWS does so when the label moves)."""
    _, secret = _moto_secret(client, secret_id)
    for version_id, version in secret.versions.items():
        if "AWSCURRENT" in version["version_stages"]:
            secret.default_version_id = version_id
            return


def staging_labels(client: SecretsManagerClient, secret_id: str) -> dict[str, list[str]]:
    """``{version_id: [labels]}`` from DescribeSecret, labels sorted, unlabelled omitted."""
    versions = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    return {vid: sorted(stages) for vid, stages in versions.items() if stages}
