"""Per-environment differences: rotation, auditing, canary schedule, names, samconfig."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from tests.template.conftest import ACCOUNT, ENVIRONMENTS, ROOT, Deployed, deploy

ROTATION = {"dev": False, "stg": True, "prod": True}
CLOUDTRAIL = {"dev": False, "stg": True, "prod": True}


def test_rotation_is_scheduled_every_30_days_in_stg_and_prod_only(deployed: Deployed) -> None:
    env = deployed.environment

    assert deployed.condition("RotationEnabled") is ROTATION[env]
    for schedule, secret in (
        ("DatabaseSecretRotation", "DatabaseSecret"),
        ("JwtSecretRotation", "JwtSecret"),
    ):
        assert deployed.has(schedule) is ROTATION[env]
        if ROTATION[env]:
            props = deployed.props(schedule)
            assert props["RotationRules"]["AutomaticallyAfterDays"] == 30
            assert props["SecretId"] == deployed.secret_arn(secret)
            assert props["RotationLambdaARN"] == deployed.arn("RotationFunction")
            assert props["RotateImmediatelyOnUpdate"] is False


def test_the_rotation_period_is_a_parameter() -> None:
    deployed = deploy("stg", RotationPeriodDays="14", JwtRotationPeriodDays="7")

    database = deployed.props("DatabaseSecretRotation")["RotationRules"]
    jwt = deployed.props("JwtSecretRotation")["RotationRules"]
    canary = deployed.props("HealthCheckFunction")["Environment"]["Variables"]

    assert (database["AutomaticallyAfterDays"], jwt["AutomaticallyAfterDays"]) == (14, 7)
    assert str(canary["ROTATION_PERIOD_DAYS"]) == "14"


def test_rotation_schedules_wait_for_the_invoke_permission(raw_template: dict[str, Any]) -> None:
    for schedule in ("DatabaseSecretRotation", "JwtSecretRotation"):
        depends = raw_template["Resources"][schedule]["DependsOn"]
        assert "RotationInvokePermission" in ([depends] if isinstance(depends, str) else depends)


def test_cloudtrail_runs_in_stg_and_prod_only(deployed: Deployed) -> None:
    env = deployed.environment

    created = {
        name
        for name in ("Trail", "TrailBucket", "TrailBucketPolicy", "TrailLogGroup", "TrailLogsRole")
        if deployed.has(name)
    }

    assert created == (
        {"Trail", "TrailBucket", "TrailBucketPolicy", "TrailLogGroup", "TrailLogsRole"}
        if CLOUDTRAIL[env]
        else set()
    )
    if CLOUDTRAIL[env]:
        trail = deployed.props("Trail")
        assert trail["TrailName"] == f"goal-mandala-{env}-secrets-trail"
        assert trail["IsLogging"] is True
        assert trail["EnableLogFileValidation"] is True
        assert trail["IsMultiRegionTrail"] is True
        assert trail["KMSKeyId"] == deployed.arn("MonitoringKey")


@pytest.mark.parametrize("env", ["stg", "prod"])
def test_the_trail_bucket_is_hardened(deployed_by_env: dict[str, Deployed], env: str) -> None:
    deployed = deployed_by_env[env]
    bucket = deployed.props("TrailBucket")
    policy = deployed.props("TrailBucketPolicy")["PolicyDocument"]["Statement"]

    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["LifecycleConfiguration"]["Rules"][0]["Status"] == "Enabled"
    [tls] = [s for s in policy if s["Sid"] == "TlsOnly"]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_trail_logs_are_kept_longer_in_prod(deployed_by_env: dict[str, Deployed]) -> None:
    def expiration(env: str) -> int:
        rules = deployed_by_env[env].props("TrailBucket")["LifecycleConfiguration"]["Rules"]
        return int(rules[0]["ExpirationInDays"])

    assert expiration("prod") > expiration("stg")


def test_the_canary_runs_every_5_minutes_by_default_and_every_minute_in_prod(
    deployed: Deployed,
) -> None:
    expected = {"dev": "rate(5 minutes)", "stg": "rate(5 minutes)", "prod": "rate(1 minute)"}

    schedule = deployed.props("HealthCheckFunctionSchedule")
    timeout = deployed.props("HealthCheckFunction")["Timeout"]

    assert schedule["ScheduleExpression"] == expected[deployed.environment]
    assert schedule["State"] == "ENABLED"
    period_s = 60 if deployed.environment == "prod" else 300
    assert timeout < period_s, "a run must end before the next one starts"
    assert deployed.props("DatabaseRetrievalFailureAlarm")["Period"] == period_s


def test_the_template_default_canary_rate_is_5_minutes(raw_template: dict[str, Any]) -> None:
    assert raw_template["Parameters"]["CanaryRateMinutes"]["Default"] == "5"


def test_names_follow_app_env_purpose(deployed: Deployed) -> None:
    env = deployed.environment
    prefix = f"goal-mandala-{env}-"

    names = {
        deployed.props("DatabaseSecret")["Name"],
        deployed.props("JwtSecret")["Name"],
        deployed.props("ExternalApisSecret")["Name"],
    }

    assert names == {f"{prefix}secret-{p}" for p in ("database", "jwt", "external-apis")}
    assert deployed.props("RotationFunction")["FunctionName"] == f"{prefix}secret-rotation"
    assert deployed.props("HealthCheckFunction")["FunctionName"] == f"{prefix}secret-health-check"
    for kind, prop in (
        ("AWS::IAM::Role", "RoleName"),
        ("AWS::CloudWatch::Alarm", "AlarmName"),
        ("AWS::SNS::Topic", "TopicName"),
        ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
    ):
        for name, props in deployed.of_type(kind).items():
            assert props[prop].startswith(prefix), f"{name}: {props[prop]}"


def test_log_groups_are_encrypted_and_kept_per_environment(deployed: Deployed) -> None:
    retention = {"dev": 14, "stg": 90, "prod": 365}[deployed.environment]

    for name, group in deployed.of_type("AWS::Logs::LogGroup").items():
        assert group["RetentionInDays"] == retention, name
        assert group["KmsKeyId"] == deployed.arn("MonitoringKey"), name


def test_functions_log_to_their_managed_log_group(deployed: Deployed) -> None:
    for function, group in (
        ("RotationFunction", "RotationLogGroup"),
        ("HealthCheckFunction", "HealthCheckLogGroup"),
    ):
        assert (
            deployed.props(function)["LoggingConfig"]["LogGroup"]
            == (deployed.props(group)["LogGroupName"])
        )
        name = deployed.props(function)["FunctionName"]
        assert deployed.props(group)["LogGroupName"] == f"/aws/lambda/{name}"


def test_functions_run_in_the_vpc_the_network_stack_exports(deployed: Deployed) -> None:
    env = deployed.environment

    for function in ("RotationFunction", "HealthCheckFunction"):
        vpc = deployed.props(function)["VpcConfig"]
        assert vpc["SubnetIds"] == [f"imported-goal-mandala-{env}-network-PrivateSubnetIds"]
        assert vpc["SecurityGroupIds"] == [
            f"imported-goal-mandala-{env}-network-LambdaSecurityGroupId"
        ]


def test_functions_take_subnets_and_security_groups_as_parameters() -> None:
    deployed = deploy(
        "stg",
        NetworkStackName="",
        VpcSubnetIds="subnet-0a,subnet-0b",
        VpcSecurityGroupIds="sg-01",
    )

    vpc = deployed.props("RotationFunction")["VpcConfig"]

    assert vpc == {"SubnetIds": ["subnet-0a", "subnet-0b"], "SecurityGroupIds": ["sg-01"]}
    vpc_policy = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    assert vpc_policy in deployed.props("RotationFunctionRole")["ManagedPolicyArns"]


def test_without_any_network_the_functions_run_outside_a_vpc() -> None:
    deployed = deploy("dev", NetworkStackName="")

    assert "VpcConfig" not in deployed.props("RotationFunction")
    assert not any(
        "VPCAccess" in arn for arn in deployed.props("RotationFunctionRole")["ManagedPolicyArns"]
    )


def failed_rules(deployed: Deployed) -> set[str]:
    """The template Rules CloudFormation would refuse the stack's parameters with."""
    return {
        name
        for name, rule in deployed.template["Rules"].items()
        if deployed.resolver.truth(rule.get("RuleCondition", {"Fn::Equals": ["a", "a"]}))
        and not all(deployed.resolver.truth(a["Assert"]) for a in rule["Assertions"])
    }


