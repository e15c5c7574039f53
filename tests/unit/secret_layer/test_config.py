"""ServiceConfig.from_env and get_default_service: read at first use, errors name the variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from secret_service import SecretConfigError, SecretService, ServiceConfig, get_default_service
from secret_service.client import reset_default_service

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def fresh_default() -> Iterator[None]:
    reset_default_service()
    yield
    reset_default_service()


def test_unset_variables_keep_the_defaults() -> None:
    assert ServiceConfig.from_env({}) == ServiceConfig()


def test_every_variable_is_read() -> None:
    config = ServiceConfig.from_env(
        {
            "SECRETS_CACHE_TTL_S": "60",
            "SECRETS_CACHE_MAX_ENTRIES": "10",
            "SECRETS_CACHE_MAX_STALE_S": "120",
            "SECRETS_RETRY_MAX_ATTEMPTS": "3",
            "SECRETS_RETRY_MAX_TOTAL_S": "2.5",
            "SECRETS_CONNECT_TIMEOUT_S": "1",
            "SECRETS_READ_TIMEOUT_S": "3",
            "RDS_CA_BUNDLE": "/opt/rds-ca.pem",
        }
    )

    assert config == ServiceConfig(
        ttl_s=60,
        max_entries=10,
        max_stale_s=120,
        max_attempts=3,
        max_total_s=2.5,
        connect_timeout_s=1,
        read_timeout_s=3,
        ca_bundle_path="/opt/rds-ca.pem",
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRETS_CACHE_TTL_S", "five"),
        ("SECRETS_CACHE_TTL_S", "-1"),
        ("SECRETS_CACHE_MAX_ENTRIES", "1.5"),
        ("SECRETS_CACHE_MAX_ENTRIES", "0"),
        ("SECRETS_RETRY_MAX_ATTEMPTS", "99"),
        ("SECRETS_READ_TIMEOUT_S", "0"),
        ("SECRETS_CACHE_TTL_S", "nan"),
        ("SECRETS_CACHE_MAX_STALE_S", "inf"),
        ("SECRETS_CACHE_MAX_ENTRIES", "1e3"),
        ("SECRETS_RETRY_MAX_ATTEMPTS", "true"),
        ("SECRETS_RETRY_MAX_TOTAL_S", "901"),
        ("SECRETS_CONNECT_TIMEOUT_S", "0.01"),
    ],
)
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SecretConfigError, match=variable):
        ServiceConfig.from_env({variable: value})


def test_the_default_service_reads_the_environment_at_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRETS_CACHE_TTL_S", "42")

    service = get_default_service()

    assert service._ttl_s == 42
    assert get_default_service() is service
    assert service._client is None  # no client until the first miss


def test_the_default_service_refuses_a_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETS_CACHE_MAX_STALE_S", "forever")

    with pytest.raises(SecretConfigError, match="SECRETS_CACHE_MAX_STALE_S"):
        get_default_service()


def test_the_default_client_has_short_timeouts_and_no_botocore_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from secret_service.aws import create_default_client

    client = create_default_client(connect_timeout_s=1.5, read_timeout_s=4)

    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1.5, 4)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_no_region_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from secret_service.aws import create_default_client

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")

    with pytest.raises(SecretConfigError, match="AWS_REGION"):
        create_default_client(connect_timeout_s=1, read_timeout_s=1)


def test_a_bad_value_error_keeps_its_cause() -> None:
    with pytest.raises(SecretConfigError) as caught:
        ServiceConfig.from_env({"SECRETS_CACHE_MAX_ENTRIES": "many"})

    assert isinstance(caught.value.__cause__, ValueError)
    assert isinstance(caught.value, ValueError)


def test_blank_and_padded_values(monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServiceConfig.from_env(
        {"SECRETS_CACHE_TTL_S": "  ", "SECRETS_CACHE_MAX_ENTRIES": " 7 "}
    )

    assert (config.ttl_s, config.max_entries) == (300.0, 7)


def test_the_default_service_is_made_once_the_environment_is_fixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a bad variable: the first use fails and nothing broken is kept
    monkeypatch.setenv("SECRETS_CACHE_MAX_ENTRIES", "0")
    with pytest.raises(SecretConfigError, match="SECRETS_CACHE_MAX_ENTRIES"):
        get_default_service()

    # When it is fixed, Then the next call builds the service from it
    monkeypatch.setenv("SECRETS_CACHE_MAX_ENTRIES", "12")
    assert get_default_service()._max_entries == 12


def test_the_environment_is_read_once_not_at_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETS_CACHE_TTL_S", "30")
    service = get_default_service()

    monkeypatch.setenv("SECRETS_CACHE_TTL_S", "bogus")

    assert get_default_service() is service
    assert service._ttl_s == 30


def test_from_config_lets_an_option_override_the_configured_setting() -> None:
    # Given the environment's settings, and one of them overridden as an option
    config = ServiceConfig.from_env({"SECRETS_CACHE_TTL_S": "300"})

    # When the service is built from both (it was "got multiple values for 'ttl_s'")
    service = SecretService.from_config(config, ttl_s=60, max_entries=5)

    # Then the option wins and the rest of the configuration is kept
    assert repr(service) == "SecretService(ttl_s=60, max_entries=5, entries=0)"
