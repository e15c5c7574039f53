"""Adapter: the Secrets Manager calls of the rotation protocol, and only those.

Not the layer's caching client: rotation needs exact reads by ``VersionId`` and
``VersionStage`` and must never see a cached value. Every read passes a stage (moto and
some SDK paths can return a stale value for a stage-less read after a label move).
AWS error codes are translated here, once:

* ``ResourceNotFoundException`` -> :class:`SecretNotFoundError` (or ``None`` for a
  version that has no value yet, where the caller asked for that);
* ``AccessDeniedException`` -> :class:`SecretAccessDeniedError`;
* ``DecryptionFailure`` -> :class:`SecretDecryptionError`;
* throttling -> retried by botocore (standard mode), then :class:`SecretThrottledError`;
* 5xx and network errors -> retried, then :class:`SecretUnavailableError`;
* any other refusal -> :class:`RotationSecretsManagerError` with the code.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
    BotoCoreError,
    ClientError,
    ParamValidationError,
)

from rotation_errors import RotationSecretsManagerError
from rotation_model import SecretMetadata
from secret_service.errors import (
    SecretAccessDeniedError,
    SecretDecryptionError,
    SecretNotFoundError,
    SecretThrottledError,
    SecretUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["SecretsManagerStore"]

_THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})
_UNAVAILABLE = frozenset({"InternalServiceError", "InternalFailure", "ServiceUnavailable"})


class SecretsManagerStore:
    """Secrets Manager for one function container. The client is made on first use."""

    def __init__(
        self,
        client: SecretsManagerClient | None = None,
        *,
        endpoint_url: str | None = None,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        max_attempts: int = 4,
    ) -> None:
        self._client = client
        self._endpoint_url = endpoint_url
        self._config = Config(
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"mode": "standard", "max_attempts": max_attempts},
        )

    @property
    def client(self) -> SecretsManagerClient:
        if self._client is None:
            self._client = boto3.client(
                "secretsmanager", endpoint_url=self._endpoint_url, config=self._config
            )
        return self._client

    def describe(self, secret_id: str) -> SecretMetadata:
        with _translated(secret_id, "DescribeSecret"):
            meta = self.client.describe_secret(SecretId=secret_id)
        versions = {
            version_id: frozenset(stages)
            for version_id, stages in meta.get("VersionIdsToStages", {}).items()
        }
        return SecretMetadata(
            arn=meta["ARN"],
            name=meta["Name"],
            rotation_enabled=bool(meta.get("RotationEnabled", False)),
            versions=versions,
            scheduled_for_deletion=meta.get("DeletedDate") is not None,
        )

    def get_value(
        self,
        secret_id: str,
        *,
        stage: str,
        version_id: str | None = None,
        missing_ok: bool = False,
    ) -> str | None:
        """The SecretString of a stage (and version); None if absent and ``missing_ok``."""
        kwargs: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if version_id is not None:
            kwargs["VersionId"] = version_id
        try:
            with _translated(secret_id, "GetSecretValue"):
                value = self.client.get_secret_value(**kwargs)
        except SecretNotFoundError:
            if missing_ok:
                return None
            raise
        secret_string = value.get("SecretString")
        if secret_string is None:
            raise RotationSecretsManagerError(
                f"secret {secret_id} stage {stage} holds a binary value; rotation needs a "
                "JSON SecretString",
                secret_id=secret_id,
            )
        return secret_string

    def put_pending(
        self,
        secret_id: str,
        *,
        token: str,
        secret_string: str,
        rotation_token: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {
            "SecretId": secret_id,
            "ClientRequestToken": token,
            "SecretString": secret_string,
            "VersionStages": ["AWSPENDING"],
        }
        if rotation_token is not None:
            kwargs["RotationToken"] = rotation_token
        with _translated(secret_id, "PutSecretValue"):
            self.client.put_secret_value(**kwargs)

    def random_password(
        self, *, length: int, exclude_characters: str, exclude_punctuation: bool = False
    ) -> str:
        kwargs: dict[str, Any] = {
            "PasswordLength": length,
            "ExcludePunctuation": exclude_punctuation,
            "RequireEachIncludedType": True,
        }
        if exclude_characters:
            kwargs["ExcludeCharacters"] = exclude_characters
        with _translated(None, "GetRandomPassword"):
            return self.client.get_random_password(**kwargs)["RandomPassword"]

    def move_stage(
        self,
        secret_id: str,
        *,
        stage: str,
        to_version_id: str | None,
        from_version_id: str | None,
    ) -> None:
        """Attach ``stage`` to ``to_version_id`` and/or detach it from ``from_version_id``."""
        kwargs: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if to_version_id is not None:
            kwargs["MoveToVersionId"] = to_version_id
        if from_version_id is not None:
            kwargs["RemoveFromVersionId"] = from_version_id
        with _translated(secret_id, "UpdateSecretVersionStage"):
            self.client.update_secret_version_stage(**kwargs)


@contextlib.contextmanager
def _translated(secret_id: str | None, operation: str) -> Iterator[None]:
    what = f"{operation} on {secret_id}" if secret_id else operation
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code == "ResourceNotFoundException":
            raise SecretNotFoundError(
                f"{what}: the secret or the requested version does not exist",
                secret_id=secret_id,
                code=code,
            ) from exc
        if code == "AccessDeniedException":
            raise SecretAccessDeniedError(
                f"{what} was denied; check the function role's policy and the secret's KMS "
                "key policy",
                secret_id=secret_id,
                code=code,
            ) from exc
        if code == "DecryptionFailure":
            raise SecretDecryptionError(
                f"{what}: KMS could not decrypt the secret; check the key is enabled and the "
                "role may use it",
                secret_id=secret_id,
                code=code,
            ) from exc
        if code in _THROTTLED:
            raise SecretThrottledError(
                f"{what} was still throttled after retries", secret_id=secret_id, code=code
            ) from exc
        if code in _UNAVAILABLE or status >= 500:
            raise SecretUnavailableError(
                f"{what} failed with a server error ({code}) after retries",
                secret_id=secret_id,
                code=code,
            ) from exc
        raise RotationSecretsManagerError(
            f"{what} was refused ({code})", secret_id=secret_id, code=code
        ) from exc
    except ParamValidationError as exc:
        raise RotationSecretsManagerError(
            f"{what}: invalid request parameters ({type(exc).__name__})", secret_id=secret_id
        ) from None  # the report can quote parameter values, such as SecretString
    except BotoCoreError as exc:
        raise SecretUnavailableError(
            f"{what} could not reach Secrets Manager ({type(exc).__name__}); check "
            "SECRETS_MANAGER_ENDPOINT, the VPC endpoint and its security group",
            secret_id=secret_id,
        ) from exc
