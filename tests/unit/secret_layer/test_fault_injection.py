"""Faults injected through botocore event hooks into a moto-backed client."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from tests.unit.secret_layer.support import FaultInjector, create_secret

from secret_service import SecretService, SecretUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.logcheck import LineCapture
    from tests.unit.secret_layer.support import FakeClock

VALUE = "fault-value-e04f"


def test_with_30_percent_of_calls_throttled_1000_reads_all_succeed(
    sm: SecretsManagerClient, clock: FakeClock
) -> None:
    # Given 30 % of GetSecretValue calls throttled at random (seeded: the run is repeatable)
    create_secret(sm, "busy", VALUE)
    draw = random.Random(30)
    faults = FaultInjector(lambda: "throttle" if draw.random() < 0.3 else None)
    faults.install(sm)
    secrets = SecretService(sm, ttl_s=1, clock=clock, sleep=clock.sleep)  # default retries

    # When 1,000 reads each go to the API (the TTL passes between reads)
    values = []
    for _ in range(1_000):
        values.append(secrets.get_secret_string("busy"))
        clock.advance(2)

    # Then every read succeeded, and the throttling really happened
    assert values == [VALUE] * 1_000
    throttled = faults.injected["throttle"]
    assert 0.25 < throttled / faults.requests < 0.35
    stats = secrets.stats()
    assert (stats.errors, stats.stale_served, stats.retries) == (0, 0, throttled)
    assert stats.api_calls == faults.requests


@pytest.mark.parametrize("fault", ["5xx", "network", "throttle"])
def test_a_total_outage_serves_the_stale_value_then_raises_the_typed_error(
    sm: SecretsManagerClient, clock: FakeClock, fault: str, layer_logs: LineCapture
) -> None:
    # Given a value read while the API was healthy
    create_secret(sm, "app/db", VALUE)
    outage = {"on": False}
    FaultInjector(lambda: fault if outage["on"] else None).install(sm)
    secrets = SecretService(sm, ttl_s=60, max_stale_s=300, clock=clock, sleep=clock.sleep)
    secrets.get_secret_string("app/db")

    # When the API goes down for good and time passes
    outage["on"] = True
    clock.advance(61)
    during = secrets.get_secret_string("app/db")
    clock.advance(200)
    still = secrets.get_secret_string("app/db")
    clock.advance(150)  # now 60 + 300 s past the value's expiry

    # Then the stale value was served within max_stale_s, with a warning each refresh
    assert (during, still) == (VALUE, VALUE)
    assert secrets.stats().stale_served == 2
    assert sum("stale secret served" in line for line in layer_logs.lines) == 2
    # And past it the typed error arrives
    expected = "SecretThrottledError" if fault == "throttle" else "SecretUnavailableError"
    with pytest.raises(SecretUnavailableError if fault != "throttle" else Exception) as caught:
        secrets.get_secret_string("app/db")
    assert type(caught.value).__name__ == expected


def test_an_outage_with_nothing_cached_raises_after_bounded_retries(
    sm: SecretsManagerClient, clock: FakeClock
) -> None:
    create_secret(sm, "app/db", VALUE)
    faults = FaultInjector(lambda: "5xx").install(sm)
    secrets = SecretService(sm, clock=clock, sleep=clock.sleep, max_attempts=4, max_total_s=10)

    with pytest.raises(SecretUnavailableError) as caught:
        secrets.get_secret_string("app/db")

    assert faults.requests == 4
    assert len(clock.sleeps) == 3
    assert caught.value.code == "ServiceUnavailable"
