"""RotationConfig.from_env: defaults, and a bad variable named in the error."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rotation_config import DEFAULT_EXCLUDE_CHARACTERS, RotationConfig
from rotation_errors import RotationConfigError
from rotation_model import Strategy

if TYPE_CHECKING:
    from pathlib import Path


def test_defaults_when_nothing_is_set() -> None:
    config = RotationConfig.from_env({})

    assert config.password_length == 32
    assert config.exclude_characters == "/@\"'\\ "
    assert config.exclude_characters == DEFAULT_EXCLUDE_CHARACTERS
    assert config.strategy is Strategy.SINGLE_USER
    assert config.ca_bundle_path is None
    assert config.secrets_manager_endpoint is None
    assert config.connect_timeout_s == 5.0
    assert config.read_timeout_s == 10.0


def test_every_variable_is_read(tmp_path: Path) -> None:
    bundle = tmp_path / "rds-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")

    config = RotationConfig.from_env(
        {
            "PASSWORD_LENGTH": "48",
            "EXCLUDE_CHARACTERS": "#",
            "ROTATION_STRATEGY": "alternating-users",
            "RDS_CA_BUNDLE": str(bundle),
            "SECRETS_MANAGER_ENDPOINT": "https://vpce-1.secretsmanager.ap-northeast-1.vpce.amazonaws.com",
            "DB_CONNECT_TIMEOUT_S": "2.5",
            "ENVIRONMENT": "prod",
            "POWERTOOLS_METRICS_NAMESPACE": "Ns",
            "POWERTOOLS_SERVICE_NAME": "svc",
        }
    )

    assert (config.password_length, config.exclude_characters) == (48, "#")
    assert config.strategy is Strategy.ALTERNATING_USERS
    assert config.ca_bundle_path == str(bundle)
    assert config.secrets_manager_endpoint is not None
    assert (config.connect_timeout_s, config.environment) == (2.5, "prod")
    assert (config.metrics_namespace, config.service_name) == ("Ns", "svc")


def test_an_empty_exclude_list_means_exclude_nothing() -> None:
    assert RotationConfig.from_env({"EXCLUDE_CHARACTERS": ""}).exclude_characters == ""


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PASSWORD_LENGTH", "long"),
        ("PASSWORD_LENGTH", "8"),
        ("PASSWORD_LENGTH", "5000"),
        ("ROTATION_STRATEGY", "dual-user"),
        ("RDS_CA_BUNDLE", "/nonexistent/ca.pem"),
        ("SECRETS_MANAGER_ENDPOINT", "vpce-1.example"),
        ("SECRETS_MANAGER_ENDPOINT", "https://"),
        ("SECRETS_MANAGER_ENDPOINT", "ftp://secretsmanager.example"),
        ("SECRETS_MANAGER_ENDPOINT", "http://secretsmanager.example.com"),
        ("DB_CONNECT_TIMEOUT_S", "soon"),
        ("DB_CONNECT_TIMEOUT_S", "0"),
        ("DB_CONNECT_TIMEOUT_S", "600"),
        ("ENVIRONMENT", "prod env!"),
        ("DB_CONNECT_TIMEOUT_S", "nan"),
        ("DB_CONNECT_TIMEOUT_S", "inf"),
        ("EXCLUDE_CHARACTERS", "0123456789"),
        ("EXCLUDE_CHARACTERS", "abcdefghijklmnopqrstuvwxyz"),
        ("EXCLUDE_CHARACTERS", "!#$%&()*+,-.:;<=>?[]^_`{|}~/@\"'\\ "),
    ],
)
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(RotationConfigError) as caught:
        RotationConfig.from_env({variable: value})

    assert caught.value.variable == variable
    assert variable in str(caught.value)


def test_the_config_is_frozen() -> None:
    config = RotationConfig.from_env({})

    with pytest.raises(AttributeError):
        config.password_length = 8  # type: ignore[misc]


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost:4566"])
def test_plain_http_is_accepted_for_a_local_emulator(url: str) -> None:
    config = RotationConfig.from_env({"SECRETS_MANAGER_ENDPOINT": url})

    assert config.secrets_manager_endpoint == url
