"""The real HTTP path: the default service against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from tests.unit.secret_layer.logcheck import remember

from harness.aws import DEFAULT_REGION
from harness.mariadb import free_port
from secret_service import SecretService, SecretUnavailableError, get_default_service
from secret_service.client import reset_default_service

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient

    from harness.aws import MotoServer

VALUE = json.dumps({"signingKey": "server-jwt-key-" + "s" * 40})


@pytest.fixture
def server_client(moto_server: MotoServer) -> Iterator[SecretsManagerClient]:
    client = boto3.client(
        "secretsmanager", region_name=DEFAULT_REGION, endpoint_url=moto_server.endpoint_url
    )
    remember(VALUE)
    name = "http/jwt"
    client.create_secret(Name=name, SecretString=VALUE)
    yield client
    client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def default_service(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SecretService]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_server.endpoint_url)
    monkeypatch.setenv("SECRETS_CACHE_TTL_S", "120")
    reset_default_service()
    yield get_default_service()
    reset_default_service()


def test_the_default_service_reads_over_http_with_its_own_client(
    server_client: SecretsManagerClient, default_service: SecretService
) -> None:
    config = default_service.get_jwt_config("http/jwt")
    keys = default_service.get_jwt_verification_keys("http/jwt")

    assert config.signing_key.startswith("server-jwt-key-")
    assert len(keys) == 1
    assert default_service._client is not None
    assert default_service._client.meta.config.retries == {
        "mode": "standard",
        "total_max_attempts": 1,
    }


def test_preloading_20_secrets_over_http_is_one_call(
    server_client: SecretsManagerClient, moto_server: MotoServer
) -> None:
    names = [f"http/preload-{i}" for i in range(20)]
    for name in names:
        remember(f"preload-value-{name}")
        server_client.create_secret(Name=name, SecretString=f"preload-value-{name}")
    service = SecretService(server_client)
    try:
        service.preload(names)

        assert service.stats().api_calls == 1
        assert service.get_secret_string(names[-1]) == f"preload-value-{names[-1]}"
    finally:
        for name in names:
            server_client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_a_refused_connection_is_unavailable_after_bounded_retries() -> None:
    # Given an endpoint on 127.0.0.1 where nothing listens
    client = boto3.client(
        "secretsmanager",
        region_name=DEFAULT_REGION,
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.5),
    )
    sleeps: list[float] = []
    service = SecretService(client, max_attempts=3, sleep=sleeps.append)

    with pytest.raises(SecretUnavailableError) as caught:
        service.get_secret_string("anything")

    assert caught.value.code == "EndpointConnectionError"
    assert service.stats().api_calls == 3
    assert len(sleeps) == 2
