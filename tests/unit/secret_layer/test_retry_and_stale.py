"""Backoff (full jitter, bounded attempts and time) and stale-on-error, on a fake clock."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber
from tests.unit.secret_layer.support import REGION, get_response

from secret_service import (
    RetryPolicy,
    SecretAccessDeniedError,
    SecretConfigError,
    SecretDecryptionError,
    SecretNotFoundError,
    SecretService,
    SecretThrottledError,
    SecretUnavailableError,
)

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.logcheck import LineCapture
    from tests.unit.secret_layer.support import FakeClock

Stubbed = tuple["SecretsManagerClient", "Stubber"]
VALUE = "retry-value-5c1d"


def service(client: Any, clock: FakeClock, **options: Any) -> SecretService:
    options.setdefault("random", lambda: 0.5)
    return SecretService(client, clock=clock, sleep=clock.sleep, **options)


def throttle(stubber: Stubber, times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error(
            "get_secret_value", "ThrottlingException", "Rate exceeded", http_status_code=400
        )


def server_error(stubber: Stubber, times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error(
            "get_secret_value", "InternalServiceError", "boom", http_status_code=500
        )


def test_throttling_is_retried_with_full_jitter_backoff(stubbed: Stubbed, clock: FakeClock) -> None:
    # Given two throttles then a value, random() = 0.5, base delay 0.05 s
    client, stubber = stubbed
    throttle(stubber, 2)
    stubber.add_response("get_secret_value", get_response("a", VALUE))
    secrets = service(client, clock, base_delay_s=0.05)

    # When the secret is read
    value = secrets.get_secret_string("a")

    # Then it arrives after sleeping half of 0.05 s then half of 0.1 s
    assert value == VALUE
    assert clock.sleeps == pytest.approx([0.025, 0.05])
    stats = secrets.stats()
    assert (stats.api_calls, stats.api_errors, stats.retries, stats.errors) == (3, 2, 2, 0)


def test_throttling_that_never_ends_raises_after_max_attempts(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    client, stubber = stubbed
    throttle(stubber, 3)
    secrets = service(client, clock, max_attempts=3)

    with pytest.raises(SecretThrottledError) as caught:
        secrets.get_secret_string("a")

    assert isinstance(caught.value.__cause__, botocore.exceptions.ClientError)
    assert caught.value.code == "ThrottlingException"
    assert "after 3 attempt(s)" in str(caught.value)
    assert secrets.stats().api_calls == 3


def test_retries_stop_before_the_total_time_budget_is_crossed(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given delays of up to 0.2, 0.4, 0.8 s (random ~1) and a 0.5 s budget
    client, stubber = stubbed
    throttle(stubber, 2)
    secrets = service(
        client, clock, random=lambda: 0.999, base_delay_s=0.2, max_total_s=0.5, max_attempts=10
    )

    # When every call is throttled
    with pytest.raises(SecretThrottledError):
        secrets.get_secret_string("a")

    # Then it slept once (0.2) and gave up rather than sleep 0.4 more past 0.5 s
    assert clock.sleeps == pytest.approx([0.1998])
    assert secrets.stats().api_calls == 2


def test_a_server_error_is_retried_then_raised_as_unavailable(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    client, stubber = stubbed
    server_error(stubber, 2)
    secrets = service(client, clock, max_attempts=2)

    with pytest.raises(SecretUnavailableError) as caught:
        secrets.get_secret_string("a")

    assert caught.value.code == "InternalServiceError"


@pytest.mark.parametrize(
    ("code", "status", "error_type"),
    [
        ("ResourceNotFoundException", 400, SecretNotFoundError),
        ("AccessDeniedException", 400, SecretAccessDeniedError),
        ("UnrecognizedClientException", 400, SecretAccessDeniedError),
        ("DecryptionFailure", 400, SecretDecryptionError),
        ("KMSDisabledException", 400, SecretDecryptionError),
        ("InvalidParameterException", 400, SecretConfigError),
    ],
)
def test_a_permanent_error_is_typed_and_not_retried(
    stubbed: Stubbed, clock: FakeClock, code: str, status: int, error_type: type[Exception]
) -> None:
    client, stubber = stubbed
    stubber.add_client_error("get_secret_value", code, "no", http_status_code=status)
    secrets = service(client, clock)

    with pytest.raises(error_type) as caught:
        secrets.get_secret_string("app/db")

    assert "app/db" in str(caught.value)
    assert isinstance(caught.value.__cause__, botocore.exceptions.ClientError)
    assert secrets.stats().api_calls == 1
    assert clock.sleeps == []


def test_a_network_failure_is_unavailable_not_access_denied(clock: FakeClock) -> None:
    # Given a client whose every request fails to connect (an event hook, before sending)
    client = boto3.client("secretsmanager", region_name=REGION)

    def unreachable(**_: Any) -> None:
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://sm.invalid")

    client.meta.events.register("before-send.secrets-manager.GetSecretValue", unreachable)
    secrets = service(client, clock, max_attempts=2)

    with pytest.raises(SecretUnavailableError) as caught:
        secrets.get_secret_string("a")

    assert caught.value.code == "EndpointConnectionError"
    assert secrets.stats().api_calls == 2


def cached_then_failing(
    stubber: Stubber, clock: FakeClock, *, failures: int, **options: Any
) -> SecretService:
    stubber.add_response("get_secret_value", get_response("a", VALUE))
    server_error(stubber, failures)
    client = stubber.client
    secrets = service(client, clock, ttl_s=60, max_attempts=1, **options)
    secrets.get_secret_string("a")
    clock.advance(61)
    return secrets


def test_a_cached_value_is_served_stale_when_the_api_fails(
    stubbed: Stubbed, clock: FakeClock, layer_logs: LineCapture
) -> None:
    # Given a cached value whose TTL passed, and an API that now fails
    _, stubber = stubbed
    secrets = cached_then_failing(stubber, clock, failures=1)

    # When it is read
    value = secrets.get_secret_string("a")

    # Then the old value is served, counted and logged as a warning
    assert value == VALUE
    assert secrets.stats().stale_served == 1
    assert any(
        line.startswith("WARNING") and "stale secret served" in line for line in layer_logs.lines
    )


def test_stale_serving_waits_before_calling_the_api_again(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a stale value just served, with stale_retry_s=5
    _, stubber = stubbed
    secrets = cached_then_failing(stubber, clock, failures=2, stale_retry_s=5)
    secrets.get_secret_string("a")

    # When read again within 5 s, no call is made; after 5 s, one is
    secrets.get_secret_string("a")
    calls_within = secrets.stats().api_calls
    clock.advance(5.1)
    secrets.get_secret_string("a")

    assert calls_within == 2
    stats = secrets.stats()
    assert (stats.api_calls, stats.stale_served) == (3, 3)


def test_past_max_stale_the_typed_error_is_raised(stubbed: Stubbed, clock: FakeClock) -> None:
    # Given a value 61 s old (TTL 60 s) and max_stale_s=100
    _, stubber = stubbed
    secrets = cached_then_failing(stubber, clock, failures=1, max_stale_s=100)

    # When the API still fails 101 s after the value expired
    clock.advance(100.5)
    with pytest.raises(SecretUnavailableError):
        secrets.get_secret_string("a")

    # Then nothing stale was served and the entry is gone
    assert secrets.stats().stale_served == 0
    assert secrets.stats().entries == 0


def test_force_refresh_never_serves_a_stale_value(stubbed: Stubbed, clock: FakeClock) -> None:
    _, stubber = stubbed
    secrets = cached_then_failing(stubber, clock, failures=1)

    with pytest.raises(SecretUnavailableError):
        secrets.get_secret_string("a", force_refresh=True)


def test_a_deleted_secret_is_not_served_stale(stubbed: Stubbed, clock: FakeClock) -> None:
    # Given a cached value, then the secret is deleted (or access revoked)
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("a", VALUE))
    stubber.add_client_error("get_secret_value", "ResourceNotFoundException", "gone")
    secrets = service(client, clock, ttl_s=60)
    secrets.get_secret_string("a")
    clock.advance(61)

    # When read after the TTL, the revocation takes effect
    with pytest.raises(SecretNotFoundError):
        secrets.get_secret_string("a")


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "ResourceNotFoundException", "DecryptionFailure"]
)
def test_a_value_refused_once_is_not_served_stale_by_a_later_outage(
    stubbed: Stubbed, clock: FakeClock, code: str
) -> None:
    # Given a cached value whose refresh was refused (access revoked, deleted, key off)
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("a", VALUE))
    stubber.add_client_error("get_secret_value", code, "no", http_status_code=400)
    throttle(stubber)
    secrets = service(client, clock, ttl_s=60, max_attempts=1)
    secrets.get_secret_string("a")
    clock.advance(61)
    with pytest.raises((SecretAccessDeniedError, SecretNotFoundError, SecretDecryptionError)):
        secrets.get_secret_string("a")

    # When the next read meets throttling
    with pytest.raises(SecretThrottledError):
        secrets.get_secret_string("a")

    # Then the refused value was not served stale, and is no longer held
    assert secrets.stats().stale_served == 0
    assert secrets.stats().entries == 0


def test_a_forced_read_refused_drops_the_cached_value(stubbed: Stubbed, clock: FakeClock) -> None:
    # Given a cached, unexpired value, and a forced read that finds the secret deleted
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("a", VALUE))
    stubber.add_client_error("get_secret_value", "ResourceNotFoundException", "gone")
    stubber.add_client_error("get_secret_value", "ResourceNotFoundException", "gone")
    secrets = service(client, clock)
    secrets.get_secret_string("a")
    with pytest.raises(SecretNotFoundError):
        secrets.get_secret_string("a", force_refresh=True)

    # When it is read without forcing, Then the deletion holds: the API is asked again
    with pytest.raises(SecretNotFoundError):
        secrets.get_secret_string("a")
    assert secrets.stats().entries == 0


def test_full_jitter_delays_stay_under_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=0.5)

    ceilings = [policy.delay_s(n, random=lambda: 0.999999) for n in range(1, 6)]
    floors = [policy.delay_s(n, random=lambda: 0.0) for n in range(1, 6)]

    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5], rel=1e-5)
    assert floors == [0.0] * 5


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"max_attempts": 1.5}, {"max_total_s": -1}, {"base_delay_s": "x"}],
)
def test_a_bad_retry_option_names_itself(options: dict[str, Any]) -> None:
    name = next(iter(options))
    with pytest.raises(SecretConfigError, match=name):
        RetryPolicy(**options)


def test_a_broken_metrics_hook_does_not_break_a_read(
    stubbed: Stubbed, clock: FakeClock, layer_logs: LineCapture
) -> None:
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("a", VALUE))

    def broken(event: str, secret_id: str, value: float) -> None:
        raise RuntimeError("metrics backend down")

    secrets = service(client, clock, metrics=broken)

    assert secrets.get_secret_string("a") == VALUE
    assert any("metrics hook failed" in line for line in layer_logs.lines)


def test_the_metrics_hook_sees_miss_latency_hit_and_stale(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    _, stubber = stubbed
    events: list[tuple[str, str]] = []
    secrets = cached_then_failing(
        stubber, clock, failures=1, metrics=lambda e, s, v: events.append((e, s))
    )
    secrets.get_secret_string("a")  # stale
    secrets.get_secret_string("a")  # hit on the stale value

    names = [e for e, _ in events]
    assert names[:2] == ["miss", "fetch_latency_ms"]
    assert names.count("stale") == 2
    assert "hit" in names
    assert all(s == "a" for _, s in events)


def test_info_logs_name_the_attempt_without_values(
    stubbed: Stubbed, clock: FakeClock, layer_logs: LineCapture
) -> None:
    client, stubber = stubbed
    throttle(stubber, 1)
    stubber.add_response("get_secret_value", get_response("a", VALUE))
    service(client, clock).get_secret_string("a")

    retried = [line for line in layer_logs.lines if "secret read retried" in line]
    assert len(retried) == 1
    assert "'attempt': 1" in retried[0]
    assert "ThrottlingException" in retried[0]
    assert logging.getLogger("secret_service").level == logging.DEBUG  # captured at DEBUG


def test_a_client_with_botocore_retries_is_reported_once(
    clock: FakeClock, layer_logs: LineCapture
) -> None:
    # Given a caller's client left with botocore's default retries (standard: 3 attempts)
    client = boto3.client("secretsmanager", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_response("get_secret_value", get_response("a", VALUE))
        stubber.add_response("get_secret_value", get_response("b", VALUE))
        secrets = service(client, clock, max_attempts=4)

        # When the service first uses it (twice)
        secrets.get_secret_string("a")
        secrets.get_secret_string("b")

    # Then one warning says the retries multiply, with the worst case
    warnings = [line for line in layer_logs.lines if "retries stack" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("WARNING")
    assert "'worst_case_calls_per_read': 12" in warnings[0]


def test_a_client_without_botocore_retries_is_not_reported(
    stubbed: Stubbed, clock: FakeClock, layer_logs: LineCapture
) -> None:
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("a", VALUE))

    service(client, clock).get_secret_string("a")

    assert not [line for line in layer_logs.lines if "retries stack" in line]
