"""Fixtures of the layer's unit tests: a fake clock, a stubbed client, the log check."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from tests.unit.secret_layer.logcheck import no_secret_in_layer_logs
from tests.unit.secret_layer.support import REGION, FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.logcheck import LineCapture

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def layer_logs() -> Iterator[LineCapture]:
    """Every test here: capture the layer's log lines; no remembered secret value in them."""
    with no_secret_in_layer_logs() as capture:
        yield capture


@pytest.fixture
def sm(aws: None) -> SecretsManagerClient:
    """A moto-backed client with botocore's retries off: only the service retries."""
    return boto3.client("secretsmanager", region_name=REGION, config=NO_RETRIES)


@pytest.fixture
def stubbed() -> Iterator[tuple[SecretsManagerClient, Stubber]]:
    """A real botocore client whose every call must have been declared on the Stubber."""
    client = boto3.client("secretsmanager", region_name=REGION, config=NO_RETRIES)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
