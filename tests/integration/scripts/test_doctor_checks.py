"""``make doctor``'s checks against in-process moto: a healthy deployment passes, and
each way a deployment can be broken fails its own row, with a hint.

moto holds the state; where moto cannot produce an AWS answer (an unconfirmed e-mail
subscription, a KMS decryption failure, AccessDenied), a botocore event hook on the
adapter's client returns the answer AWS gives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from scripts.doctor.checks import CheckResult, Status, run_checks
from tests.integration.scripts.conftest import (
    SECRET_STRINGS,
    Environment,
    build,
    expectations_for,
    set_rotation,
)

from harness.secret_checks import assert_no_secret_in

if TYPE_CHECKING:
    from scripts.doctor.aws_adapter import AwsAdapter


class _ErrorResponse:
    status_code = 400

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}


def answer_with_error(adapter: AwsAdapter, service: str, operation: str, code: str) -> None:
    """Make ``operation`` answer with AWS error ``code`` (botocore before-call hook)."""

    def respond(**_: Any) -> tuple[_ErrorResponse, dict[str, Any]]:
        return _ErrorResponse(), {"Error": {"Code": code, "Message": f"injected {code}"}}

    adapter.client(service).meta.events.register(f"before-call.{service}.{operation}", respond)


def rows(healthy: Environment, adapter: AwsAdapter | None = None, **kw: Any) -> list[CheckResult]:
    return run_checks(adapter or healthy.adapter(), healthy.expected, **kw)


def the_row(results: list[CheckResult], check: str, target_part: str = "") -> CheckResult:
    matching = [r for r in results if r.check == check and target_part in r.target]
    assert len(matching) == 1, f"expected one {check!r} row for {target_part!r}: {results}"
    return matching[0]


def assert_only_failure(
    results: list[CheckResult], check: str, target_part: str = ""
) -> CheckResult:
    row = the_row(results, check, target_part)
    assert row.status is Status.FAIL
    assert row.hint, "every failure carries a hint"
    others = [r for r in results if r.failed and r is not row]
    assert others == [], f"only {check} should fail: {others}"
    return row


# -- the healthy deployment --------------------------------------------------------


def test_a_healthy_deployment_passes_every_check(healthy: Environment) -> None:
    # When
    results = rows(healthy)
    # Then
    assert [r for r in results if r.status not in {Status.PASS, Status.SKIP}] == []
    checks = {r.check for r in results}
    assert {
        "credentials", "stack deployed", "kms key", "secret database", "secret jwt",
        "secret external-apis", "rotation database", "iam role", "iam policy",
        "iam attachment", "alarm", "sns subscriptions", "cloudtrail",
    } <= checks  # fmt: skip


def test_no_secret_value_appears_in_any_row(healthy: Environment) -> None:
    # Given a deployment with one secret in the wrong format
    sm = healthy.client("secretsmanager")
    sm.put_secret_value(
        SecretId=healthy.secret("database"),
        SecretString=json.dumps({"host": "db", "password": SECRET_STRINGS[0]}),
    )
    # When
    text = repr(rows(healthy))
    # Then
    assert the_row(rows(healthy), "secret database").detail == "wrong format"
    assert_no_secret_in([text], secrets=SECRET_STRINGS)


def test_dev_skips_rotation_and_cloudtrail_as_the_template_says(aws: None, region: str) -> None:
    # Given dev, which the template deploys without rotation or a trail
    dev = build(expectations_for("dev"), region=region)
    # When
    results = rows(dev)
    # Then
    assert not any(r.failed for r in results)
    assert the_row(results, "rotation database").status is Status.SKIP
    assert the_row(results, "cloudtrail").status is Status.SKIP
    assert "dev" in the_row(results, "cloudtrail").detail


# -- credentials and stack ---------------------------------------------------------


def adapter_without_credentials(region: str) -> AwsAdapter:
    """An adapter whose session finds no credentials anywhere (no env, profile or role)."""
    import botocore.credentials
    import botocore.session
    from scripts.doctor.aws_adapter import AwsAdapter

    core = botocore.session.get_session()
    core.register_component(
        "credential_provider", botocore.credentials.CredentialResolver(providers=[])
    )
    return AwsAdapter(region=region, session=boto3.session.Session(botocore_session=core))


def test_missing_credentials_stop_the_run_with_a_hint(healthy: Environment) -> None:
    # Given a session that finds no credentials anywhere
    adapter = adapter_without_credentials(healthy.region)
    # When
    results = rows(healthy, adapter)
    # Then
    assert len(results) == 1
    assert (results[0].status, results[0].detail) == (Status.FAIL, "NoCredentials")
    assert "credentials" in results[0].hint


def test_missing_credentials_hint_says_what_a_moto_server_accepts(healthy: Environment) -> None:
    # Given a session that finds no credentials (as with AWS_ENDPOINT_URL set and nothing else)
    adapter = adapter_without_credentials(healthy.region)
    # When
    (result,) = rows(healthy, adapter)
    # Then the hint gives the dummy credentials a moto server takes, not only "set the URL"
    assert "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing" in result.hint


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("ExpiredToken", "aws sso login"),
        ("ExpiredTokenException", "aws sso login"),
        ("InvalidClientTokenId", "AWS_ACCESS_KEY_ID"),
        ("UnrecognizedClientException", "AWS_ACCESS_KEY_ID"),
        ("SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"),
    ],
)
def test_credentials_aws_refuses_stop_the_run_with_a_credentials_hint(
    healthy: Environment, code: str, advice: str
) -> None:
    # Given credentials AWS no longer (or never) accepts
    adapter = healthy.adapter()
    answer_with_error(adapter, "sts", "GetCallerIdentity", code)
    # When
    (result,) = rows(healthy, adapter)
    # Then the hint says what to do about the credentials, not "AWS answered ..."
    assert (result.status, result.detail) == (Status.FAIL, code)
    assert advice in result.hint
    assert "AWS answered" not in result.hint


def test_a_profile_that_does_not_exist_stops_the_run_naming_aws_profile(
    healthy: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given AWS_PROFILE naming no profile of this machine
    from scripts.doctor.aws_adapter import AwsAdapter

    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    # When
    (result,) = rows(healthy, AwsAdapter(region=healthy.region))
    # Then
    assert (result.status, result.detail) == (Status.FAIL, "ProfileNotFound")
    assert "AWS_PROFILE" in result.hint
    assert "aws configure list-profiles" in result.hint


def test_a_missing_stack_fails_and_says_how_to_deploy(healthy: Environment) -> None:
    # Given
    healthy.client("cloudformation").delete_stack(StackName=healthy.expected.stack_name)
    # When
    row = assert_only_failure(rows(healthy), "stack deployed")
    # Then
    assert "sam deploy --config-env prod" in row.hint


def test_a_rolled_back_stack_fails(healthy: Environment) -> None:
    # Given the last update rolled back
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends["123456789012"][healthy.region]
    for stack in backend.stacks.values():
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
    # When
    row = assert_only_failure(rows(healthy), "stack deployed")
    # Then
    assert row.detail == "UPDATE_ROLLBACK_COMPLETE"
    assert "rolled back" in row.hint


def test_resources_are_found_through_the_stack_when_it_names_them(aws: None, region: str) -> None:
    # Given a stack whose topic has a CloudFormation-generated name (none in the template)
    expected = expectations_for("prod")
    env = build(expected, region=region)
    cfn = env.client("cloudformation")
    cfn.delete_stack(StackName=expected.stack_name)
    cfn.create_stack(
        StackName=expected.stack_name,
        TemplateBody=json.dumps({"Resources": {"AlarmTopic": {"Type": "AWS::SNS::Topic"}}}),
    )
    generated = cfn.describe_stack_resource(
        StackName=expected.stack_name, LogicalResourceId="AlarmTopic"
    )["StackResourceDetail"]["PhysicalResourceId"]
    from dataclasses import replace

    from scripts.doctor.expectations import NamedResource

    unnamed = replace(expected, topics=(NamedResource("AlarmTopic", None),))
    # When
    results = run_checks(env.adapter(), unnamed)
    # Then the stack's topic (no subscribers yet) is the one checked
    row = the_row(results, "sns subscriptions")
    assert row.target == generated.rsplit(":", 1)[-1]
    assert row.status is Status.FAIL
    assert "no subscribers" in row.detail


# -- KMS ---------------------------------------------------------------------------


def test_a_disabled_key_fails_with_the_command_to_enable_it(healthy: Environment) -> None:
    # Given
    healthy.client("kms").disable_key(KeyId=healthy.key_id)
    # When
    row = the_row(rows(healthy), "kms key")
    # Then
    assert row.status is Status.FAIL
    assert row.detail == "state Disabled"
    assert "enable-key" in row.hint
    assert "kms-key-disabled" in row.hint


def test_a_key_pending_deletion_fails(healthy: Environment) -> None:
    # Given
    healthy.client("kms").schedule_key_deletion(KeyId=healthy.key_id, PendingWindowInDays=7)
    # When
    row = the_row(rows(healthy), "kms key")
    # Then
    assert row.status is Status.FAIL
    assert row.detail == "state PendingDeletion"
    assert "cancel-key-deletion" in row.hint


def test_key_rotation_off_fails(healthy: Environment) -> None:
    # Given
    healthy.client("kms").disable_key_rotation(KeyId=healthy.key_id)
    # When
    row = assert_only_failure(rows(healthy), "kms key")
    # Then
    assert "rotation OFF" in row.detail
    assert "enable-key-rotation" in row.hint


def test_a_missing_key_alias_fails(healthy: Environment) -> None:
    # Given
    healthy.client("kms").delete_alias(AliasName=healthy.expected.key_alias)
    # When
    row = the_row(rows(healthy), "kms key")
    # Then
    assert (row.status, row.detail) == (Status.FAIL, "not found")


# -- secrets -----------------------------------------------------------------------


def test_a_missing_secret_fails(healthy: Environment) -> None:
    # Given
    healthy.client("secretsmanager").delete_secret(
        SecretId=healthy.secret("jwt"), ForceDeleteWithoutRecovery=True
    )
    # When
    row = assert_only_failure(rows(healthy), "secret jwt")
    # Then
    assert row.detail == "not found"
    assert "deploy" in row.hint


def test_a_secret_scheduled_for_deletion_fails_with_the_restore_command(
    healthy: Environment,
) -> None:
    # Given
    healthy.client("secretsmanager").delete_secret(
        SecretId=healthy.secret("external-apis"), RecoveryWindowInDays=7
    )
    # When
    row = the_row(rows(healthy), "secret external-apis")
    # Then
    assert row.status is Status.FAIL
    assert "restore-secret" in row.hint


def test_a_secret_under_the_aws_managed_key_fails(healthy: Environment) -> None:
    # Given a secret created without KmsKeyId (default aws/secretsmanager key)
    sm = healthy.client("secretsmanager")
    name = healthy.secret("jwt")
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    sm.create_secret(Name=name, SecretString=json.dumps({"signingKey": "x" * 64}))
    # When
    row = assert_only_failure(rows(healthy), "secret jwt")
    # Then
    assert "aws/secretsmanager" in row.detail


def test_a_secret_under_another_key_fails(healthy: Environment) -> None:
    # Given
    kms = healthy.client("kms")
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    healthy.client("secretsmanager").update_secret(SecretId=healthy.secret("jwt"), KmsKeyId=other)
    # When
    row = assert_only_failure(rows(healthy), "secret jwt")
    # Then
    assert other in row.detail


def test_a_secret_that_does_not_decrypt_fails(healthy: Environment) -> None:
    # Given KMS refuses to decrypt (what AWS answers when the key is disabled)
    adapter = healthy.adapter()
    answer_with_error(adapter, "secretsmanager", "GetSecretValue", "DecryptionFailure")
    # When
    results = rows(healthy, adapter)
    # Then every secret reports it
    for kind in ("database", "jwt", "external-apis"):
        row = the_row(results, f"secret {kind}")
        assert row.status is Status.FAIL
        assert row.detail == "does not decrypt (DecryptionFailure)"
        assert "kms-key-disabled" in row.hint


def test_access_denied_fails_with_a_permissions_hint(healthy: Environment) -> None:
    # Given
    adapter = healthy.adapter()
    answer_with_error(adapter, "secretsmanager", "GetSecretValue", "AccessDeniedException")
    # When
    row = the_row(rows(healthy, adapter), "secret database")
    # Then
    assert row.status is Status.FAIL
    assert "secretsmanager:GetSecretValue" in row.hint


def test_a_database_secret_missing_a_field_names_the_field(healthy: Environment) -> None:
    # Given
    healthy.client("secretsmanager").put_secret_value(
        SecretId=healthy.secret("database"),
        SecretString=json.dumps({"host": "db", "password": SECRET_STRINGS[0]}),
    )
    # When
    row = assert_only_failure(rows(healthy), "secret database")
    # Then
    assert "'username'" in row.hint
    assert_no_secret_in([row.hint], secrets=[SECRET_STRINGS[0]])


def test_a_jwt_secret_with_a_short_key_fails(healthy: Environment) -> None:
    # Given
    healthy.client("secretsmanager").put_secret_value(
        SecretId=healthy.secret("jwt"), SecretString=json.dumps({"signingKey": "short"})
    )
    # When
    row = assert_only_failure(rows(healthy), "secret jwt")
    # Then
    assert "signingKey" in row.hint


def test_a_secret_that_is_not_json_fails(healthy: Environment) -> None:
    # Given
    healthy.client("secretsmanager").put_secret_value(
        SecretId=healthy.secret("external-apis"), SecretString="not-json-" + SECRET_STRINGS[2]
    )
    # When
    row = assert_only_failure(rows(healthy), "secret external-apis")
    # Then
    assert "not valid JSON" in row.hint
    assert_no_secret_in([row.hint], secrets=[SECRET_STRINGS[2]])


def test_a_secret_holding_binary_fails_saying_so_not_as_invalid_json(healthy: Environment) -> None:
    # Given the database secret's AWSCURRENT holding SecretBinary, not SecretString
    healthy.client("secretsmanager").put_secret_value(
        SecretId=healthy.secret("database"), SecretBinary=b"\x00binary-" + b"q" * 16
    )
    # When
    row = assert_only_failure(rows(healthy), "secret database")
    # Then
    assert row.detail == "wrong format"
    assert "SecretBinary" in row.hint
    assert "not valid JSON" not in row.hint


# -- rotation ----------------------------------------------------------------------


def _database_rotation(healthy: Environment, **changes: Any) -> None:
    secret = next(s for s in healthy.expected.secrets if s.kind == "database")
    state: dict[str, Any] = {
        "days": secret.rotation_days,
        "function": secret.rotation_function,
        "last_rotated": datetime.now(UTC) - timedelta(days=3),
    }
    state.update(changes)
    set_rotation(healthy.region, secret.name, **state)


def test_rotation_disabled_fails(healthy: Environment) -> None:
    # Given
    healthy.client("secretsmanager").cancel_rotate_secret(SecretId=healthy.secret("database"))
    # When
    row = assert_only_failure(rows(healthy), "rotation database")
    # Then
    assert row.detail == "rotation disabled"
    assert "manual-rotation" in row.hint


def test_a_rotation_period_other_than_the_templates_fails(healthy: Environment) -> None:
    # Given
    _database_rotation(healthy, days=90)
    # When
    row = assert_only_failure(rows(healthy), "rotation database")
    # Then
    assert "period 90 days, expected 30" in row.detail


def test_a_secret_never_rotated_fails(healthy: Environment) -> None:
    # Given
    _database_rotation(healthy, last_rotated=None)
    # When
    row = assert_only_failure(rows(healthy), "rotation database")
    # Then
    assert "never rotated" in row.detail
    assert "rotate-secret" in row.hint


def test_an_overdue_rotation_fails(healthy: Environment) -> None:
    # Given the last rotation 3 days ago, and a clock 40 days later
    later = datetime.now(UTC) + timedelta(days=40)
    # When
    row = assert_only_failure(rows(healthy, now=lambda: later), "rotation database")
    # Then
    assert "overdue" in row.detail


def test_a_rotation_by_another_function_fails(healthy: Environment) -> None:
    # Given
    _database_rotation(healthy, function="someone-elses-rotation")
    # When
    row = assert_only_failure(rows(healthy), "rotation database")
    # Then
    assert "someone-elses-rotation" in row.detail


def test_rotation_enabled_where_the_template_has_none_is_a_warning(healthy: Environment) -> None:
    # Given the JWT secret rotated by hand in prod, where the template schedules none
    set_rotation(healthy.region, healthy.secret("jwt"), days=30, function=None, last_rotated=None)
    # When
    results = rows(healthy)
    # Then
    assert the_row(results, "rotation jwt").status is Status.WARN
    assert not any(r.failed for r in results)


# -- IAM ---------------------------------------------------------------------------


def test_a_missing_role_fails(healthy: Environment) -> None:
    # Given
    iam = healthy.client("iam")
    role = healthy.expected.roles[0].name
    for policy in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
    iam.delete_role(RoleName=role)
    # When
    row = assert_only_failure(rows(healthy), "iam role")
    # Then
    assert row.detail == "not found"


def test_a_missing_policy_fails(healthy: Environment) -> None:
    # Given
    iam = healthy.client("iam")
    arn = f"arn:aws:iam::123456789012:policy/{healthy.expected.policies[0].name}"
    iam.detach_role_policy(RoleName=healthy.expected.roles[0].name, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    # When
    row = assert_only_failure(rows(healthy), "iam policy")
    # Then
    assert row.detail == "not found"


@pytest.mark.parametrize(("field", "check"), [("roles", "iam role"), ("policies", "iam policy")])
def test_a_role_or_policy_the_stack_does_not_name_fails_saying_to_deploy(
    healthy: Environment, field: str, check: str
) -> None:
    # Given an IAM resource with a CloudFormation-generated name, and no stack naming it
    from dataclasses import replace

    from scripts.doctor.expectations import NamedResource

    unnamed = replace(healthy.expected, **{field: (NamedResource("Generated", None),)})
    # When
    row = the_row(run_checks(healthy.adapter(), unnamed), check)
    # Then
    assert (row.target, row.status, row.detail) == ("Generated", Status.FAIL, "name unknown")
    assert row.hint.startswith("deploy the stack")


def test_a_detached_policy_fails(healthy: Environment) -> None:
    # Given
    arn = f"arn:aws:iam::123456789012:policy/{healthy.expected.policies[0].name}"
    healthy.client("iam").detach_role_policy(RoleName=healthy.expected.roles[0].name, PolicyArn=arn)
    # When
    row = assert_only_failure(rows(healthy), "iam attachment")
    # Then
    assert "not attached" in row.detail


# -- alarms, SNS, CloudTrail -------------------------------------------------------


def test_an_alarm_in_alarm_fails_with_the_runbook_section(healthy: Environment) -> None:
    # Given
    name = next(a.name for a in healthy.expected.alarms if "login" in (a.name or ""))
    healthy.client("cloudwatch").set_alarm_state(
        AlarmName=name, StateValue="ALARM", StateReason="test"
    )
    # When
    row = assert_only_failure(rows(healthy), "alarm", name)
    # Then
    assert row.detail == "in ALARM"
    assert "docs/operations.md#login-failure" in row.hint


def test_an_alarm_without_data_is_a_warning(healthy: Environment) -> None:
    # Given
    name = healthy.expected.alarms[0].name
    assert name
    healthy.client("cloudwatch").set_alarm_state(
        AlarmName=name, StateValue="INSUFFICIENT_DATA", StateReason="test"
    )
    # When
    results = rows(healthy)
    # Then
    assert the_row(results, "alarm", name).status is Status.WARN
    assert not any(r.failed for r in results)


def test_a_missing_alarm_fails(healthy: Environment) -> None:
    # Given
    name = healthy.expected.alarms[0].name
    assert name
    healthy.client("cloudwatch").delete_alarms(AlarmNames=[name])
    # When
    row = assert_only_failure(rows(healthy), "alarm", name)
    # Then
    assert row.detail == "missing"


def test_an_alarm_that_notifies_no_one_fails(healthy: Environment) -> None:
    # Given
    name = healthy.expected.alarms[0].name
    assert name
    healthy.client("cloudwatch").disable_alarm_actions(AlarmNames=[name])
    # When
    row = assert_only_failure(rows(healthy), "alarm", name)
    # Then
    assert "notifies no one" in row.detail


def test_a_topic_without_subscribers_fails(healthy: Environment) -> None:
    # Given
    sns = healthy.client("sns")
    for sub in sns.list_subscriptions_by_topic(TopicArn=healthy.topic_arn)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    # When
    row = assert_only_failure(rows(healthy), "sns subscriptions")
    # Then
    assert "AlarmEmail" in row.hint


def test_an_unconfirmed_subscription_fails(healthy: Environment) -> None:
    # Given an e-mail subscription nobody confirmed (AWS lists it as PendingConfirmation)
    adapter = healthy.adapter()

    def pending(parsed: dict[str, Any], **_: Any) -> None:
        for sub in parsed.get("Subscriptions", []):
            sub["SubscriptionArn"] = "PendingConfirmation"

    adapter.client("sns").meta.events.register("after-call.sns.ListSubscriptionsByTopic", pending)
    # When
    row = assert_only_failure(rows(healthy, adapter), "sns subscriptions")
    # Then
    assert "1 pending confirmation" in row.detail
    assert "Confirm subscription" in row.hint


def test_a_missing_topic_fails(healthy: Environment) -> None:
    # Given
    healthy.client("sns").delete_topic(TopicArn=healthy.topic_arn)
    # When
    row = the_row(rows(healthy), "sns subscriptions")
    # Then
    assert (row.status, row.detail) == (Status.FAIL, "not found")


def test_a_trail_that_stopped_logging_fails(healthy: Environment) -> None:
    # Given
    name = healthy.expected.trails[0].name
    healthy.client("cloudtrail").stop_logging(Name=name)
    # When
    row = assert_only_failure(rows(healthy), "cloudtrail")
    # Then
    assert row.detail == "not logging"
    assert f"start-logging --name {name}" in row.hint


def test_a_missing_trail_fails(healthy: Environment) -> None:
    # Given
    healthy.client("cloudtrail").delete_trail(Name=healthy.expected.trails[0].name)
    # When
    row = assert_only_failure(rows(healthy), "cloudtrail")
    # Then
    assert row.detail == "not found"


def test_an_unexpected_aws_error_fails_only_its_own_check(healthy: Environment) -> None:
    # Given CloudTrail answering a server error
    adapter = healthy.adapter()
    answer_with_error(adapter, "cloudtrail", "GetTrailStatus", "InternalFailure")
    # When
    row = assert_only_failure(rows(healthy, adapter), "cloudtrail")
    # Then
    assert row.detail == "InternalFailure"


def test_boto3_is_only_imported_by_the_adapter() -> None:
    # The doctor's domain module reads answers; only the adapter talks to AWS.
    import ast
    from pathlib import Path

    for module in ("checks.py", "expectations.py", "report.py", "cli.py"):
        tree = ast.parse((Path("scripts/doctor") / module).read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert not imported & {"boto3", "botocore"}, module
    assert boto3  # the tests themselves use it
