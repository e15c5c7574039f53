"""SecretsManagerStore: the exact API calls (botocore Stubber) and error translation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from rotation_errors import RotationSecretsManagerError
from secret_service.errors import (
    SecretAccessDeniedError,
    SecretDecryptionError,
    SecretNotFoundError,
    SecretThrottledError,
    SecretUnavailableError,
)
from secrets_store import SecretsManagerStore

if TYPE_CHECKING:
    from collections.abc import Iterator

ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:app-dev-secret-db-AbCdEf"
TOKEN = "0a1b2c3d-0000-4000-8000-123456789abc"
OLD = "11111111-0000-4000-8000-123456789abc"


@pytest.fixture
def stubbed() -> Iterator[tuple[SecretsManagerStore, Stubber]]:
    client = boto3.client("secretsmanager", region_name="ap-northeast-1")
    with Stubber(client) as stubber:
        yield SecretsManagerStore(client), stubber
        stubber.assert_no_pending_responses()


def test_describe_maps_versions_and_rotation(stubbed: tuple[SecretsManagerStore, Stubber]) -> None:
    store, stub = stubbed
    stub.add_response(
        "describe_secret",
        {
            "ARN": ARN,
            "Name": "app-dev-secret-db",
            "RotationEnabled": True,
            "VersionIdsToStages": {OLD: ["AWSCURRENT"], TOKEN: ["AWSPENDING"]},
        },
        {"SecretId": ARN},
    )

    meta = store.describe(ARN)

    assert meta.rotation_enabled
    assert meta.version_with("AWSPENDING") == TOKEN
    assert meta.version_with("AWSPREVIOUS") is None


def test_get_value_always_names_the_stage_and_the_version(
    stubbed: tuple[SecretsManagerStore, Stubber],
) -> None:
    store, stub = stubbed
    stub.add_response(
        "get_secret_value",
        {"ARN": ARN, "SecretString": "{}"},
        {"SecretId": ARN, "VersionStage": "AWSPENDING", "VersionId": TOKEN},
    )

    assert store.get_value(ARN, stage="AWSPENDING", version_id=TOKEN) == "{}"


def test_a_missing_version_is_none_only_when_asked(
    stubbed: tuple[SecretsManagerStore, Stubber],
) -> None:
    store, stub = stubbed
    for _ in range(2):
        stub.add_client_error("get_secret_value", "ResourceNotFoundException", http_status_code=400)

    assert store.get_value(ARN, stage="AWSPENDING", version_id=TOKEN, missing_ok=True) is None
    with pytest.raises(SecretNotFoundError):
        store.get_value(ARN, stage="AWSPENDING", version_id=TOKEN)


def test_a_binary_secret_is_refused(stubbed: tuple[SecretsManagerStore, Stubber]) -> None:
    store, stub = stubbed
    stub.add_response("get_secret_value", {"ARN": ARN, "SecretBinary": b"\x00"})

    with pytest.raises(RotationSecretsManagerError, match="binary"):
        store.get_value(ARN, stage="AWSCURRENT")


@pytest.mark.parametrize("rotation_token", [None, "9f8e7d6c-5b4a-4321-8765-0123456789ab"])
def test_put_pending_labels_awspending_and_passes_the_rotation_token(
    rotation_token: str | None, stubbed: tuple[SecretsManagerStore, Stubber]
) -> None:
    store, stub = stubbed
    expected: dict[str, Any] = {
        "SecretId": ARN,
        "ClientRequestToken": TOKEN,
        "SecretString": "{}",
        "VersionStages": ["AWSPENDING"],
    }
    if rotation_token:
        expected["RotationToken"] = rotation_token
    stub.add_response("put_secret_value", {"ARN": ARN}, expected)

    store.put_pending(ARN, token=TOKEN, secret_string="{}", rotation_token=rotation_token)


def test_random_password_asks_for_each_character_type(
    stubbed: tuple[SecretsManagerStore, Stubber],
) -> None:
    store, stub = stubbed
    stub.add_response(
        "get_random_password",
        {"RandomPassword": "x" * 32},
        {
            "PasswordLength": 32,
            "ExcludeCharacters": "/@",
            "ExcludePunctuation": False,
            "RequireEachIncludedType": True,
        },
    )

    assert store.random_password(length=32, exclude_characters="/@") == "x" * 32


def test_move_stage_sends_both_versions(stubbed: tuple[SecretsManagerStore, Stubber]) -> None:
    store, stub = stubbed
    stub.add_response(
        "update_secret_version_stage",
        {"ARN": ARN},
        {
            "SecretId": ARN,
            "VersionStage": "AWSCURRENT",
            "MoveToVersionId": TOKEN,
            "RemoveFromVersionId": OLD,
        },
    )

    store.move_stage(ARN, stage="AWSCURRENT", to_version_id=TOKEN, from_version_id=OLD)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ResourceNotFoundException", 400, SecretNotFoundError),
        ("AccessDeniedException", 400, SecretAccessDeniedError),
        ("DecryptionFailure", 400, SecretDecryptionError),
        ("ThrottlingException", 400, SecretThrottledError),
        ("InternalServiceError", 500, SecretUnavailableError),
        ("InvalidRequestException", 400, RotationSecretsManagerError),
    ],
)
def test_aws_error_codes_become_typed_errors(
    code: str, status: int, error: type[Exception]
) -> None:
    client = boto3.client("secretsmanager", region_name="ap-northeast-1")
    store = SecretsManagerStore(client)
    with Stubber(client) as stub:
        stub.add_client_error("describe_secret", code, http_status_code=status)

        with pytest.raises(error) as caught:
            store.describe(ARN)

    assert ARN in str(caught.value)
    assert caught.value.__cause__ is not None


def test_the_client_is_made_once_with_the_endpoint() -> None:
    store = SecretsManagerStore(endpoint_url="https://vpce.example.test")

    first = store.client

    assert store.client is first
    assert first.meta.endpoint_url == "https://vpce.example.test"


def test_an_invalid_request_is_not_reported_as_unreachable() -> None:
    # botocore validates before sending: no stub and no network are involved
    store = SecretsManagerStore(boto3.client("secretsmanager", region_name="ap-northeast-1"))

    with pytest.raises(RotationSecretsManagerError, match="invalid"):
        store.move_stage(ARN, stage="AWSCURRENT", to_version_id="short", from_version_id=None)
