"""Fixtures for the canary: its handler with a fresh configuration, and its environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from tests.integration.health_check.canary_support import NAMESPACE, SERVICE

from harness.lambda_runtime import load_handler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType


@pytest.fixture
def canary() -> Iterator[ModuleType]:
    """The canary's handler module, with no configuration or client cached."""
    app = load_handler("health_check")
    app.clear_caches()
    yield app
    app.clear_caches()


@pytest.fixture
def canary_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the canary's environment as the template does; keyword overrides win."""
    for name in (
        "POWERTOOLS_METRICS_DISABLED",
        "POWERTOOLS_DEV",
        "SECRET_TAG_KEY",
        "SECRET_TAG_VALUE",
        "DATABASE_SECRET_ID",
        "RDS_CA_BUNDLE",
        "SECRETS_MANAGER_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)

    def apply(**variables: str) -> None:
        base = {
            "ENVIRONMENT": "dev",
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "PROBE_TIMEOUT_MS": "2000",
            "DB_CONNECT_TIMEOUT_S": "2",
        }
        base.update(variables)
        for name, value in base.items():
            monkeypatch.setenv(name, value)

    return apply


@pytest.fixture
def boto3_session(aws: None) -> Iterator[boto3.Session]:
    """A fresh default boto3 session (made after moto started), dropped afterwards.

    Clients made with ``boto3.client()`` during the test, the canary's included,
    inherit the event hooks registered on it; none outlive the test.
    """
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    yield boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None
