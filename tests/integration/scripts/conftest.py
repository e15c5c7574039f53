"""Fixtures for the doctor's tests: a healthy environment in moto, built from expectations.

``healthy`` creates in (in-process) moto every resource the doctor expects for
``prod`` of ``doctor_template.yaml``, in the state a good deployment leaves them.
Each failure test then breaks exactly one thing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from scripts.doctor.aws_adapter import AwsAdapter
from scripts.doctor.expectations import Expectations, from_template
from scripts.sam_template import DeployedTemplate

DOCTOR_TEMPLATE = Path(__file__).with_name("doctor_template.yaml")
ACCOUNT = "123456789012"
# Values the tests put in the secrets; no test output may contain any of them.
SECRET_VALUES = {
    "database": {
        "engine": "mysql",
        "host": "db.internal",
        "port": 3306,
        "username": "app",
        "password": "db-Secret-Value-9f3a7c",
        "dbname": "app",
    },
    "jwt": {"signingKey": "jwt-Signing-Key-" + "k" * 48, "algorithm": "HS256"},
    "external-apis": {
        "bedrock": {"provider": "bedrock", "apiKey": "ses-Api-Key-Value-51d2", "region": "r"}
    },
}
READ_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:goal-mandala-*",
            }
        ],
    }
)
SECRET_STRINGS = (
    "db-Secret-Value-9f3a7c",
    "jwt-Signing-Key-" + "k" * 48,
    "ses-Api-Key-Value-51d2",
)


def expectations_for(environment: str, *, app_name: str | None = None) -> Expectations:
    template = DeployedTemplate.for_environment(
        environment, app_name=app_name, template_path=DOCTOR_TEMPLATE, samconfig_path=None
    )
    return from_template(template)


@dataclass
class Environment:
    """The AWS side of one deployed environment, and handles to break it."""

    expected: Expectations
    region: str
    key_id: str
    topic_arn: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)

    def adapter(self) -> AwsAdapter:
        return AwsAdapter(self.client, region=self.region)

    def secret(self, kind: str) -> str:
        return next(s.name for s in self.expected.secrets if s.kind == kind)


def build(expected: Expectations, *, region: str) -> Environment:
    """Create every resource of ``expected`` in moto, healthy."""
    kms = boto3.client("kms", region_name=region)
    key_id = kms.create_key(Description="secrets key")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id)
    kms.create_alias(AliasName=expected.key_alias, TargetKeyId=key_id)

    sm = boto3.client("secretsmanager", region_name=region)
    for secret in expected.secrets:
        sm.create_secret(
            Name=secret.name,
            KmsKeyId=expected.key_alias,
            SecretString=json.dumps(SECRET_VALUES[secret.kind]),
        )
        if secret.rotation_days:
            set_rotation(
                region,
                secret.name,
                days=secret.rotation_days,
                function=secret.rotation_function,
                last_rotated=datetime.now(UTC) - timedelta(days=3),
            )

    iam = boto3.client("iam")
    policy_arns = {}
    for policy in expected.policies:
        assert policy.name
        policy_arns[policy.logical_id] = iam.create_policy(
            PolicyName=policy.name,
            PolicyDocument=READ_POLICY,
        )["Policy"]["Arn"]
    role_names = {}
    for role in expected.roles:
        assert role.name
        iam.create_role(RoleName=role.name, AssumeRolePolicyDocument="{}")
        role_names[role.logical_id] = role.name
    for role_id, policy_id in expected.attachments:
        iam.attach_role_policy(RoleName=role_names[role_id], PolicyArn=policy_arns[policy_id])

    sns = boto3.client("sns", region_name=region)
    topic_arn = ""
    for topic in expected.topics:
        assert topic.name
        topic_arn = sns.create_topic(Name=topic.name)["TopicArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="oncall@example.com")

    cloudwatch = boto3.client("cloudwatch", region_name=region)
    for alarm in expected.alarms:
        assert alarm.name
        cloudwatch.put_metric_alarm(
            AlarmName=alarm.name,
            Namespace="SecretsGuard",
            MetricName="RetrievalFailure",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic_arn],
            OKActions=[topic_arn],
        )
        cloudwatch.set_alarm_state(AlarmName=alarm.name, StateValue="OK", StateReason="healthy")

    if expected.trails:
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(
            Bucket=f"{expected.prefix}-audit",
            CreateBucketConfiguration={"LocationConstraint": region},
        )
        cloudtrail = boto3.client("cloudtrail", region_name=region)
        for trail in expected.trails:
            assert trail.name
            cloudtrail.create_trail(Name=trail.name, S3BucketName=f"{expected.prefix}-audit")
            cloudtrail.start_logging(Name=trail.name)

    cfn = boto3.client("cloudformation", region_name=region)
    cfn.create_stack(
        StackName=expected.stack_name,
        TemplateBody=json.dumps({"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}}),
    )
    return Environment(expected=expected, region=region, key_id=key_id, topic_arn=topic_arn)


def set_rotation(
    region: str,
    name: str,
    *,
    days: int,
    function: str | None,
    last_rotated: datetime | None,
    enabled: bool = True,
) -> None:
    """Record a secret's rotation state as Secrets Manager would after a real rotation.

    moto's RotateSecret cannot run our function (and without one it leaves AWSCURRENT
    on an empty version), so the state is set on moto's model directly.
    """
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[ACCOUNT][region].secrets[name]
    secret.rotation_requested = True
    secret.rotation_enabled = enabled
    secret.auto_rotate_after_days = days
    secret.rotation_lambda_arn = (
        f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}" if function else ""
    )
    secret.last_rotation_date = int(last_rotated.timestamp()) if last_rotated else None


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


@pytest.fixture
def region() -> str:
    return os.environ["AWS_DEFAULT_REGION"]


@pytest.fixture
def healthy(aws: None, region: str) -> Environment:
    """prod of doctor_template.yaml, deployed and healthy, in in-process moto."""
    return build(expectations_for("prod"), region=region)
