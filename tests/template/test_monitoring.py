"""Alarms, dashboard, notifications: every metric they name is one the code or AWS emits.

The metric names, units and dimensions come from the functions' own modules
(``canary_metrics``, ``rotation_metrics``): one source of truth for both sides.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.template.conftest import ACCOUNT, REGION, Deployed, deploy
from tests.template.filter_pattern import FilterPatternError, matches

import canary_metrics
import rotation_metrics

CODE_METRICS: dict[str, str] = {**canary_metrics.METRIC_UNITS, **rotation_metrics.METRIC_UNITS}
# AWS metrics the template may use, with the dimensions AWS publishes them under.
AWS_METRICS = {
    ("AWS/Lambda", name): ("FunctionName",) for name in ("Errors", "Invocations", "Duration")
}
SECRET_NAMES = ("database", "jwt", "external-apis")


def code_namespace(deployed: Deployed) -> str:
    """The namespace both functions publish to (their POWERTOOLS_METRICS_NAMESPACE)."""
    namespaces = {
        deployed.props(fn)["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        for fn in ("RotationFunction", "HealthCheckFunction")
    }
    assert len(namespaces) == 1, namespaces
    return namespaces.pop()


def filter_metrics(deployed: Deployed) -> dict[tuple[str, str], tuple[str, ...]]:
    """Metrics this stack's CloudTrail metric filters create (no dimensions)."""
    return {
        (t["MetricNamespace"], t["MetricName"]): ()
        for f in deployed.of_type("AWS::Logs::MetricFilter").values()
        for t in f["MetricTransformations"]
    }


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, name, dimensions) of every metric an alarm reads."""
    if "MetricName" in alarm:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return [(alarm["Namespace"], alarm["MetricName"], dims)]
    found = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            found.append((metric["Namespace"], metric["MetricName"], dims))
    return found


def assert_emitted(deployed: Deployed, namespace: str, name: str, dims: dict[str, str]) -> None:
    env = deployed.environment
    if namespace == code_namespace(deployed):
        assert name in CODE_METRICS, f"{name} is not a metric the canary or rotation emits"
        expected = (
            canary_metrics.DIMENSIONS
            if name in canary_metrics.METRIC_UNITS
            else rotation_metrics.DIMENSIONS
        )
        assert tuple(dims) == tuple(expected), f"{name}: dimensions {tuple(dims)}"
        assert dims["Environment"] == env
        assert dims["SecretName"] in {f"goal-mandala-{env}-secret-{s}" for s in SECRET_NAMES}
    elif (namespace, name) in AWS_METRICS:
        assert tuple(dims) == AWS_METRICS[(namespace, name)]
    else:
        assert (namespace, name) in filter_metrics(deployed), (
            f"{namespace}/{name} is emitted by nobody"
        )
        assert dims == {}


def test_every_alarm_reads_a_metric_someone_emits_with_its_dimensions(deployed: Deployed) -> None:
    alarms = deployed.of_type("AWS::CloudWatch::Alarm")

    assert alarms
    for alarm in alarms.values():
        for namespace, metric, dims in alarm_metrics(alarm):
            assert_emitted(deployed, namespace, metric, dims)


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(deployed: Deployed) -> None:
    topic = deployed.resolver.resolve({"Ref": "AlarmTopic"})

    for name, alarm in deployed.of_type("AWS::CloudWatch::Alarm").items():
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["OKActions"] == [topic], name
        assert alarm["AlarmName"].startswith(f"goal-mandala-{deployed.environment}-"), name


def test_the_alarm_latency_unit_matches_what_the_canary_publishes(deployed: Deployed) -> None:
    latency_alarms = {
        name: alarm
        for name, alarm in deployed.of_type("AWS::CloudWatch::Alarm").items()
        if alarm.get("MetricName") == canary_metrics.RetrievalLatency
    }
    assert len(latency_alarms) == 3, "one latency alarm per secret"
    for name, alarm in latency_alarms.items():
        assert alarm["Unit"] == canary_metrics.METRIC_UNITS[canary_metrics.RetrievalLatency]
        assert alarm["ExtendedStatistic"] == "p99", name


def test_retrieval_failure_alarms_fire_on_two_of_three_canary_periods(deployed: Deployed) -> None:
    env = deployed.environment
    period = int(deployed.parameter("CanaryRateMinutes")) * 60

    for secret in ("Database", "Jwt", "ExternalApis"):
        alarm = deployed.props(f"{secret}RetrievalFailureAlarm")
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
        assert alarm["MetricName"] == canary_metrics.RetrievalFailure
        assert alarm["Period"] == period
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Dimensions"][1]["Value"].startswith(f"goal-mandala-{env}-secret-")


def test_the_canary_silent_alarm_treats_missing_data_as_breaching(deployed: Deployed) -> None:
    alarm = deployed.props("CanarySilentAlarm")

    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    names = {q["MetricStat"]["Metric"]["MetricName"] for q in alarm["Metrics"] if "MetricStat" in q}
    assert names == {canary_metrics.RetrievalSuccess, canary_metrics.RetrievalFailure}
    [expression] = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert "FILL(success, 0)" in expression["Expression"]


def test_prod_thresholds_are_stricter_than_dev(deployed_by_env: dict[str, Deployed]) -> None:
    dev, stg, prod = (deployed_by_env[e] for e in ("dev", "stg", "prod"))

    def latency(d: Deployed) -> float:
        return float(d.props("DatabaseRetrievalLatencyAlarm")["Threshold"])

    def login_datapoints(d: Deployed) -> int:
        return int(d.props("DatabaseLoginFailureAlarm")["DatapointsToAlarm"])

    assert latency(prod) < latency(stg) < latency(dev)
    assert latency(prod) == 500
    assert login_datapoints(prod) == 1 < login_datapoints(stg)


def test_rotation_overdue_alarms_exist_only_where_rotation_is_on(deployed: Deployed) -> None:
    rotating = deployed.environment != "dev"

    assert deployed.has("DatabaseRotationOverdueAlarm") is rotating
    assert deployed.has("JwtRotationOverdueAlarm") is rotating
    if rotating:
        alarm = deployed.props("DatabaseRotationOverdueAlarm")
        assert alarm["MetricName"] == canary_metrics.RotationOverdue
        assert alarm["Statistic"] == "Maximum"


def test_rotation_problems_are_alarmed_in_every_environment(deployed: Deployed) -> None:
    errors = deployed.props("RotationFunctionErrorsAlarm")
    failed = deployed.props("DatabaseRotationFailedAlarm")

    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [
        {"Name": "FunctionName", "Value": f"goal-mandala-{deployed.environment}-secret-rotation"}
    ]
    read = {metric for _, metric, _ in alarm_metrics(failed)}
    assert read == {rotation_metrics.RotationFailed, rotation_metrics.RotationRolledBack}


def test_unusual_access_is_watched_exactly_where_cloudtrail_runs(deployed: Deployed) -> None:
    audited = deployed.environment != "dev"

    assert deployed.has("SecretAccessDeniedAlarm") is audited
    assert deployed.has("UnexpectedSecretReadAlarm") is audited
    if audited:
        trail_group = deployed.props("TrailLogGroup")["LogGroupName"]
        for name in ("SecretAccessDeniedFilter", "UnexpectedSecretReadFilter"):
            assert deployed.props(name)["LogGroupName"] == trail_group


def cloudtrail_event(
    *,
    secret: str,
    arn: str,
    event_name: str = "GetSecretValue",
    error_code: str | None = None,
) -> dict[str, Any]:
    """A CloudTrail record as the trail delivers it to CloudWatch Logs."""
    event: dict[str, Any] = {
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": event_name,
        "userIdentity": {"type": "AssumedRole", "arn": arn},
        "requestParameters": {"secretId": secret},
    }
    if error_code is not None:
        event["errorCode"] = error_code
    return event


def assumed(role: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/session-1"


@pytest.mark.parametrize("env", ["stg", "prod"])
def test_reads_by_the_expected_roles_are_not_unusual(
    deployed_by_env: dict[str, Deployed], env: str
) -> None:
    pattern = deployed_by_env[env].props("UnexpectedSecretReadFilter")["FilterPattern"]
    secret = f"goal-mandala-{env}-secret-database"

    for role in ("secret-rotation", "secret-health-check", "app-function"):
        event = cloudtrail_event(secret=secret, arn=assumed(f"goal-mandala-{env}-{role}"))
        assert not matches(pattern, event), role


OUR_SECRET_IDS = (
    "goal-mandala-prod-secret-jwt",
    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:goal-mandala-prod-secret-external-apis-AbCdEf",
)


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:sts::{ACCOUNT}:assumed-role/some-other-role/laptop",
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        f"arn:aws:iam::{ACCOUNT}:root",
        # the same role name in another environment is another principal
        f"arn:aws:sts::{ACCOUNT}:assumed-role/goal-mandala-stg-app-function/s",
    ],
)
def test_reads_by_anyone_else_are_unusual(deployed_by_env: dict[str, Deployed], arn: str) -> None:
    pattern = deployed_by_env["prod"].props("UnexpectedSecretReadFilter")["FilterPattern"]

    for secret in OUR_SECRET_IDS:
        assert matches(pattern, cloudtrail_event(secret=secret, arn=arn)), secret


def test_reads_of_another_environments_secrets_are_not_this_stacks_business(
    deployed_by_env: dict[str, Deployed],
) -> None:
    pattern = deployed_by_env["prod"].props("UnexpectedSecretReadFilter")["FilterPattern"]

    event = cloudtrail_event(secret="goal-mandala-stg-secret-database", arn=assumed("intruder"))

    assert not matches(pattern, event)


def test_an_additional_reader_role_is_not_counted_as_unusual() -> None:
    deployed = deploy("prod", AdditionalReaderRoleName="breakglass-operator")
    pattern = deployed.props("UnexpectedSecretReadFilter")["FilterPattern"]
    secret = "goal-mandala-prod-secret-database"

    assert not matches(pattern, cloudtrail_event(secret=secret, arn=assumed("breakglass-operator")))
    assert matches(pattern, cloudtrail_event(secret=secret, arn=assumed("someone-else")))


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException"])
def test_denied_calls_on_our_secrets_are_counted(
    deployed_by_env: dict[str, Deployed], code: str
) -> None:
    pattern = deployed_by_env["stg"].props("SecretAccessDeniedFilter")["FilterPattern"]

    for action in ("GetSecretValue", "PutSecretValue", "DescribeSecret"):
        event = cloudtrail_event(
            secret="goal-mandala-stg-secret-jwt",
            arn=assumed("goal-mandala-stg-app-function"),
            event_name=action,
            error_code=code,
        )
        assert matches(pattern, event), action


def test_successful_calls_and_other_secrets_do_not_count_as_denied(
    deployed_by_env: dict[str, Deployed],
) -> None:
    pattern = deployed_by_env["stg"].props("SecretAccessDeniedFilter")["FilterPattern"]
    arn = assumed("x")

    assert not matches(pattern, cloudtrail_event(secret="goal-mandala-stg-secret-jwt", arn=arn))
    denied_elsewhere = [
        cloudtrail_event(secret="goal-mandala-prod-secret-jwt", arn=arn, error_code="AccessDenied"),
        cloudtrail_event(secret="payments-secret", arn=arn, error_code="AccessDeniedException"),
    ]
    assert not [e for e in denied_elsewhere if matches(pattern, e)]


def test_rotation_failure_service_events_reach_the_topic(deployed: Deployed) -> None:
    rule = deployed.props("RotationEventRule")
    pattern = rule["EventPattern"]

    assert pattern["source"] == ["aws.secretsmanager"]
    assert pattern["detail-type"] == ["AWS Service Event via CloudTrail"]
    assert sorted(pattern["detail"]["eventName"]) == [
        "RotationAbandoned",
        "RotationFailed",
        "TestRotationFailed",
    ]
    [prefix] = pattern["detail"]["additionalEventData"]["SecretId"]
    assert prefix["prefix"].endswith(f":secret:goal-mandala-{deployed.environment}-secret-")
    assert [t["Arn"] for t in rule["Targets"]] == [deployed.resolver.resolve({"Ref": "AlarmTopic"})]
    policy = deployed.props("AlarmTopicPolicy")["PolicyDocument"]
    events = [
        s for s in policy["Statement"] if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert events[0]["Condition"]["ArnEquals"]["aws:SourceArn"] == deployed.arn("RotationEventRule")


def test_the_topic_is_encrypted_with_a_key_the_publishers_may_use(deployed: Deployed) -> None:
    topic = deployed.props("AlarmTopic")
    key_policy = deployed.props("MonitoringKey")["KeyPolicy"]

    assert topic["KmsMasterKeyId"] == deployed.arn("MonitoringKey")
    publishers = [
        s for s in key_policy["Statement"] if s["Sid"] == "AlarmsAndEventsPublishToTheTopic"
    ]
    assert set(publishers[0]["Principal"]["Service"]) == {
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    }


def test_the_email_subscription_exists_only_when_an_address_is_given() -> None:
    without = deploy("stg")
    with_email = deploy("stg", AlarmEmail="ops@example.com")

    assert not without.has("AlarmEmailSubscription")
    subscription = with_email.props("AlarmEmailSubscription")
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")


def test_the_dashboard_body_is_json_and_every_widget_metric_is_emitted(deployed: Deployed) -> None:
    body = deployed.dashboard_body()
    namespace = code_namespace(deployed)
    seen = set()

    for widget in body["widgets"]:
        previous: list[Any] = []
        for row in widget["properties"]["metrics"]:
            plain = [item for item in row if not isinstance(item, dict)]
            if plain == ["..."]:  # repeat the previous metric with other options
                plain = previous
            previous = plain
            ns, name, *pairs = plain
            dims = dict(zip(pairs[0::2], pairs[1::2], strict=True))
            assert_emitted(deployed, ns, name, dims)
            if ns == namespace:
                seen.add(name)

    # the dashboard shows every metric the code emits
    assert seen == set(CODE_METRICS)


def test_the_dashboard_shows_latency_p50_and_p99_per_secret(deployed: Deployed) -> None:
    [latency] = [
        w for w in deployed.dashboard_body()["widgets"] if "latency" in w["properties"]["title"]
    ]

    stats = [row[-1]["stat"] for row in latency["properties"]["metrics"]]
    assert stats == ["p50", "p99"] * 3


def test_the_filter_evaluator_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(FilterPatternError):
        matches('{ $.a = "x" && $.b = "y" || $.c = "z" }', {})
    with pytest.raises(FilterPatternError):
        matches("{ $.a > 3 }", {"a": 4})
    with pytest.raises(FilterPatternError):
        matches("ERROR", {})


ALARM_TUNING = ("Threshold", "EvaluationPeriods", "DatapointsToAlarm", "Period")


def test_alarm_tuning_that_differs_between_environments_comes_from_mappings(
    raw_template: dict[str, Any], deployed_by_env: dict[str, Deployed]
) -> None:
    # Given each alarm's tuning as deployed in every environment
    differing = []
    for name, resource in raw_template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        for key in ALARM_TUNING:
            values = {
                env: d.props(name).get(key) for env, d in deployed_by_env.items() if d.has(name)
            }
            if len({str(v) for v in values.values()}) > 1:
                differing.append((name, key, resource["Properties"][key]))

    # Then every value that changes with the environment is read from a mapping
    assert differing, "prod is expected to have stricter thresholds than dev"
    for name, key, raw in differing:
        assert "Fn::FindInMap" in raw, f"{name}.{key} differs per environment: {raw}"
        # the period follows the canary's rate (prod's samconfig runs it every minute)
        expected = "CanarySchedule" if key == "Period" else "EnvironmentConfig"
        assert raw["Fn::FindInMap"][0] == expected, f"{name}.{key}"


@pytest.mark.parametrize(
    ("alarm", "key", "mapping_key"),
    [
        ("DatabaseRetrievalLatencyAlarm", "Threshold", "RetrievalLatencyP99ThresholdMs"),
        ("JwtRetrievalLatencyAlarm", "Threshold", "RetrievalLatencyP99ThresholdMs"),
        ("ExternalApisRetrievalLatencyAlarm", "Threshold", "RetrievalLatencyP99ThresholdMs"),
        ("DatabaseLoginFailureAlarm", "EvaluationPeriods", "LoginFailureEvaluationPeriods"),
        ("DatabaseLoginFailureAlarm", "DatapointsToAlarm", "LoginFailureDatapointsToAlarm"),
        ("DatabaseRotationOverdueAlarm", "EvaluationPeriods", "RotationOverdueEvaluationPeriods"),
        ("JwtRotationOverdueAlarm", "EvaluationPeriods", "RotationOverdueEvaluationPeriods"),
    ],
)
def test_each_environment_gets_its_own_mapping_value(
    raw_template: dict[str, Any],
    deployed_by_env: dict[str, Deployed],
    alarm: str,
    key: str,
    mapping_key: str,
) -> None:
    mapping = raw_template["Mappings"]["EnvironmentConfig"]

    checked = [env for env, deployed in deployed_by_env.items() if deployed.has(alarm)]
    assert checked, f"{alarm} exists in no environment"
    for env in checked:
        assert deployed_by_env[env].props(alarm)[key] == mapping[env][mapping_key], (env, alarm)


# How each canary metric may be aggregated by an alarm, given the values the code emits:
# 0/1 flags per run are summed (any failure counts) or maxed, a latency is a percentile,
# and "did the canary report at all" counts samples whatever their value.
ALARM_STATISTICS = {
    canary_metrics.RetrievalFailure: {"Sum", "SampleCount"},
    canary_metrics.RetrievalSuccess: {"SampleCount"},
    canary_metrics.DatabaseLoginFailure: {"Sum"},
    canary_metrics.RotationOverdue: {"Maximum"},
    canary_metrics.RetrievalLatency: {"p99"},
    rotation_metrics.RotationFailed: {"Sum"},
    rotation_metrics.RotationRolledBack: {"Sum"},
}


def test_every_alarm_aggregates_its_metric_in_a_way_that_fits_the_emitted_values(
    deployed: Deployed,
) -> None:
    used = []
    for name, alarm in deployed.of_type("AWS::CloudWatch::Alarm").items():
        if "MetricName" in alarm:
            stats = [(alarm["MetricName"], alarm.get("Statistic") or alarm["ExtendedStatistic"])]
        else:
            stats = [
                (q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"])
                for q in alarm["Metrics"]
                if "MetricStat" in q
            ]
        for metric, stat in stats:
            if metric in CODE_METRICS:
                used.append((name, metric, stat))
                assert stat in ALARM_STATISTICS[metric], (name, metric, stat)

    expected = set(ALARM_STATISTICS)
    if not deployed.condition("RotationEnabled"):
        expected.discard(canary_metrics.RotationOverdue)  # no overdue alarm without rotation
    assert {metric for _, metric, _ in used} == expected


@pytest.mark.parametrize("rate", ["1", "5", "10", "15"])
def test_the_canary_silent_window_holds_several_runs_so_one_late_run_does_not_page(
    rate: str,
) -> None:
    # Given the canary at this rate
    alarm = deploy("prod", CanaryRateMinutes=rate).props("CanarySilentAlarm")
    periods = {q["MetricStat"]["Period"] for q in alarm["Metrics"] if "MetricStat" in q}

    # Then each period is at least 3 minutes and one run's interval, and two whole periods
    # without any result are needed: a single empty minute at rate(1 minute) is not silence
    [period] = periods
    assert period >= max(180, int(rate) * 60)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
