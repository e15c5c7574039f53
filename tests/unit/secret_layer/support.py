"""Helpers of the layer's tests: a fake clock, canned responses, moto secret writers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError
from tests.unit.secret_layer.logcheck import remember

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "ACCOUNT",
    "REGION",
    "FakeClock",
    "FaultInjector",
    "arn_of",
    "aws_error_response",
    "create_secret",
    "get_response",
    "put_value",
]

REGION = os.environ.get("AWS_DEFAULT_REGION", "ap-northeast-1")
ACCOUNT = "123456789012"


@dataclass
class FakeClock:
    """``clock`` and ``sleep`` for a SecretService: sleeping only moves the clock."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def arn_of(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"


def get_response(name: str, value: str, *, version_id: str = "v" * 32) -> dict[str, Any]:
    remember(value)
    return {
        "ARN": arn_of(name),
        "Name": name,
        "VersionId": version_id,
        "SecretString": value,
        "VersionStages": ["AWSCURRENT"],
    }


def create_secret(client: SecretsManagerClient, name: str, value: str) -> str:
    """Create a secret in moto, remembering its value for the log check; returns its ARN."""
    remember(value)
    return client.create_secret(Name=name, SecretString=value)["ARN"]


def put_value(client: SecretsManagerClient, name: str, value: str) -> None:
    """A new AWSCURRENT version (the previous one becomes AWSPREVIOUS)."""
    remember(value)
    client.put_secret_value(SecretId=name, SecretString=value)


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def aws_error_response(status: int, code: str) -> AWSResponse:
    """An HTTP answer as Secrets Manager sends it for an error."""
    body = json.dumps({"__type": code, "message": "injected"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "r"}
    return AWSResponse("https://secretsmanager.invalid/", status, headers, _RawBody(body))


@dataclass
class FaultInjector:
    """A botocore ``before-send`` hook: decides per request to fail it or let it through.

    ``decide()`` returns ``None`` (send), ``"throttle"``, ``"5xx"`` or ``"network"``.
    Registered first on the client's own event emitter, so it runs before moto's.
    """

    decide: Callable[[], str | None]
    requests: int = 0
    injected: dict[str, int] = field(default_factory=dict)

    def install(self, client: Any, operation: str = "GetSecretValue") -> FaultInjector:
        client.meta.events.register_first(f"before-send.secrets-manager.{operation}", self)
        return self

    def __call__(self, **_: Any) -> AWSResponse | None:
        self.requests += 1
        fault = self.decide()
        if fault is None:
            return None
        self.injected[fault] = self.injected.get(fault, 0) + 1
        if fault == "throttle":
            return aws_error_response(400, "ThrottlingException")
        if fault == "5xx":
            return aws_error_response(503, "ServiceUnavailable")
        raise EndpointConnectionError(endpoint_url="https://secretsmanager.invalid")
