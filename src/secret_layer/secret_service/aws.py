"""Adapter: the one module of ``secret_service`` that touches boto3 and botocore.

It makes the default client, calls ``GetSecretValue`` / ``BatchGetSecretValue``, and
translates every AWS or network failure into the :mod:`secret_service.errors` tree:

================================================  ============================  =========
AWS error code / botocore exception               raised as                     retried
================================================  ============================  =========
ResourceNotFoundException, InvalidRequest         SecretNotFoundError           no
(marked for deletion)
AccessDeniedException, UnrecognizedClient,        SecretAccessDeniedError       no
expired/invalid tokens, no credentials
DecryptionFailure, KMS* (disabled key, ...)       SecretDecryptionError         no
ThrottlingException, TooManyRequests,             SecretThrottledError          yes
RequestLimitExceeded
InternalServiceError, any HTTP 5xx, connection    SecretUnavailableError        yes
and read timeouts, endpoint unreachable
InvalidParameter/Validation, no region            SecretConfigError             no
================================================  ============================  =========

Retries are the service's job (``RetryPolicy``: full jitter, bounded attempts and
time), so the default client turns botocore's own retries off
(``retries={"mode": "standard", "total_max_attempts": 1}``: one attempt per call) and uses
short timeouts. A client passed in by the caller keeps its own configuration: its
botocore retries then run inside each of the service's attempts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import botocore.exceptions
from botocore.config import Config

from secret_service.errors import (
    SecretAccessDeniedError,
    SecretConfigError,
    SecretDecryptionError,
    SecretFormatError,
    SecretNotFoundError,
    SecretServiceError,
    SecretThrottledError,
    SecretUnavailableError,
)

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "BATCH_LIMIT",
    "FetchedSecret",
    "batch_get_secret_values",
    "botocore_attempts",
    "create_default_client",
    "get_secret_value",
    "keep_secret_values_out_of_debug_logs",
    "translate",
]

BATCH_LIMIT = 20  # BatchGetSecretValue accepts at most 20 ids in SecretIdList

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
SERVER_CODES = frozenset(
    {"InternalServiceError", "InternalFailure", "ServiceUnavailable", "InternalServerError"}
)
ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
    }
)
REQUEST_CODES = frozenset(
    {"InvalidParameterException", "ValidationException", "InvalidParameterValue"}
)


@dataclass(frozen=True, slots=True)
class FetchedSecret:
    """One secret version as Secrets Manager returned it. ``secret_string`` hides itself.

    In a batch, a version this layer cannot use (one that stores only SecretBinary) is
    returned with ``error`` set and an empty ``secret_string``, so that it fails alone.
    """

    secret_string: str
    arn: str
    name: str
    version_id: str
    error: SecretFormatError | None = None

    def __repr__(self) -> str:
        return f"FetchedSecret(name={self.name!r}, version_id={self.version_id!r})"


# botocore logs whole request params and response bodies - secret values - at DEBUG.
_BODY_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.hooks")


def keep_secret_values_out_of_debug_logs() -> None:
    """Hold the botocore loggers that print bodies at INFO, whatever the app's level.

    A function run with ``AWS_LAMBDA_LOG_LEVEL=DEBUG`` (or a root logger at DEBUG) would
    otherwise write every secret it reads to CloudWatch Logs. Other botocore loggers
    (retries, credentials, endpoints chosen) keep the application's level.

    The loggers' own level is set, not only when they are at DEBUG now: one that merely
    inherits WARNING today would follow the root to DEBUG when the application
    configures its logging after the first read (a ``preload()`` at module scope).
    """
    for name in _BODY_LOGGERS:
        body_logger = logging.getLogger(name)
        if body_logger.level < logging.INFO:  # NOTSET (inherits) or DEBUG
            body_logger.setLevel(logging.INFO)


def create_default_client(
    *, connect_timeout_s: float, read_timeout_s: float
) -> SecretsManagerClient:
    """A Secrets Manager client with short timeouts and botocore retries turned off."""
    import boto3  # the runtime provides it; lazily imported

    config = Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"mode": "standard", "total_max_attempts": 1},
        tcp_keepalive=True,
    )
    try:
        client: SecretsManagerClient = boto3.client("secretsmanager", config=config)
    except botocore.exceptions.NoRegionError as exc:
        raise SecretConfigError(
            "no AWS region for Secrets Manager: set AWS_REGION (Lambda sets it) or pass a client"
        ) from exc
    return client


def botocore_attempts(client: SecretsManagerClient) -> int:
    """How many attempts botocore itself makes per call with this client's configuration.

    botocore resolves ``max_attempts``, ``AWS_MAX_ATTEMPTS`` and the config file into
    ``total_max_attempts``; without one, its mode's default applies (standard 3, legacy 5).
    """
    retries = getattr(client.meta.config, "retries", None) or {}
    total = retries.get("total_max_attempts")
    if isinstance(total, int) and not isinstance(total, bool):
        return total
    return 5 if retries.get("mode") == "legacy" else 3


def get_secret_value(
    client: SecretsManagerClient, secret_id: str, version_stage: str
) -> FetchedSecret:
    """One ``GetSecretValue`` call, errors translated."""
    try:
        response = client.get_secret_value(SecretId=secret_id, VersionStage=version_stage)
    except Exception as exc:
        raise translate(exc, secret_id=secret_id) from exc
    return _fetched(response, secret_id)


def batch_get_secret_values(
    client: SecretsManagerClient, secret_ids: list[str]
) -> tuple[list[FetchedSecret], dict[str, SecretServiceError]]:
    """One ``BatchGetSecretValue`` for up to 20 ids (following NextToken pages).

    Returns the secrets read, and a typed error for each id the batch reported failing.
    A failure of the call itself (throttling, outage) raises, translated.
    """
    if len(secret_ids) > BATCH_LIMIT:
        raise SecretConfigError(f"at most {BATCH_LIMIT} ids per BatchGetSecretValue call")
    found: list[FetchedSecret] = []
    errors: dict[str, SecretServiceError] = {}
    kwargs: dict[str, Any] = {"SecretIdList": secret_ids}
    while True:
        try:
            response = client.batch_get_secret_value(**kwargs)
        except Exception as exc:
            raise _batch_error(exc, ", ".join(secret_ids)) from exc
        found.extend(_batch_item(item) for item in response["SecretValues"])
        for item in response.get("Errors", []):
            failed_id = item.get("SecretId", "?")
            code = item.get("ErrorCode", "Unknown")
            message = str(item.get("Message", ""))
            errors[failed_id] = _error_for_code(code, failed_id, http_status=None, message=message)
        token = response.get("NextToken")
        if not token:
            return found, errors
        kwargs["NextToken"] = token


def _batch_error(exc: Exception, secret_ids: str) -> SecretServiceError:
    error = translate(exc, secret_id=secret_ids)
    if isinstance(error, SecretAccessDeniedError) and isinstance(
        exc, botocore.exceptions.ClientError
    ):  # the call itself was refused: the action, not each secret's GetSecretValue
        return SecretAccessDeniedError(
            f"BatchGetSecretValue for secrets {secret_ids} denied ({error.code}); the role "
            "needs secretsmanager:BatchGetSecretValue on resource '*' (each secret is then "
            "authorised by its own secretsmanager:GetSecretValue and kms:Decrypt)",
            secret_id=secret_ids,
            code=error.code,
        )
    return error


def _batch_item(item: Any) -> FetchedSecret:
    try:
        return _fetched(item, item.get("Name", "?"))
    except SecretFormatError as exc:  # this secret alone: the rest of the batch is good
        return FetchedSecret(
            secret_string="",
            arn=item.get("ARN", ""),
            name=item.get("Name", ""),
            version_id=item.get("VersionId", ""),
            error=exc,
        )


def _fetched(response: Any, secret_id: str) -> FetchedSecret:
    secret_string = response.get("SecretString")
    if secret_string is None:
        raise SecretFormatError(
            f"secret {secret_id} has no SecretString (it stores SecretBinary); "
            "store the value as a string",
            secret_id=secret_id,
            field="SecretString",
        )
    return FetchedSecret(
        secret_string=secret_string,
        arn=response.get("ARN", ""),
        name=response.get("Name", ""),
        version_id=response.get("VersionId", ""),
    )


def translate(exc: BaseException, *, secret_id: str) -> SecretServiceError:
    """The typed error for a botocore exception (the caller chains it with ``from``)."""
    if isinstance(exc, SecretServiceError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        metadata = exc.response.get("ResponseMetadata", {})
        return _error_for_code(
            str(error.get("Code", "Unknown")),
            secret_id,
            http_status=metadata.get("HTTPStatusCode"),
            message=str(error.get("Message", "")),
        )
    if isinstance(
        exc,
        botocore.exceptions.NoCredentialsError
        | botocore.exceptions.PartialCredentialsError
        | botocore.exceptions.CredentialRetrievalError,
    ):
        return SecretAccessDeniedError(
            f"no usable AWS credentials to read secret {secret_id} ({type(exc).__name__}); "
            "check the function's execution role",
            secret_id=secret_id,
            code=type(exc).__name__,
        )
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return SecretConfigError(
            f"no AWS region to read secret {secret_id}: set AWS_REGION or pass a client",
            secret_id=secret_id,
        )
    if isinstance(
        exc,
        botocore.exceptions.HTTPClientError  # connect/read timeouts, connection closed, proxy
        | botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectionError,
    ):
        return SecretUnavailableError(
            f"Secrets Manager did not answer for secret {secret_id} ({type(exc).__name__}); "
            "check the VPC endpoint or NAT route and the timeouts",
            secret_id=secret_id,
            code=type(exc).__name__,
        )
    return SecretUnavailableError(
        f"reading secret {secret_id} failed unexpectedly ({type(exc).__name__})",
        secret_id=secret_id,
        code=type(exc).__name__,
    )


def _error_for_code(  # noqa: PLR0911 - one return per row of the table above
    code: str, secret_id: str, *, http_status: int | None, message: str
) -> SecretServiceError:
    if code == "ResourceNotFoundException" or (
        code == "InvalidRequestException" and "delet" in message.lower()
    ):
        return SecretNotFoundError(
            f"secret {secret_id} (or the version asked for) does not exist or is scheduled "
            f"for deletion ({code}); check the name/ARN and the version stage",
            secret_id=secret_id,
            code=code,
        )
    if code in ACCESS_CODES:
        return SecretAccessDeniedError(
            f"access to secret {secret_id} denied ({code}); the role needs "
            "secretsmanager:GetSecretValue on it and kms:Decrypt on its key",
            secret_id=secret_id,
            code=code,
        )
    if code == "DecryptionFailure" or code.startswith("KMS"):
        return SecretDecryptionError(
            f"Secrets Manager could not decrypt secret {secret_id} ({code}); check the KMS "
            "key is enabled and its policy allows this role",
            secret_id=secret_id,
            code=code,
        )
    if code in THROTTLING_CODES or http_status == 429:
        return SecretThrottledError(
            f"reading secret {secret_id} was throttled ({code})",
            secret_id=secret_id,
            code=code,
        )
    if code in SERVER_CODES or (http_status is not None and http_status >= 500):
        return SecretUnavailableError(
            f"Secrets Manager failed reading secret {secret_id} ({code}, HTTP {http_status})",
            secret_id=secret_id,
            code=code,
        )
    if code in REQUEST_CODES:
        return SecretConfigError(
            f"Secrets Manager refused the request for secret {secret_id} ({code}); check "
            "the secret id and the version stage",
            secret_id=secret_id,
            code=code,
        )
    return SecretServiceError(
        f"reading secret {secret_id} failed ({code})", secret_id=secret_id, code=code
    )
