"""The canary handler against moto with events/health_check.json: EMF, summary, isolation."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse
from tests.integration.health_check.canary_support import (
    NAMESPACE,
    emf_by_secret,
    metric_names,
    scheduled_event,
    stdout_documents,
    throttle_hook,
)

import canary_metrics as m
from canary_errors import CanaryConfigError
from harness.lambda_runtime import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    import boto3
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from harness.aws import MotoServer

JWT = "goal-mandala-dev-secret-jwt"
API = "goal-mandala-dev-secret-external-apis"
DB = "goal-mandala-dev-secret-database"
JWT_VALUE = json.dumps({"signingKey": "k" * 48, "algorithm": "HS256", "issuer": "goal-mandala"})
API_VALUE = json.dumps({"provider": "stripe", "apiKey": "sk-integration-4242"})
DB_VALUE = json.dumps(
    {"engine": "mysql", "host": "127.0.0.1", "port": 1, "username": "app", "password": "pw-x"}
)


def invoke(canary: ModuleType, **kwargs: Any) -> dict[str, Any]:
    result = canary.lambda_handler(scheduled_event(), FakeLambdaContext(), **kwargs)
    assert json.loads(json.dumps(result)) == result  # the summary is plain JSON
    return result  # type: ignore[no-any-return]


def entries(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["secret_name"]: entry for entry in summary["secrets"]}


def test_a_healthy_run_publishes_the_contract_metrics_for_every_secret(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given two well-formed secrets
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    secretsmanager.create_secret(Name=API, SecretString=API_VALUE)
    canary_env(SECRET_IDS=f"{JWT},{API}")

    # When the scheduled event arrives
    summary = invoke(canary)

    # Then each secret has one EMF document with the contract's names, units, dimensions
    emf, _ = stdout_documents(capsys.readouterr().out)
    documents = emf_by_secret(emf)
    assert set(documents) == {JWT, API}
    for name, document in documents.items():
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert directive["Dimensions"] == [["Environment", "SecretName"]]
        assert (document["Environment"], document["SecretName"]) == ("dev", name)
        assert metric_names(document) == {
            m.RetrievalSuccess,
            m.RetrievalFailure,
            m.RetrievalLatency,
            m.DaysSinceLastRotation,
            m.RotationOverdue,
        }
        for metric in directive["Metrics"]:
            assert metric["Unit"] == m.METRIC_UNITS[metric["Name"]]
        assert document[m.RetrievalSuccess] == [1.0]
        assert document[m.RetrievalFailure] == [0.0]
        assert document[m.RetrievalLatency][0] > 0
        assert document[m.RotationOverdue] == [0.0]
    # And the summary says all is well
    assert summary["ok"] is True
    assert (summary["secrets_checked"], summary["secrets_failed"]) == (2, 0)
    assert all(entry["latency_ms"] > 0 for entry in summary["secrets"])


def test_one_structured_log_line_per_secret(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    canary_env(SECRET_IDS=f"{JWT},goal-mandala-dev-secret-gone")

    invoke(canary)

    _, logs = stdout_documents(capsys.readouterr().out)
    checked = [line for line in logs if line["message"] == "secret checked"]
    assert {line["secret_name"]: line["level"] for line in checked} == {
        JWT: "INFO",
        "goal-mandala-dev-secret-gone": "WARNING",
    }
    assert [line["message"] for line in logs][-1] == "canary run finished"


def test_a_missing_and_a_malformed_secret_fail_alone(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a good secret, a malformed JWT secret and a secret that does not exist
    secretsmanager.create_secret(Name=API, SecretString=API_VALUE)
    secretsmanager.create_secret(Name=JWT, SecretString=json.dumps({"signingKey": "short"}))
    canary_env(SECRET_IDS=f"{API},{JWT},goal-mandala-dev-secret-gone")

    summary = invoke(canary)

    by_name = entries(summary)
    assert by_name[API]["ok"] is True
    assert (by_name[JWT]["ok"], by_name[JWT]["error"]) == (False, "SecretFormatError")
    assert "signingKey" in by_name[JWT]["error_message"]
    gone = by_name["goal-mandala-dev-secret-gone"]
    assert (gone["ok"], gone["error"], gone["latency_ms"]) == (False, "SecretNotFoundError", None)
    assert (summary["secrets_failed"], summary["deadline_exceeded"]) == (2, False)
    documents = emf_by_secret(stdout_documents(capsys.readouterr().out)[0])
    assert documents[API][m.RetrievalFailure] == [0.0]
    assert documents[JWT][m.RetrievalFailure] == [1.0]
    assert documents["goal-mandala-dev-secret-gone"][m.RetrievalFailure] == [1.0]
    assert m.RetrievalLatency not in metric_names(documents["goal-mandala-dev-secret-gone"])


def test_a_throttled_secret_fails_alone(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    boto3_session: boto3.Session,
) -> None:
    # Given Secrets Manager throttles every read of one secret
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    secretsmanager.create_secret(Name=API, SecretString=API_VALUE)
    boto3_session.events.register("before-call.secrets-manager.GetSecretValue", throttle_hook(JWT))
    canary_env(SECRET_IDS=f"{JWT},{API}")

    summary = invoke(canary)

    by_name = entries(summary)
    assert (by_name[JWT]["ok"], by_name[JWT]["error"]) == (False, "SecretThrottledError")
    assert by_name[API]["ok"] is True
    assert by_name[JWT]["rotation"]["error"] is None  # DescribeSecret was not throttled


def test_a_secret_given_by_arn_reports_under_its_name(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arn = secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)["ARN"]
    canary_env(SECRET_IDS=arn)

    summary = invoke(canary)

    assert [entry["secret_name"] for entry in summary["secrets"]] == [JWT]
    assert set(emf_by_secret(stdout_documents(capsys.readouterr().out)[0])) == {JWT}


def test_secrets_are_discovered_by_tag(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
) -> None:
    tags = [{"Key": "goal-mandala:canary", "Value": "on"}]
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE, Tags=tags)
    secretsmanager.create_secret(Name=API, SecretString=API_VALUE, Tags=tags)
    secretsmanager.create_secret(
        Name="goal-mandala-dev-secret-untagged",
        SecretString="x",
        Tags=[{"Key": "goal-mandala:canary", "Value": "off"}],
    )
    canary_env(SECRET_IDS="", SECRET_TAG_KEY="goal-mandala:canary", SECRET_TAG_VALUE="on")

    summary = invoke(canary)

    assert sorted(entries(summary)) == sorted([JWT, API])
    assert summary["discovery"] == {
        "enabled": True,
        "found": 2,
        "error": None,
        "error_message": None,
    }
    assert summary["ok"] is True


def test_a_database_secret_never_rotated_for_too_long_is_overdue(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a database secret created now, with rotation never turned on
    secretsmanager.create_secret(Name=DB, SecretString=DB_VALUE)
    canary_env(DATABASE_SECRET_ID=DB, SECRET_IDS="", DB_CONNECT_TIMEOUT_S="0.5")

    # When the canary runs 40 days later
    summary = invoke(canary, now=lambda: datetime.now(UTC) + timedelta(days=40))

    # Then the rotation is overdue, and the days count from the secret's creation
    rotation = entries(summary)[DB]["rotation"]
    assert rotation["enabled"] is False
    assert rotation["overdue"] is True
    assert rotation["days_since_last_rotation"] == pytest.approx(40, abs=0.01)
    document = emf_by_secret(stdout_documents(capsys.readouterr().out)[0])[DB]
    assert document[m.RotationOverdue] == [1.0]
    assert document[m.DaysSinceLastRotation][0] == pytest.approx(40, abs=0.01)


def test_an_invalid_configuration_fails_the_invocation_naming_the_variable(
    canary: ModuleType, canary_env: Callable[..., None], aws: None
) -> None:
    canary_env(SECRET_IDS=JWT, PROBE_TIMEOUT_MS="soon")

    with pytest.raises(CanaryConfigError, match="PROBE_TIMEOUT_MS"):
        invoke(canary)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("POWERTOOLS_DEV", "true", id="dev-mode-silences-the-metrics"),
        pytest.param("POWERTOOLS_METRICS_DISABLED", "maybe", id="unreadable-to-powertools"),
    ],
)
def test_a_powertools_switch_that_would_silence_the_metrics_fails_the_invocation(
    *,
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
) -> None:
    # Given a readable secret, and a Powertools switch set on the function
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    canary_env(SECRET_IDS=JWT)
    monkeypatch.setenv(variable, value)

    # When the scheduled event arrives
    with pytest.raises(CanaryConfigError, match=variable):
        invoke(canary)

    # Then the invocation fails (the Errors alarm) instead of a run reported "ok" with no
    # metric at all, or a ValueError traceback after the checks
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("event", "detail_type"),
    [
        pytest.param({}, "unknown", id="empty-event"),  # a manual test invocation
        pytest.param(None, "NoneType", id="null-payload"),  # `aws lambda invoke` with `null`
    ],
)
def test_a_manual_invocation_runs_the_same_checks(
    *,
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
    event: dict[str, Any] | None,
    detail_type: str,
) -> None:
    # Given a readable secret
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    canary_env(SECRET_IDS=JWT)

    # When the handler gets an event that is not a scheduled one
    summary = canary.lambda_handler(event, FakeLambdaContext())

    # Then the checks run, and the start line says where the event came from
    assert summary["ok"] is True
    _, logs = stdout_documents(capsys.readouterr().out)
    started = next(line for line in logs if line["message"] == "canary run started")
    assert (started["source"], started["detail_type"]) == ("unknown", detail_type)


def test_the_configuration_and_client_are_built_once_per_container(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    canary_env(SECRET_IDS=JWT)
    invoke(canary)

    # a later change of the environment does not reach a warm container
    monkeypatch.setenv("SECRET_IDS", "goal-mandala-dev-secret-gone")
    summary = invoke(canary)

    assert [entry["secret_name"] for entry in summary["secrets"]] == [JWT]


def test_a_discovery_that_finds_nothing_is_not_ok(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given no secret carries the tag the canary looks for
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    canary_env(SECRET_IDS="", SECRET_TAG_KEY="goal-mandala:canary")

    summary = invoke(canary)

    # Then the run says so: nothing checked is not a pass, and no metric is published
    assert (summary["ok"], summary["secrets_checked"]) == (False, 0)
    emf, logs = stdout_documents(capsys.readouterr().out)
    assert emf == []
    assert any(line["message"] == "no secret to check" for line in logs)


def test_secrets_manager_is_reached_at_the_configured_endpoint(
    canary: ModuleType,
    canary_env: Callable[..., None],
    moto_server: MotoServer,
) -> None:
    # Given Secrets Manager is only reachable at an endpoint URL (a VPC interface endpoint
    # with private DNS off), and no in-process mock answers the regional one
    import boto3

    remote = boto3.client("secretsmanager", endpoint_url=moto_server.endpoint_url)
    name = f"{JWT}-endpoint"
    remote.create_secret(Name=name, SecretString=JWT_VALUE)
    canary_env(SECRET_IDS=name, SECRETS_MANAGER_ENDPOINT=moto_server.endpoint_url)

    try:
        # When the canary runs
        summary = invoke(canary)
    finally:
        remote.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)

    # Then it read and described the secret there
    (entry,) = summary["secrets"]
    assert (entry["ok"], entry["error"]) == (True, None)
    assert entry["rotation"]["error"] is None


def test_a_run_by_hand_without_a_lambda_context_uses_its_own_time_budget(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a developer calling the handler in-process as `lambda_handler(event, None)`
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)
    canary_env(SECRET_IDS=JWT)

    # When
    summary = canary.lambda_handler(scheduled_event(), None)

    # Then the checks run within the run's own budget (no AttributeError, no budget warning)
    assert summary["ok"] is True
    assert summary["deadline_exceeded"] is False
    _, logs = stdout_documents(capsys.readouterr().out)
    assert all(line["message"] != "canary time budget short" for line in logs)


def test_a_failed_discovery_still_checks_the_configured_secrets_and_says_so(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    boto3_session: boto3.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given ListSecrets is denied (the role has no ListSecrets) but SECRET_IDS is readable
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)

    def deny(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": "AccessDeniedException", "Message": "not authorized"}
        parsed = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://secretsmanager.invalid", 400, {}, None), parsed

    boto3_session.events.register("before-call.secrets-manager.ListSecrets", deny)
    canary_env(SECRET_IDS=JWT, SECRET_TAG_KEY="goal-mandala:canary")

    summary = invoke(canary)

    # Then the configured secret is checked, and the run is not ok because of discovery
    assert [(e["secret_name"], e["ok"]) for e in entries(summary).values()] == [(JWT, True)]
    assert summary["ok"] is False
    assert summary["discovery"]["error"] == "SecretAccessDeniedError"
    _, logs = stdout_documents(capsys.readouterr().out)
    [failed] = [line for line in logs if line["message"] == "secret discovery failed"]
    assert (failed["level"], failed["error"]) == ("WARNING", "SecretAccessDeniedError")


def test_a_discovery_whose_pages_never_end_stops_in_time_and_says_how_far_it_got(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    boto3_session: boto3.Session,
) -> None:
    # Given ListSecrets answers a filtered list with empty pages that always say "more"
    # (as it may for a large account), and a configured secret that is readable
    secretsmanager.create_secret(Name=JWT, SecretString=JWT_VALUE)

    def endless(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {"SecretList": [], "NextToken": "more", "ResponseMetadata": {}}
        return AWSResponse("https://secretsmanager.invalid", 200, {}, None), parsed

    boto3_session.events.register("before-call.secrets-manager.ListSecrets", endless)
    canary_env(SECRET_IDS=JWT, SECRET_TAG_KEY="goal-mandala:canary")

    # When the canary runs with 30 s of Lambda time (discovery gets 12 s of it), on a clock
    # that moves 1 s per reading, so its time runs out after a few pages whatever the
    # machine's speed, and the checks keep most of the deadline
    ticks = itertools.count()
    summary = canary.lambda_handler(
        scheduled_event(),
        FakeLambdaContext(timeout_ms=30_000),
        clock=lambda: float(next(ticks)),
    )

    # Then discovery gave up within its share of the run, without claiming a match count
    # it never saw, and the configured secret was still checked
    assert summary["discovery"]["error"] == "SecretConfigError"
    message = summary["discovery"]["error_message"]
    assert "0 secrets match tag goal-mandala:canary so far" in message
    assert "more than 1000" not in message
    assert [(e["secret_name"], e["ok"]) for e in summary["secrets"]] == [(JWT, True)]
    assert summary["deadline_exceeded"] is False


def test_the_time_budget_counts_the_secrets_discovery_found(
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given 11 secrets found by tag alone (two rounds of 10 concurrent checks, 34 s when
    # every call hangs until its timeout) and 30 s of Lambda time
    tags = [{"Key": "goal-mandala:canary", "Value": "on"}]
    for index in range(11):
        secretsmanager.create_secret(
            Name=f"goal-mandala-dev-secret-token{index}", SecretString="t", Tags=tags
        )
    canary_env(SECRET_IDS="", SECRET_TAG_KEY="goal-mandala:canary")

    # When the canary runs
    summary = canary.lambda_handler(scheduled_event(), FakeLambdaContext(timeout_ms=30_000))

    # Then it says its time is short for the 11 secrets it checked (not for none)
    assert summary["secrets_checked"] == 11
    _, logs = stdout_documents(capsys.readouterr().out)
    [short] = [line for line in logs if line["message"] == "canary time budget short"]
    assert (short["remaining_ms"], short["needed_ms"], short["secrets"]) == (30_000, 34_000, 11)