@pytest.mark.parametrize(
    ("subnets", "security_groups"),
    [
        ("subnet-0a,subnet-0b", ""),  # would fail the functions' creation: SecurityGroupIds [""]
        ("", "sg-01"),  # would silently run the functions outside the VPC
        ("subnet-0a,,subnet-0b", "sg-01"),  # a stray comma: an empty subnet id
        ("subnet-0a", "sg-01,"),
    ],
)
def test_the_template_refuses_half_a_vpc_configuration(subnets: str, security_groups: str) -> None:
    # Given explicit network parameters, one of them missing or with an empty item
    deployed = deploy(
        "prod", NetworkStackName="", VpcSubnetIds=subnets, VpcSecurityGroupIds=security_groups
    )

    # Then a rule refuses the stack before anything is created
    assert failed_rules(deployed) == {"VpcSubnetsAndSecurityGroupsGoTogether"}


@pytest.mark.parametrize(
    "network",
    [
        {
            "NetworkStackName": "",
            "VpcSubnetIds": "subnet-0a,subnet-0b",
            "VpcSecurityGroupIds": "sg-01",
        },
        {"NetworkStackName": ""},  # no VPC at all (a dev database reachable that way)
        {"VpcSubnetIds": "subnet-0a"},  # ignored: the network stack's exports are used
    ],
)
def test_a_whole_vpc_configuration_or_none_passes_the_rules(network: dict[str, str]) -> None:
    assert failed_rules(deploy("prod", **network)) == set()


