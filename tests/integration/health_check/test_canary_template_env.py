"""The canary as template.yaml deploys it: its environment, its secrets, its alarms.

For each environment the template is translated (samconfig's overrides applied) and
its intrinsics resolved; the canary then runs with exactly the function's
``Environment.Variables`` (only the RDS CA bundle path is moved to where this machine
has the file the layer ships), against the three secrets as the template creates them,
with ``events/health_check.json`` and the function's own Timeout. Every alarm and
dashboard query on a canary metric must then find, in what the run printed, a metric
with the same namespace, name, unit and dimension values.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from tests.integration.health_check.canary_support import (
    emf_by_secret,
    scheduled_event,
    stdout_documents,
)
from tests.template.conftest import ENVIRONMENTS, Deployed, deploy

import canary_metrics as m
from harness.lambda_runtime import FakeLambdaContext
from harness.secret_checks import assert_no_secret_in

if TYPE_CHECKING:
    from types import ModuleType

    import boto3
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.conftest import DatabaseUser

    from harness.mariadb import MariaDBServer

pytestmark = pytest.mark.mariadb

# What every canary variable would be if the test environment leaked one in.
CANARY_VARIABLES = (
    "SECRET_IDS",
    "DATABASE_SECRET_ID",
    "SECRET_TAG_KEY",
    "SECRET_TAG_VALUE",
    "RDS_CA_BUNDLE",
    "ROTATION_PERIOD_DAYS",
    "PROBE_TIMEOUT_MS",
    "DB_CONNECT_TIMEOUT_S",
    "SECRETS_MANAGER_ENDPOINT",
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_DEV",
)
FILLED_EXTERNAL_APIS = {  # what the deploy guide's step 2 stores
    "bedrock": {"apiKey": "bedrock-key-template-env-7f3a"},
    "ses": {"username": "AKIATEMPLATEENV", "password": "ses-smtp-template-env-9c1d"},
}


def stack_for(env: str, mariadb: MariaDBServer, user: DatabaseUser) -> Deployed:
    """The environment's stack, with the database parameters naming the test database."""
    return deploy(
        env,
        DatabaseStackName="",
        DatabaseHost=mariadb.host,
        DatabasePort=str(mariadb.port),
        DatabaseName=user.database,
        DatabaseUsername=user.username,
    )


def generated_value(props: dict[str, Any], generated: str) -> str:
    """The SecretString Secrets Manager stores for a GenerateSecretString secret."""
    spec = props["GenerateSecretString"]
    document = json.loads(spec["SecretStringTemplate"])
    document[spec["GenerateStringKey"]] = generated
    return json.dumps(document)


def create_template_secrets(
    stack: Deployed,
    client: SecretsManagerClient,
    *,
    password: str,
    external_apis: dict[str, Any] | None,
) -> dict[str, str]:
    """Create the stack's secrets as CloudFormation would; return name -> stored value."""
    alphabet = string.ascii_letters + string.digits  # ExcludePunctuation
    signing_key = "".join(secrets.choice(alphabet) for _ in range(64))
    values: dict[str, str] = {}
    for logical_id, generated in (
        ("DatabaseSecret", password),
        ("JwtSecret", signing_key),
        ("ExternalApisSecret", None),
    ):
        props = stack.props(logical_id)
        if generated is not None:
            value = generated_value(props, generated)
        else:
            document = json.loads(props["SecretString"])
            for api, fields in (external_apis or {}).items():
                document[api].update(fields)
            value = json.dumps(document)
        client.create_secret(Name=props["Name"], SecretString=value)
        values[props["Name"]] = value
    return values


@dataclass(frozen=True)
class Deployment:
    """One environment's stack, deployed here: moto for AWS, the TLS MariaDB, the canary."""

    canary: ModuleType
    client: SecretsManagerClient
    mariadb: MariaDBServer
    user: DatabaseUser
    monkeypatch: pytest.MonkeyPatch

    def stack(
        self, env: str, *, external_apis: dict[str, Any] | None
    ) -> tuple[Deployed, dict[str, str]]:
        """The stack with its secrets created; returns it and the stored values by name."""
        stack = stack_for(env, self.mariadb, self.user)
        values = create_template_secrets(
            stack, self.client, password=self.user.password, external_apis=external_apis
        )
        return stack, values

    def healthy_stack(self, env: str) -> Deployed:
        """The stack, the external APIs filled in after deployment, the database user
        holding the generated password."""
        return self.stack(env, external_apis=FILLED_EXTERNAL_APIS)[0]

    def run(self, stack: Deployed, *, now: datetime | None = None) -> dict[str, Any]:
        """Invoke the handler with exactly the function's template environment."""
        function = stack.props("HealthCheckFunction")
        variables = {k: str(v) for k, v in function["Environment"]["Variables"].items()}
        # The layer's file, where this machine has it (the template points at /opt/...).
        assert variables["RDS_CA_BUNDLE"] == stack.parameter("RdsCaBundlePath")
        variables["RDS_CA_BUNDLE"] = self.mariadb.ca_path
        for name in CANARY_VARIABLES:
            self.monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            self.monkeypatch.setenv(name, value)
        context = FakeLambdaContext(
            function_name=function["FunctionName"], timeout_ms=int(function["Timeout"]) * 1000
        )
        clock = {} if now is None else {"now": lambda: now}
        summary: dict[str, Any] = self.canary.lambda_handler(scheduled_event(), context, **clock)
        return summary


