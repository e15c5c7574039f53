"""harness.rotation: the state RotateSecret leaves before createSecret, on moto."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import boto3
import pytest

from harness.rotation import (
    RotationInProgressError,
    begin_rotation,
    rotate,
    staging_labels,
    sync_default_version,
)

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from harness.aws import MotoServer


@pytest.fixture
def arn(secretsmanager: SecretsManagerClient) -> str:
    return secretsmanager.create_secret(Name="app-test-h", SecretString='{"v": 1}')["ARN"]


def test_begin_rotation_enables_rotation_and_adds_a_valueless_pending_version(
    secretsmanager: SecretsManagerClient, arn: str
) -> None:
    token = begin_rotation(secretsmanager, arn)

    meta = secretsmanager.describe_secret(SecretId=arn)
    assert meta["RotationEnabled"] is True
    assert meta["RotationLambdaARN"].startswith("arn:aws:lambda:")
    assert meta["VersionIdsToStages"][token] == ["AWSPENDING"]
    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException):
        secretsmanager.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    assert secretsmanager.get_secret_value(SecretId=arn)["SecretString"] == '{"v": 1}'


def test_put_secret_value_fills_the_pending_version(
    secretsmanager: SecretsManagerClient, arn: str
) -> None:
    token = begin_rotation(secretsmanager, arn, token="t" * 36)

    secretsmanager.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString="{}", VersionStages=["AWSPENDING"]
    )

    value = secretsmanager.get_secret_value(
        SecretId=arn, VersionId=token, VersionStage="AWSPENDING"
    )
    assert value["SecretString"] == "{}"


def test_a_new_rotation_is_refused_while_an_older_one_is_pending_as_on_aws(
    secretsmanager: SecretsManagerClient, arn: str
) -> None:
    first = begin_rotation(secretsmanager, arn)

    with pytest.raises(RotationInProgressError, match=first):
        begin_rotation(secretsmanager, arn)

    assert staging_labels(secretsmanager, arn)[first] == ["AWSPENDING"]


def test_replace_pending_takes_awspending_off_the_older_version(
    secretsmanager: SecretsManagerClient, arn: str
) -> None:
    first = begin_rotation(secretsmanager, arn)

    second = begin_rotation(secretsmanager, arn, replace_pending=True)

    labels = staging_labels(secretsmanager, arn)
    assert first not in labels
    assert labels[second] == ["AWSPENDING"]


def test_a_finished_rotation_leaving_awspending_on_awscurrent_does_not_block_the_next(
    secretsmanager: SecretsManagerClient, arn: str
) -> None:
    current = secretsmanager.describe_secret(SecretId=arn)["VersionIdsToStages"]
    [current_id] = [vid for vid, stages in current.items() if "AWSCURRENT" in stages]
    secretsmanager.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSPENDING", MoveToVersionId=current_id
    )

    token = begin_rotation(secretsmanager, arn)

    labels = staging_labels(secretsmanager, arn)
    assert labels[current_id] == ["AWSCURRENT"]
    assert labels[token] == ["AWSPENDING"]


def test_rotation_can_be_left_disabled(secretsmanager: SecretsManagerClient, arn: str) -> None:
    begin_rotation(secretsmanager, arn, rotation_enabled=False)

    assert secretsmanager.describe_secret(SecretId=arn)["RotationEnabled"] is False


def test_rotate_invokes_the_four_steps_in_order_with_the_arn(
    secretsmanager: SecretsManagerClient, arn: str
) -> None:
    events: list[dict[str, str]] = []

    token = rotate(events.append, secretsmanager, "app-test-h")

    assert [e["Step"] for e in events] == [
        "createSecret",
        "setSecret",
        "testSecret",
        "finishSecret",
    ]
    assert {e["SecretId"] for e in events} == {arn}
    assert {e["ClientRequestToken"] for e in events} == {token}


def test_sync_default_version_follows_awscurrent(
    secretsmanager: SecretsManagerClient, arn: str
) -> None:
    token = begin_rotation(secretsmanager, arn)
    secretsmanager.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString='{"v": 2}',
        VersionStages=["AWSPENDING"],
    )
    current = secretsmanager.describe_secret(SecretId=arn)["VersionIdsToStages"]
    old = next(v for v, s in current.items() if "AWSCURRENT" in s)
    secretsmanager.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=old
    )

    sync_default_version(secretsmanager, arn)

    assert secretsmanager.get_secret_value(SecretId=arn)["SecretString"] == '{"v": 2}'


def test_begin_rotation_works_against_the_moto_server_over_http(moto_server: MotoServer) -> None:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_server.endpoint_url,
        region_name=os.environ["AWS_DEFAULT_REGION"],
    )
    arn = client.create_secret(Name="app-test-h-http", SecretString=json.dumps({"v": 1}))["ARN"]
    try:
        token = begin_rotation(client, arn)

        assert client.describe_secret(SecretId=arn)["VersionIdsToStages"][token] == ["AWSPENDING"]
    finally:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
