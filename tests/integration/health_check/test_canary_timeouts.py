"""Bounded time: a Secrets Manager endpoint that never answers cannot hold the run."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest
from tests.integration.health_check.canary_support import (
    Blackhole,
    emf_by_secret,
    scheduled_event,
    stdout_documents,
)

import canary_metrics as m
from harness.lambda_runtime import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

SECRETS = ("goal-mandala-dev-secret-jwt", "goal-mandala-dev-secret-external-apis", "plain")


@pytest.fixture
def hanging_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Blackhole]:
    """Secrets Manager at an address that accepts connections and never answers."""
    with Blackhole() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint.url)
        yield endpoint


def run(canary: ModuleType, *, timeout_ms: int) -> dict[str, Any]:
    summary: dict[str, Any] = canary.lambda_handler(
        scheduled_event(), FakeLambdaContext(timeout_ms=timeout_ms)
    )
    return summary


def probes_still_waiting() -> int:
    """Canary worker threads still blocked in a call (abandoned at the deadline)."""
    return sum(
        1 for t in threading.enumerate() if t.name.startswith("canary-probe") and t.is_alive()
    )


def test_every_call_gives_up_after_its_own_timeout(
    canary: ModuleType,
    canary_env: Callable[..., None],
    hanging_secrets_manager: Blackhole,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given Secrets Manager hangs and each call may take 300 ms
    canary_env(SECRET_IDS=",".join(SECRETS), PROBE_TIMEOUT_MS="300")

    # When the canary runs with plenty of Lambda time left
    summary = run(canary, timeout_ms=30_000)

    # Then each secret failed on its own timeout, well before the run's deadline
    assert hanging_secrets_manager.connections >= len(SECRETS)
    assert summary["deadline_exceeded"] is False
    for entry in summary["secrets"]:
        assert (entry["ok"], entry["error"]) == (False, "SecretUnavailableError")
        assert entry["rotation"]["error"] == "SecretUnavailableError"
    documents = emf_by_secret(stdout_documents(capsys.readouterr().out)[0])
    assert {name: doc[m.RetrievalFailure] for name, doc in documents.items()} == {
        name: [1.0] for name in SECRETS
    }


def test_the_run_returns_by_its_deadline_when_calls_would_outlast_the_lambda(
    canary: ModuleType,
    canary_env: Callable[..., None],
    hanging_secrets_manager: Blackhole,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given each call may wait 10 s, but the Lambda has only 1.5 s left
    canary_env(SECRET_IDS=",".join(SECRETS), PROBE_TIMEOUT_MS="10000")

    summary = run(canary, timeout_ms=1500)
    waiting = probes_still_waiting()

    # Then the run stops at its deadline and reports every unfinished check as such
    assert summary["deadline_exceeded"] is True
    assert summary["secrets_failed"] == len(SECRETS)
    for entry in summary["secrets"]:
        assert entry["error"] == "ProbeDeadlineExceededError"
    # And the metrics were still published, one document per secret
    emf, logs = stdout_documents(capsys.readouterr().out)
    assert len(emf) == len(SECRETS)
    # And the run said up front that its timeouts do not fit the Lambda's time
    [short] = [line for line in logs if line["message"] == "canary time budget short"]
    assert (short["remaining_ms"], short["probe_timeout_ms"]) == (1500, 10000)
    # And it returned without waiting for the calls still blocked on their 10 s timeout
    assert waiting >= 1