@pytest.fixture
def deployment(
    canary: ModuleType,
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    monkeypatch: pytest.MonkeyPatch,
) -> Deployment:
    return Deployment(canary, secretsmanager, mariadb, db_user, monkeypatch)


def emitted_metrics(stdout: str) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], str]:
    """(namespace, metric, dimension pairs) -> unit of every metric the run printed."""
    emitted = {}
    for document in stdout_documents(stdout)[0]:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        (dimension_set,) = directive["Dimensions"]
        dimensions = tuple((name, document[name]) for name in dimension_set)
        for metric in directive["Metrics"]:
            emitted[(directive["Namespace"], metric["Name"], dimensions)] = metric["Unit"]
    return emitted


def canary_queries(stack: Deployed) -> list[tuple[str, str, str, tuple[tuple[str, str], ...]]]:
    """(where, namespace, metric, dimension pairs) of every alarm/dashboard canary query."""
    queries = []
    for name, alarm in stack.of_type("AWS::CloudWatch::Alarm").items():
        if "MetricName" in alarm:
            metrics = [(alarm["Namespace"], alarm["MetricName"], alarm.get("Dimensions", []))]
        else:
            stats = [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]
            metrics = [(s["Namespace"], s["MetricName"], s.get("Dimensions", [])) for s in stats]
        for namespace, metric, dims in metrics:
            if metric in m.METRIC_UNITS:
                pairs = tuple((d["Name"], d["Value"]) for d in dims)
                queries.append((name, namespace, metric, pairs))
    for widget in stack.dashboard_body()["widgets"]:
        previous: list[Any] = []
        for row in widget["properties"]["metrics"]:
            plain = [item for item in row if not isinstance(item, dict)]
            plain = previous if plain == ["..."] else plain
            previous = plain
            namespace, metric, *flat = plain
            if metric in m.METRIC_UNITS:
                pairs = tuple(zip(flat[0::2], flat[1::2], strict=True))
                queries.append((widget["properties"]["title"], namespace, metric, pairs))
    return queries


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_canary_runs_healthy_on_its_template_environment(
    *,
    env: str,
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the environment's stack: its secrets as CloudFormation creates them (the
    # external API secret filled in after deployment) and the database user holding the
    # generated password
    stack = deployment.healthy_stack(env)

    # When the scheduled event invokes the function configured as the template says
    summary = deployment.run(stack)

    # Then every secret is read, well-formed, and the database still logs in
    assert summary["environment"] == env
    assert (summary["ok"], summary["secrets_checked"], summary["secrets_failed"]) == (True, 3, 0)
    assert summary["deadline_exceeded"] is False
    by_name = {entry["secret_name"]: entry for entry in summary["secrets"]}
    assert set(by_name) == {stack.props(s)["Name"] for s in ("DatabaseSecret", "JwtSecret")} | {
        stack.props("ExternalApisSecret")["Name"]
    }
    database = by_name[stack.props("DatabaseSecret")["Name"]]
    assert (database["kind"], database["database_login"]["ok"]) == ("database", True)
    # And the function's Timeout covers the canary's per-call timeouts: no budget warning
    _, logs = stdout_documents(capsys.readouterr().out)
    assert [line for line in logs if line["level"] == "WARNING"] == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_and_dashboard_query_finds_the_metric_the_run_printed(
    *,
    env: str,
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a healthy run of the canary as the environment's stack configures it
    stack = deployment.healthy_stack(env)
    deployment.run(stack)
    emitted = emitted_metrics(capsys.readouterr().out)

    # When every canary metric the alarms and the dashboard query is looked up in it
    queries = canary_queries(stack)
    missing = [
        (where, metric, dict(dims))
        for where, namespace, metric, dims in queries
        if (namespace, metric, dims) not in emitted
    ]

    # Then each one was printed with the same namespace, name and dimension values
    assert queries, "no alarm or widget reads a canary metric"
    assert missing == []
    # And the latency alarms' unit is the unit the run published
    latency_alarms = {
        name: alarm
        for name, alarm in stack.of_type("AWS::CloudWatch::Alarm").items()
        if alarm.get("MetricName") == m.RetrievalLatency
    }
    assert len(latency_alarms) == 3, "one latency alarm per secret"
    for name, alarm in latency_alarms.items():
        dims = tuple((d["Name"], d["Value"]) for d in alarm["Dimensions"])
        assert emitted[(alarm["Namespace"], m.RetrievalLatency, dims)] == alarm["Unit"], name


def test_the_external_api_secret_as_first_deployed_is_reported_until_filled_in(
    *,
    deployment: Deployment,
) -> None:
    # Given the external API secret exactly as the stack creates it (empty fields)
    stack, values = deployment.stack("dev", external_apis=None)

    summary = deployment.run(stack)

    # Then that secret alone fails, as a format error naming a field and no value
    failed = [entry for entry in summary["secrets"] if not entry["ok"]]
    assert [(entry["secret_name"], entry["error"]) for entry in failed] == [
        (stack.props("ExternalApisSecret")["Name"], "SecretFormatError")
    ]
    assert "bedrock" in failed[0]["error_message"] or "ses" in failed[0]["error_message"]
    assert_no_secret_in([json.dumps(summary)], secrets=[deployment.user.password, *values.values()])


def role_actions(stack: Deployed, role: str, service: str) -> set[str]:
    """Every ``service:`` action the role's inline policies allow."""
    actions: set[str] = set()
    for policy in stack.props(role)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            listed = statement["Action"]
            for action in [listed] if isinstance(listed, str) else listed:
                if action.startswith(f"{service}:"):
                    actions.add(action)
    return actions


def test_the_canary_role_allows_exactly_the_calls_a_run_makes(
    *,
    deployment: Deployment,
    boto3_session: boto3.Session,
) -> None:
    # Given every AWS call of the canary's clients is recorded
    stack = deployment.healthy_stack("prod")
    calls: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        calls.add(f"{model.service_model.signing_name}:{model.name}")

    boto3_session.events.register("before-call", record)

    # When the canary runs as the template configures it
    summary = deployment.run(stack)

    # Then its role allows each call it made, and nothing it never makes (KMS is used only
    # by Secrets Manager on its behalf, so the role's one KMS action is Decrypt)
    assert summary["ok"] is True
    assert calls == role_actions(stack, "HealthCheckFunctionRole", "secretsmanager")
    assert role_actions(stack, "HealthCheckFunctionRole", "kms") == {"kms:Decrypt"}


@pytest.mark.parametrize(("env", "overdue"), [("dev", 0.0), ("stg", 1.0), ("prod", 1.0)])
def test_a_never_rotated_database_password_is_overdue_only_where_rotation_is_scheduled(
    *,
    env: str,
    overdue: float,
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the stack's secrets, never rotated, looked at 40 days after their creation
    stack = deployment.healthy_stack(env)
    later = datetime.now(UTC) + timedelta(days=40)

    summary = deployment.run(stack, now=later)

    # Then dev (no rotation schedule) reports the age but no overdue rotation
    database = stack.props("DatabaseSecret")["Name"]
    emf, logs = stdout_documents(capsys.readouterr().out)
    document = emf_by_secret(emf)[database]
    assert document[m.RotationOverdue] == [overdue]
    # and the run's last log line counts it, as the summary does
    assert logs[-1]["message"] == "canary run finished"
    assert logs[-1]["rotations_overdue"] == int(overdue)
    assert document[m.DaysSinceLastRotation][0] == pytest.approx(40, abs=0.01)
    assert summary["rotations_overdue"] == int(overdue)


def test_no_secret_value_appears_in_any_output_of_a_template_configured_run(
    *,
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the prod stack's secrets, every generated or filled-in value known
    stack, stored = deployment.stack("prod", external_apis=FILLED_EXTERNAL_APIS)
    jwt = json.loads(stored[stack.props("JwtSecret")["Name"]])
    values = [deployment.user.password, jwt["signingKey"]] + [
        value for fields in FILLED_EXTERNAL_APIS.values() for value in fields.values()
    ]
    # (the most verbose logging a deployment could turn on: AWS_LAMBDA_LOG_LEVEL=DEBUG, in a
    # fresh container whose AWS libraries log at the root's level)
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3"):
        library_logger = logging.getLogger(name)
        deployment.monkeypatch.setattr(library_logger, "level", logging.NOTSET)

    # When the canary runs as the template configures it
    summary = deployment.run(stack)

    # Then no value is in stdout (logs and EMF), stderr, any log record or the summary
    captured = capsys.readouterr()
    outputs = {
        "stdout": captured.out,
        "stderr": captured.err,
        "records": "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records),
        "summary": json.dumps(summary),
    }
    assert summary["ok"] is True
    leaks = [(where, v[:4]) for where, text in outputs.items() for v in values if v in text]
    assert leaks == []
