"""Fixtures shared by every tier: offline AWS, the throwaway MariaDB, moto.

The whole suite runs with fake AWS credentials and no instance metadata lookups, and
pytest-socket only lets sockets connect to the loopback addresses (see pyproject.toml).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from harness.aws import MotoServer, offline_environment
from harness.mariadb import MariaDBServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient


def pytest_configure(config: pytest.Config) -> None:
    # Before any test or fixture imports boto3: no real credentials, no IMDS, ever.
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        os.environ.pop(name, None)
    os.environ.update(offline_environment())


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """One throwaway TLS MariaDB for the session; removed at the end, also on failure."""
    with MariaDBServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A moto server on 127.0.0.1 for tests where the real HTTP path matters."""
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto for every AWS service, fresh state per test."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def secretsmanager(aws: None) -> SecretsManagerClient:
    import boto3

    return boto3.client("secretsmanager", region_name=os.environ["AWS_DEFAULT_REGION"])


def unique_name(prefix: str) -> str:
    """A short unique identifier usable as a MySQL user or database name."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class DatabaseUser:
    """An application database and its owning user on the throwaway server."""

    database: str
    username: str
    password: str = "app-Passw0rd!initial"


@pytest.fixture
def db_user(mariadb: MariaDBServer) -> Iterator[DatabaseUser]:
    """A uniquely named database and user (REQUIRE SSL), dropped after the test."""
    user = DatabaseUser(database=unique_name("appdb"), username=unique_name("app"))
    mariadb.create_database_user(
        database=user.database, username=user.username, password=user.password
    )
    yield user
    mariadb.drop_database_user(database=user.database, username=user.username)
