"""A full run through every path of the layer leaves no secret value in any log line,
error message, repr, stats or metric. (Every other test here is checked the same way by
the autouse ``layer_logs`` fixture.)"""

from __future__ import annotations

import json
import logging
import random
from typing import TYPE_CHECKING

import pytest
from tests.unit.secret_layer.logcheck import (
    SECRET_VALUES,
    capture_layer_logs,
    no_secret_in_layer_logs,
    remember,
)
from tests.unit.secret_layer.support import FaultInjector, create_secret, put_value

from harness.secret_checks import assert_no_secret_in, assert_same_secret
from secret_service import SecretService, SecretServiceError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.support import FakeClock

DB = {"host": "h", "username": "u", "password": "full-run-db-pw-91"}
JWT_OLD = {"signingKey": "full-run-jwt-old-" + "o" * 32}
JWT_NEW = {"signingKey": "full-run-jwt-new-" + "n" * 32}
EXT = {"provider": "bedrock", "apiKey": "full-run-bedrock-key-5", "region": "us-east-1"}
PLAIN = "full-run-plain-value-3"
BAD_JSON = '{"password": "full-run-bad-json-pw-8", oops}'


def test_a_full_run_logs_no_secret_value(sm: SecretsManagerClient, clock: FakeClock) -> None:
    remember(DB["password"], JWT_OLD["signingKey"], JWT_NEW["signingKey"], EXT["apiKey"])
    remember(PLAIN, "full-run-bad-json-pw-8")
    create_secret(sm, "db", json.dumps(DB))
    create_secret(sm, "jwt", json.dumps(JWT_OLD))
    put_value(sm, "jwt", json.dumps(JWT_NEW))
    create_secret(sm, "ext", json.dumps(EXT))
    create_secret(sm, "plain", PLAIN)
    create_secret(sm, "bad", BAD_JSON)
    draw = random.Random(5)
    mode = {"fault": None}
    FaultInjector(
        lambda: mode["fault"] if mode["fault"] != "throttle" or draw.random() < 0.5 else None
    ).install(sm)
    metrics: list[tuple[str, str, float]] = []
    secrets = SecretService(
        sm,
        ttl_s=10,
        max_entries=3,
        clock=clock,
        sleep=clock.sleep,
        metrics=lambda e, s, v: metrics.append((e, s, v)),
    )
    messages: list[str] = []

    with capture_layer_logs() as capture:
        # hits, misses, typed views, JSON, eviction (max_entries=3), batch
        secrets.get_database_credentials("db")
        secrets.get_jwt_verification_keys("jwt")
        secrets.get_external_api_credentials("ext")
        secrets.get_secret_json("db")
        secrets.get_many(["plain", "db", "ext"])
        # retries under throttling
        mode["fault"] = "throttle"
        for _ in range(5):
            clock.advance(11)
            secrets.get_secret_string("plain")
        # stale serving, then the typed errors
        mode["fault"] = "5xx"
        clock.advance(11)
        secrets.get_secret_string("plain")
        for call in (
            lambda: secrets.get_secret_string("plain", force_refresh=True),
            lambda: secrets.get_many(["nope", "db"]),
            lambda: secrets.get_secret_json("bad"),
            lambda: secrets.get_secret_string("missing"),
        ):
            try:
                call()
            except SecretServiceError as exc:
                messages.append(f"{exc!r} {exc} {exc.__dict__}")
        mode["fault"] = None
        try:
            secrets.get_database_credentials("bad")
        except SecretServiceError as exc:
            messages.append(f"{exc!r} {exc}")
        secrets.invalidate("db")
        secrets.get_database_credentials("db")

    everything = [*capture.lines, *messages, repr(secrets), repr(secrets.stats())]
    everything += [repr(m) for m in metrics]
    assert len(capture.lines) > 10  # the run really logged: retries, stale, evictions...
    assert any("stale secret served" in line for line in capture.lines)
    assert len(messages) == 5
    assert_no_secret_in(everything, secrets=SECRET_VALUES)


def test_the_log_check_would_catch_a_leak() -> None:
    remember("leak-canary-value-0")

    with capture_layer_logs() as capture:
        logging.getLogger("secret_service.test").warning(
            "oops", extra={"detail": "leak-canary-value-0"}
        )

    assert capture.leaks()
    SECRET_VALUES.discard("leak-canary-value-0")  # deliberate: not a leak of the layer


def test_a_caught_leak_is_reported_with_the_value_masked() -> None:
    # Given a log line of the layer that carries a remembered value
    remember("leak-canary-value-1")
    log = logging.getLogger("secret_service.test")
    with (
        pytest.raises(AssertionError, match="secret value") as caught,
        no_secret_in_layer_logs(),
    ):
        log.warning("oops", extra={"detail": "leak-canary-value-1"})
    SECRET_VALUES.discard("leak-canary-value-1")  # deliberate: not a leak of the layer

    # Then the failure shows the line, but not the value
    assert "oops" in str(caught.value)
    assert "leak-canary-value-1" not in str(caught.value)


@pytest.mark.parametrize("level", [logging.DEBUG])
def test_layer_logs_are_captured_at_debug(level: int) -> None:
    assert logging.getLogger("secret_service").getEffectiveLevel() == level


def test_an_application_logging_at_debug_gets_no_value_from_botocore(
    sm: SecretsManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a function whose logging is at DEBUG (AWS_LAMBDA_LOG_LEVEL=DEBUG), where
    # botocore would print request params and response bodies
    value = "debug-level-secret-value-77"
    remember(value)
    create_secret(sm, "debugged", value)
    # ("botocore" too: the functions' runtimes hold it at INFO for their container's life,
    # and an earlier test in the same process may have made one)
    for name in ("botocore", "botocore.endpoint", "botocore.parsers", "botocore.hooks"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    caplog.set_level(logging.DEBUG)

    # When the service reads the secret
    read = SecretService(sm).get_secret_string("debugged")

    # Then botocore still logs at DEBUG, but no line holds the value
    assert_same_secret(read, value, what="the value read")
    assert any(r.name.startswith("botocore") for r in caplog.records)
    assert_no_secret_in([caplog.text], secrets=[value])


def test_logging_raised_to_debug_after_the_first_read_gets_no_value_from_botocore(
    sm: SecretsManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a service whose first read happened while the application logged at WARNING
    # (e.g. preload() at module scope, before the function configures its logging)
    early, later = "debug-later-first-value-41", "debug-later-second-value-42"
    remember(early, later)
    create_secret(sm, "early", early)
    create_secret(sm, "later", later)
    for name in ("botocore", "botocore.endpoint", "botocore.parsers", "botocore.hooks"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    caplog.set_level(logging.WARNING)
    secrets = SecretService(sm)
    secrets.get_secret_string("early")

    # When the application then logs at DEBUG, and another secret is read
    caplog.set_level(logging.DEBUG)
    read = secrets.get_secret_string("later")

    # Then botocore logs, but no line holds the value read
    assert_same_secret(read, later, what="the value read")
    assert any(r.name.startswith("botocore") for r in caplog.records)
    assert_no_secret_in([caplog.text], secrets=[early, later])
