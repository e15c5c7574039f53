"""The canary's configuration: defaults, and a bad variable named in the error."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import TYPE_CHECKING

import pytest

from canary_config import CanaryConfig
from canary_errors import CanaryConfigError

if TYPE_CHECKING:
    from pathlib import Path

ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:goal-mandala-dev-secret-jwt-AbC123"


def env(**overrides: str) -> dict[str, str]:
    base = {
        "ENVIRONMENT": "dev",
        "POWERTOOLS_METRICS_NAMESPACE": "GoalMandala/Secrets",
        "POWERTOOLS_SERVICE_NAME": "goal-mandala-secrets",
        "SECRET_IDS": "goal-mandala-dev-secret-jwt",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v != "<unset>"}


def test_defaults_apply_when_only_the_required_variables_are_set() -> None:
    config = CanaryConfig.from_env(env())

    assert config.environment == "dev"
    assert config.metrics_namespace == "GoalMandala/Secrets"
    assert config.service_name == "goal-mandala-secrets"
    assert config.secret_ids == ("goal-mandala-dev-secret-jwt",)
    assert (config.rotation_period_days, config.probe_timeout_ms) == (30, 3000)
    assert config.db_connect_timeout_s == 5.0
    assert config.rds_ca_bundle is None
    assert config.discovers_by_tag is False


def test_secret_ids_are_split_trimmed_and_deduplicated() -> None:
    config = CanaryConfig.from_env(env(SECRET_IDS=f" a-database , {ARN},,a-database "))

    assert config.secret_ids == ("a-database", ARN)


def test_every_option_is_read() -> None:
    config = CanaryConfig.from_env(
        env(
            DATABASE_SECRET_ID="goal-mandala-dev-secret-database",
            SECRET_TAG_KEY="goal-mandala:canary",
            SECRET_TAG_VALUE="enabled",
            ROTATION_PERIOD_DAYS="7",
            PROBE_TIMEOUT_MS="1500",
            DB_CONNECT_TIMEOUT_S="2.5",
        )
    )

    assert config.database_secret_id == "goal-mandala-dev-secret-database"
    assert (config.secret_tag_key, config.secret_tag_value) == ("goal-mandala:canary", "enabled")
    assert config.discovers_by_tag is True
    assert (config.rotation_period_days, config.probe_timeout_ms) == (7, 1500)
    assert config.db_connect_timeout_s == 2.5


def test_a_secrets_manager_endpoint_is_read_and_empty_means_the_regional_one() -> None:
    url = "https://vpce-0a1b-x.secretsmanager.ap-northeast-1.vpce.amazonaws.com"

    configured = CanaryConfig.from_env(env(SECRETS_MANAGER_ENDPOINT=url))
    empty = CanaryConfig.from_env(env(SECRETS_MANAGER_ENDPOINT=" "))

    assert configured.secrets_manager_endpoint == url
    assert empty.secrets_manager_endpoint is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost:4566/"])
def test_plain_http_is_accepted_for_a_local_emulator_only(url: str) -> None:
    assert CanaryConfig.from_env(env(SECRETS_MANAGER_ENDPOINT=url)).secrets_manager_endpoint == url

    with pytest.raises(CanaryConfigError, match="plain http to a remote host"):
        CanaryConfig.from_env(env(SECRETS_MANAGER_ENDPOINT="http://secretsmanager.example.com"))


@pytest.mark.parametrize(
    ("raw", "required"), [(None, True), ("true", True), ("FALSE", False), ("false", False)]
)
def test_database_rotation_is_required_unless_turned_off(raw: str | None, required: bool) -> None:
    overrides = {} if raw is None else {"REQUIRE_DATABASE_ROTATION": raw}

    config = CanaryConfig.from_env(env(**overrides))

    assert config.require_database_rotation is required


def test_a_readable_ca_bundle_path_is_kept(tmp_path: Path) -> None:
    bundle = tmp_path / "rds-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")

    config = CanaryConfig.from_env(env(RDS_CA_BUNDLE=str(bundle)))

    assert config.rds_ca_bundle == str(bundle)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"ENVIRONMENT": "<unset>"}, "ENVIRONMENT"),
        ({"ENVIRONMENT": "dev prod"}, "ENVIRONMENT"),
        ({"POWERTOOLS_METRICS_NAMESPACE": "  "}, "POWERTOOLS_METRICS_NAMESPACE"),
        ({"SECRET_IDS": "has space"}, "SECRET_IDS"),
        ({"SECRET_IDS": "arn:aws:secretsmanager:ap-northeast-1:1:secret:x"}, "SECRET_IDS"),
        ({"SECRET_IDS": ""}, "SECRET_IDS"),
        ({"DATABASE_SECRET_ID": "bad id!"}, "DATABASE_SECRET_ID"),
        ({"SECRET_TAG_VALUE": "enabled"}, "SECRET_TAG_KEY"),
        ({"SECRET_TAG_KEY": "bad\x00key"}, "SECRET_TAG_KEY"),
        ({"ROTATION_PERIOD_DAYS": "thirty"}, "ROTATION_PERIOD_DAYS"),
        ({"ROTATION_PERIOD_DAYS": "0"}, "ROTATION_PERIOD_DAYS"),
        ({"ROTATION_PERIOD_DAYS": "2.5"}, "ROTATION_PERIOD_DAYS"),
        ({"PROBE_TIMEOUT_MS": "10"}, "PROBE_TIMEOUT_MS"),
        ({"PROBE_TIMEOUT_MS": "1e9"}, "PROBE_TIMEOUT_MS"),
        ({"DB_CONNECT_TIMEOUT_S": "nan"}, "DB_CONNECT_TIMEOUT_S"),
        ({"DB_CONNECT_TIMEOUT_S": "-1"}, "DB_CONNECT_TIMEOUT_S"),
        ({"RDS_CA_BUNDLE": "/nonexistent/rds-ca.pem"}, "RDS_CA_BUNDLE"),
        ({"SECRETS_MANAGER_ENDPOINT": "vpce-1.secretsmanager.example"}, "SECRETS_MANAGER_ENDPOINT"),
        ({"SECRETS_MANAGER_ENDPOINT": "https://host/path?x=1"}, "SECRETS_MANAGER_ENDPOINT"),
        ({"SECRETS_MANAGER_ENDPOINT": "http://vpce-1.example.com"}, "SECRETS_MANAGER_ENDPOINT"),
        ({"REQUIRE_DATABASE_ROTATION": "yes"}, "REQUIRE_DATABASE_ROTATION"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(CanaryConfigError) as caught:
        CanaryConfig.from_env(env(**overrides))

    assert caught.value.variable == variable
    assert variable in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "variable", "reason"),
    [
        pytest.param({"POWERTOOLS_DEV": "true"}, "POWERTOOLS_DEV", "metrics off", id="dev-mode"),
        pytest.param(
            {"POWERTOOLS_DEV": "1", "POWERTOOLS_METRICS_DISABLED": "false"},
            "POWERTOOLS_DEV",
            "many lines",
            id="dev-mode-with-metrics-kept-on",
        ),
        pytest.param(
            {"POWERTOOLS_METRICS_DISABLED": "on"},
            "POWERTOOLS_METRICS_DISABLED",
            "metrics off",
            id="metrics-disabled",
        ),
        pytest.param(
            {"POWERTOOLS_METRICS_DISABLED": "maybe"},
            "POWERTOOLS_METRICS_DISABLED",
            "true/false",
            id="unreadable-to-powertools",
        ),
        pytest.param(
            {"POWERTOOLS_DEV": ""}, "POWERTOOLS_DEV", "true/false", id="empty-is-unreadable-too"
        ),
    ],
)
def test_powertools_switches_that_would_silence_the_canary_are_refused(
    overrides: dict[str, str], variable: str, reason: str
) -> None:
    # Given a Powertools variable that turns the canary's metrics off, splits its log
    # lines, or that Powertools itself cannot read (a ValueError after the run)
    # When the configuration is read
    with pytest.raises(CanaryConfigError) as caught:
        CanaryConfig.from_env(env(**overrides))

    # Then it is refused up front, naming the variable and why
    assert caught.value.variable == variable
    assert variable in str(caught.value)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"POWERTOOLS_DEV": "false"}, id="dev-off"),
        pytest.param({"POWERTOOLS_METRICS_DISABLED": "0"}, id="metrics-explicitly-on"),
    ],
)
def test_powertools_switches_that_keep_metrics_and_one_line_logs_are_accepted(
    overrides: dict[str, str],
) -> None:
    assert CanaryConfig.from_env(env(**overrides)).environment == "dev"


def test_tag_discovery_alone_is_enough_to_have_something_to_check() -> None:
    config = CanaryConfig.from_env(env(SECRET_IDS="", SECRET_TAG_KEY="goal-mandala:canary"))

    assert config.secret_ids == ()
    assert config.secret_tag_value is None


def test_the_config_is_frozen() -> None:
    config = CanaryConfig.from_env(env())

    with pytest.raises(FrozenInstanceError):
        config.environment = "prod"  # type: ignore[misc]


def test_one_secrets_check_budget_is_every_call_hanging_until_its_timeout() -> None:
    config = CanaryConfig.from_env(env(PROBE_TIMEOUT_MS="3000", DB_CONNECT_TIMEOUT_S="5"))

    # retrieval: 2 attempts x (connect + read); DescribeSecret: connect + read;
    # login: connect + the first read
    assert config.check_budget_s == pytest.approx(2 * (3 + 3) + (3 + 3) + (5 + 5))


def test_a_run_budget_counts_rounds_of_concurrent_checks_and_the_reserve() -> None:
    config = CanaryConfig.from_env(env(PROBE_TIMEOUT_MS="1000", DB_CONNECT_TIMEOUT_S="1"))
    one_round_s = config.check_budget_s + 2.0

    assert config.run_budget_s(0) == pytest.approx(one_round_s)
    assert config.run_budget_s(10) == pytest.approx(one_round_s)
    assert config.run_budget_s(11) == pytest.approx(2 * config.check_budget_s + 2.0)


@pytest.mark.parametrize(
    ("remaining_ms", "deadline_s"),
    [(60_000, 58.0), (50_000, 48.0), (10_000, 8.0), (5_000, 4.0), (1_500, 1.2), (0, 0.0)],
)
def test_the_deadline_keeps_a_reserve_for_publishing(remaining_ms: int, deadline_s: float) -> None:
    config = CanaryConfig.from_env(env())

    assert config.deadline_s(remaining_ms) == pytest.approx(deadline_s)


@pytest.mark.parametrize(
    ("remaining_ms", "configured", "limit_s"),
    [
        pytest.param(60_000, 3, 58.0 - 28.0, id="template-60s-leaves-what-one-round-spares"),
        pytest.param(50_000, 0, 48.0 - 28.0, id="discovery-only-still-keeps-a-round"),
        pytest.param(60_000, 11, 58.0 / 4, id="two-rounds-leave-a-quarter-of-the-deadline"),
        pytest.param(10_000, 3, 8.0 / 4, id="short-lambda-a-quarter-of-the-deadline"),
    ],
)
def test_discovery_may_page_for_the_time_the_checks_leave(
    remaining_ms: int, configured: int, limit_s: float
) -> None:
    # Given the template's timeouts (one round of checks: 28 s)
    config = CanaryConfig.from_env(env(PROBE_TIMEOUT_MS="3000", DB_CONNECT_TIMEOUT_S="5"))

    # Then discovery gets the deadline minus the configured secrets' rounds of checks,
    # and never less than a quarter of the deadline
    assert config.discovery_time_limit_s(
        remaining_ms, configured_count=configured
    ) == pytest.approx(limit_s)