def test_samconfig_deploys_each_environment_to_its_own_stack() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    for env in ENVIRONMENTS:
        section = config[env]["deploy"]["parameters"]
        assert section["stack_name"] == f"goal-mandala-{env}-secrets"
        assert section["region"] == "ap-northeast-1"
        assert set(section["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}
        assert section["confirm_changeset"] is (env == "prod")
        assert f"Environment={env}" in section["tags"].split()
        assert f"Environment={env}" in section["parameter_overrides"]


def test_prod_samconfig_shows_the_replica_region_as_a_commented_example() -> None:
    text = (ROOT / "samconfig.toml").read_text()
    prod = text[text.index("[prod.deploy.parameters]") :]

    assert '# "ReplicaRegion=' in prod
    assert (
        "ReplicaRegion"
        not in tomllib.loads(text)["prod"]["deploy"]["parameters"]["parameter_overrides"].__str__()
    )


def test_the_monitoring_key_lets_each_service_that_writes_with_it_do_so(
    deployed: Deployed,
) -> None:
    statements = deployed.props("MonitoringKey")["KeyPolicy"]["Statement"]

    def for_service(service: str) -> list[dict[str, Any]]:
        found = []
        for statement in statements:
            services = statement["Principal"].get("Service", [])
            if service in (services if isinstance(services, list) else [services]):
                found.append(statement)
        return found

    logs = for_service("logs.ap-northeast-1.amazonaws.com")
    trail = for_service("cloudtrail.amazonaws.com")
    describe = [s for s in trail if s["Action"] == "kms:DescribeKey"]

    assert any("kms:GenerateDataKey*" in s["Action"] for s in logs)
    assert for_service("cloudwatch.amazonaws.com") == for_service("events.amazonaws.com")
    assert any(s["Action"] == "kms:GenerateDataKey*" for s in trail)
    # DescribeKey has no encryption context: a context condition would deny it
    assert describe
    assert "StringLike" not in describe[0].get("Condition", {})


def test_the_monitoring_key_serves_exactly_this_stacks_log_groups() -> None:
    # Given prod with its trail, every log group the stack creates
    deployed = deploy("prod")
    groups = {
        f"arn:aws:logs:ap-northeast-1:{ACCOUNT}:log-group:{props['LogGroupName']}"
        for props in deployed.of_type("AWS::Logs::LogGroup").values()
    }
    statements = deployed.props("MonitoringKey")["KeyPolicy"]["Statement"]

    # When CloudWatch Logs asks to use the key for a log group (its ARN in the context)
    contexts = [
        values
        for statement in statements
        if statement["Principal"].get("Service") == "logs.ap-northeast-1.amazonaws.com"
        for keys in statement["Condition"].values()
        for key, values in keys.items()
        if key == "kms:EncryptionContext:aws:logs:arn"
    ]

    # Then it may for those log groups and for no other log group of the account
    assert len(contexts) == 1
    allowed = set(contexts[0] if isinstance(contexts[0], list) else [contexts[0]])
    assert allowed == groups
    assert not any("*" in arn or "?" in arn for arn in allowed)


# AWS name limits, per resource type and property.
NAME_LIMITS = {
    ("AWS::Lambda::Function", "FunctionName"): 64,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): 128,
    ("AWS::Events::Rule", "Name"): 64,
    ("AWS::SNS::Topic", "TopicName"): 256,
    ("AWS::CloudWatch::Alarm", "AlarmName"): 255,
    ("AWS::CloudWatch::Dashboard", "DashboardName"): 255,
    ("AWS::Lambda::LayerVersion", "LayerName"): 140,
    ("AWS::KMS::Alias", "AliasName"): 256,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::SecretsManager::Secret", "Name"): 512,
    ("AWS::CloudTrail::Trail", "TrailName"): 128,
}


def test_the_longest_app_name_fits_every_aws_name_limit() -> None:
    deployed = deploy("prod", AppName="a" + "b" * 30, AdditionalReaderRoleName="r" * 64)

    too_long = [
        (name, prop, len(value))
        for (kind, prop), limit in NAME_LIMITS.items()
        for name, props in deployed.of_type(kind).items()
        if len(value := str(props[prop])) > limit
    ]
    patterns = [f["FilterPattern"] for f in deployed.of_type("AWS::Logs::MetricFilter").values()]

    assert too_long == []
    assert max(len(p) for p in patterns) <= 1024  # CloudWatch Logs' filter pattern limit


def violations(spec: dict[str, Any], value: Any) -> list[str]:
    """What CloudFormation would refuse about ``value`` for the parameter ``spec``."""
    text = ",".join(value) if isinstance(value, list) else str(value)
    found = []
    if "AllowedValues" in spec and text not in [str(v) for v in spec["AllowedValues"]]:
        found.append(f"{text!r} not in {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], text):
        found.append(f"{text!r} does not match {spec['AllowedPattern']}")
    if spec.get("Type") == "Number":
        try:
            number = float(text)
        except ValueError:
            return [*found, f"{text!r} is not a number"]
        if number < float(spec.get("MinValue", number)) or number > float(
            spec.get("MaxValue", number)
        ):
            found.append(f"{text} outside [{spec.get('MinValue')}, {spec.get('MaxValue')}]")
    if not int(spec.get("MinLength", 0)) <= len(text) <= int(spec.get("MaxLength", 4096)):
        found.append(f"{text!r} length outside MinLength/MaxLength")
    return found


def test_every_parameter_default_is_a_value_cloudformation_accepts(
    raw_template: dict[str, Any],
) -> None:
    refused = {
        name: problems
        for name, spec in raw_template["Parameters"].items()
        if "Default" in spec and (problems := violations(spec, spec["Default"]))
    }

    assert refused == {}


def test_samconfig_overrides_are_values_the_template_accepts(
    raw_template: dict[str, Any], samconfig: dict[str, dict[str, str]], environment: str
) -> None:
    # Given one environment's parameter_overrides from samconfig.toml
    overrides = samconfig[environment]
    parameters = raw_template["Parameters"]

    # Then each names a parameter of the template, with a value its constraints accept
    assert set(overrides) <= set(parameters), set(overrides) - set(parameters)
    refused = {
        name: problems
        for name, value in overrides.items()
        if (problems := violations(parameters[name], value))
    }
    assert refused == {}
    assert overrides["Environment"] == environment
    assert overrides.get("AppName", parameters["AppName"]["Default"]) == "goal-mandala"


def test_samconfig_values_pass_every_template_rule(deployed: Deployed) -> None:
    # Rules are checked by CloudFormation before it creates anything
    rules = deployed.template.get("Rules", {})

    failed = [
        f"{name}: {assertion['AssertDescription']}"
        for name, rule in rules.items()
        if deployed.resolver.truth(rule.get("RuleCondition", {"Fn::Equals": ["a", "a"]}))
        for assertion in rule["Assertions"]
        if not deployed.resolver.truth(assertion["Assert"])
    ]

    assert rules, "the translated template lost its Rules"
    assert failed == []


def test_the_rules_refuse_what_they_say_they_refuse() -> None:
    broken = deploy("prod", DatabaseStackName="", DatabaseHost="", ReplicaRegion="us-west-2")

    failed = {
        name
        for name, rule in broken.template["Rules"].items()
        if broken.resolver.truth(rule["RuleCondition"])
        and not all(broken.resolver.truth(a["Assert"]) for a in rule["Assertions"])
    }

    assert failed == {"DatabaseNeedsAHost", "ReplicationNeedsAMultiRegionKey"}


def test_samconfig_tags_every_stack_with_its_application_and_environment() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    for env in ENVIRONMENTS:
        tags = dict(
            pair.split("=", 1) for pair in config[env]["deploy"]["parameters"]["tags"].split()
        )
        assert tags == {"Application": "goal-mandala", "Environment": env, "ManagedBy": "sam"}


def deploy_guide_row(label: str) -> list[str]:
    """The dev, stg and prod cells of a row of docs/deploy.md's per-environment table."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide.split("## Per-environment differences", 1)[1]
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] == label:
            return cells[1:4]
    raise AssertionError(f"docs/deploy.md has no per-environment row {label!r}")


def test_the_deploy_guides_per_environment_table_is_what_each_stack_gets(
    deployed_by_env: dict[str, Deployed],
) -> None:
    def number(cell: str) -> int:
        return int(re.sub(r"[^0-9]", "", cell))

    latency = deploy_guide_row("retrieval latency p99 alarm")
    retention = deploy_guide_row("log retention")
    schedule = deploy_guide_row("canary schedule (samconfig)")
    trail = deploy_guide_row("CloudTrail trail + unusual-access alarms")

    for index, env in enumerate(ENVIRONMENTS):
        deployed = deployed_by_env[env]
        alarm = deployed.props("DatabaseRetrievalLatencyAlarm")
        assert number(latency[index]) == alarm["Threshold"], env
        assert number(retention[index]) == deployed.props("HealthCheckLogGroup")["RetentionInDays"]
        rate = deployed.props("HealthCheckFunctionSchedule")["ScheduleExpression"]
        assert rate.startswith(f"rate({number(schedule[index])} minute"), env
        assert (trail[index] == "yes") is deployed.has("Trail"), env


@pytest.mark.parametrize(
    ("app_name", "accepted"),
    [
        ("goal-mandala", True),
        ("a1", True),
        ("a" + "b" * 30, True),
        ("a--b", False),  # CloudTrail refuses adjacent dashes in the trail name
        ("app-", False),  # ... and a trail or bucket name ending with a dash
        ("a", False),
        ("a" + "b" * 31, False),
        ("1app", False),
        ("App", False),
    ],
)
def test_app_name_admits_only_names_every_resource_accepts(
    raw_template: dict[str, Any], app_name: str, accepted: bool
) -> None:
    assert (violations(raw_template["Parameters"]["AppName"], app_name) == []) is accepted
