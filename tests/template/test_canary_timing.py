"""The canary's per-call timeouts fit inside the Lambda Timeout the template gives it.

The budget arithmetic is the canary's own (``CanaryConfig.check_budget_s``,
``run_budget_s``, ``deadline_s``): one source for the code, its docs and this check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from tests.template.conftest import ENVIRONMENTS, deploy

from canary_config import CanaryConfig

if TYPE_CHECKING:
    from pathlib import Path

    from tests.template.conftest import Deployed


def canary_config(deployed: Deployed, bundle: Path) -> CanaryConfig:
    variables = dict(deployed.props("HealthCheckFunction")["Environment"]["Variables"])
    variables["RDS_CA_BUNDLE"] = str(bundle)
    return CanaryConfig.from_env({k: str(v) for k, v in variables.items()})


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "global-bundle.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def rates(raw_template: dict[str, Any]) -> list[str]:
    return list(raw_template["Parameters"]["CanaryRateMinutes"]["AllowedValues"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_check_ends_on_its_own_timeout_before_the_deadline(
    env: str, raw_template: dict[str, Any], bundle: Path
) -> None:
    for rate in rates(raw_template):
        # Given the canary as deployed at this rate: its timeouts and its Lambda Timeout
        deployed = deploy(env, CanaryRateMinutes=rate)
        config = canary_config(deployed, bundle)
        timeout_s = float(deployed.props("HealthCheckFunction")["Timeout"])
        secrets = len({*config.secret_ids, config.database_secret_id})

        # When every call of every secret hangs until its own timeout
        needed_s = config.run_budget_s(secrets)

        # Then the checks still end (as typed per-secret failures) before the run's
        # deadline, which itself leaves the reserve for publishing inside the Timeout
        assert needed_s <= timeout_s, f"rate {rate}: {needed_s} s needed, Timeout {timeout_s} s"
        assert config.deadline_s(timeout_s * 1000) >= needed_s - config.deadline_reserve_ms / 1000
        assert timeout_s - config.deadline_s(timeout_s * 1000) >= config.deadline_reserve_ms / 1000


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_run_ends_before_the_next_one_starts(env: str, raw_template: dict[str, Any]) -> None:
    mapping = raw_template["Mappings"]["CanarySchedule"]

    for rate in rates(raw_template):
        deployed = deploy(env, CanaryRateMinutes=rate)
        timeout_s = float(deployed.props("HealthCheckFunction")["Timeout"])
        assert timeout_s < int(rate) * 60, rate
        assert timeout_s == mapping[rate]["TimeoutSeconds"], rate
        assert deployed.props("DatabaseRetrievalFailureAlarm")["Period"] == int(rate) * 60


def test_the_canary_timeout_never_falls_back_to_the_global_default(
    raw_template: dict[str, Any],
) -> None:
    function = raw_template["Resources"]["HealthCheckFunction"]["Properties"]

    assert function["Timeout"] == {
        "Fn::FindInMap": ["CanarySchedule", {"Ref": "CanaryRateMinutes"}, "TimeoutSeconds"]
    }
