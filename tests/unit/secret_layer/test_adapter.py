"""The one adapter: botocore failures that never reach the network, translated."""

from __future__ import annotations

import botocore.exceptions
import pytest

from secret_service import (
    SecretAccessDeniedError,
    SecretConfigError,
    SecretNotFoundError,
    SecretServiceError,
    SecretThrottledError,
    SecretUnavailableError,
)
from secret_service.aws import FetchedSecret, translate


@pytest.mark.parametrize(
    ("exc", "error_type"),
    [
        (botocore.exceptions.NoCredentialsError(), SecretAccessDeniedError),
        (botocore.exceptions.NoRegionError(), SecretConfigError),
        (botocore.exceptions.ConnectTimeoutError(endpoint_url="u"), SecretUnavailableError),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="u"), SecretUnavailableError),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="u"), SecretUnavailableError),
        (RuntimeError("odd"), SecretUnavailableError),
    ],
)
def test_client_side_failures_are_typed(exc: Exception, error_type: type[Exception]) -> None:
    error = translate(exc, secret_id="app/db")

    assert type(error) is error_type
    assert "app/db" in str(error)


@pytest.mark.parametrize(
    ("code", "status", "message", "error_type"),
    [
        ("InvalidRequestException", 400, "marked for deletion", SecretNotFoundError),
        ("InvalidRequestException", 400, "other", SecretServiceError),
        ("TooManyRequestsException", 429, "", SecretThrottledError),
        ("SomethingNew", 503, "", SecretUnavailableError),
    ],
)
def test_aws_codes_are_typed(
    code: str, status: int, message: str, error_type: type[Exception]
) -> None:
    exc = botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetSecretValue",
    )

    error = translate(exc, secret_id="s")

    assert type(error) is error_type
    assert error.code == code


def test_a_fetched_secret_hides_its_value() -> None:
    fetched = FetchedSecret("adapter-value-x1", arn="arn", name="n", version_id="v")

    assert "adapter-value-x1" not in repr(fetched)
