"""Adapter: every AWS call ``make doctor`` makes, and the one place errors are translated.

Clients are created lazily, once per service, from ordinary credentials (profile,
environment, SSO...) or handed in by tests. ``AWS_ENDPOINT_URL`` (which boto3 reads
itself) points them at a local moto server. Every botocore failure becomes an
:class:`AwsError` whose ``code`` the checks turn into a hint; nothing else leaks.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import boto3  # type: ignore[import-untyped,unused-ignore]

__all__ = ["AccessDenied", "AwsAdapter", "AwsError", "NotFound"]

_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NotFoundException",
        "NotFound",
        "NoSuchEntity",
        "TrailNotFoundException",
        "ValidationError",  # CloudFormation: "Stack with id ... does not exist"
    }
)
_ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
)
_CREDENTIALS = "NoCredentials"
_UNREACHABLE = "EndpointUnreachable"
_UNPARSABLE = "UnparsableResponse"


class AwsError(Exception):
    """An AWS call failed. ``code`` is AWS's error code or one of ours (``NoCredentials``,
    ``EndpointUnreachable``, ``UnparsableResponse``); the message never contains a secret
    value."""

    def __init__(self, message: str, *, code: str, operation: str) -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation


class NotFound(AwsError):
    """The resource does not exist (or is not visible to these credentials)."""


class AccessDenied(AwsError):
    """IAM (or a key or resource policy) refused the call."""


class AwsAdapter:
    """Thin, typed wrappers over the read-only calls the checks need."""

    def __init__(
        self,
        client_factory: Callable[[str], Any] | None = None,
        *,
        region: str,
        session: boto3.session.Session | None = None,
    ) -> None:
        self.region = region
        self._factory = client_factory
        self._session = session
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """The boto3 client for ``service``, created on first use and then kept."""
        if service not in self._clients:
            if self._factory is not None:
                self._clients[service] = self._factory(service)
            else:
                import boto3  # type: ignore[import-untyped,unused-ignore]
                from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

                session = self._session or boto3.session.Session()
                self._clients[service] = session.client(
                    service,
                    region_name=self.region,
                    config=Config(
                        retries={"mode": "standard", "max_attempts": 3},
                        connect_timeout=5,
                        read_timeout=10,
                    ),
                )
        return self._clients[service]

    # -- identity and stack ----------------------------------------------------------

    def caller_identity(self) -> dict[str, Any]:
        with _translated("sts:GetCallerIdentity"):
            return dict(self.client("sts").get_caller_identity())

    def describe_stack(self, stack_name: str) -> dict[str, Any]:
        with _translated("cloudformation:DescribeStacks"):
            stacks = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        if not stacks:
            raise NotFound(
                f"stack {stack_name} does not exist",
                code="ValidationError",
                operation="cloudformation:DescribeStacks",
            )
        return dict(stacks[0])

    def stack_resources(self, stack_name: str) -> dict[str, dict[str, Any]]:
        """Logical id -> the resource summary (PhysicalResourceId, ResourceType, status)."""
        resources: dict[str, dict[str, Any]] = {}
        with _translated("cloudformation:ListStackResources"):
            paginator = self.client("cloudformation").get_paginator("list_stack_resources")
            for page in paginator.paginate(StackName=stack_name):
                for summary in page["StackResourceSummaries"]:
                    resources[summary["LogicalResourceId"]] = dict(summary)
        return resources

    # -- secrets and keys ------------------------------------------------------------

    def describe_secret(self, secret_id: str) -> dict[str, Any]:
        with _translated("secretsmanager:DescribeSecret"):
            return dict(self.client("secretsmanager").describe_secret(SecretId=secret_id))

    def secret_string(self, secret_id: str) -> str | None:
        """The AWSCURRENT value; None if it holds SecretBinary. Never print it."""
        with _translated("secretsmanager:GetSecretValue"):
            response = self.client("secretsmanager").get_secret_value(
                SecretId=secret_id, VersionStage="AWSCURRENT"
            )
        value = response.get("SecretString")
        return None if value is None else str(value)

    def describe_key(self, key_id: str) -> dict[str, Any]:
        with _translated("kms:DescribeKey"):
            return dict(self.client("kms").describe_key(KeyId=key_id)["KeyMetadata"])

    def key_rotation_enabled(self, key_id: str) -> bool:
        with _translated("kms:GetKeyRotationStatus"):
            return bool(
                self.client("kms").get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
            )

    # -- IAM -------------------------------------------------------------------------

    def get_role(self, role_name: str) -> dict[str, Any]:
        with _translated("iam:GetRole"):
            return dict(self.client("iam").get_role(RoleName=role_name)["Role"])

    def get_policy(self, policy_arn: str) -> dict[str, Any]:
        with _translated("iam:GetPolicy"):
            return dict(self.client("iam").get_policy(PolicyArn=policy_arn)["Policy"])

    def attached_policy_arns(self, role_name: str) -> set[str]:
        arns: set[str] = set()
        with _translated("iam:ListAttachedRolePolicies"):
            paginator = self.client("iam").get_paginator("list_attached_role_policies")
            for page in paginator.paginate(RoleName=role_name):
                arns.update(p["PolicyArn"] for p in page["AttachedPolicies"])
        return arns

    # -- monitoring ------------------------------------------------------------------

    def describe_alarms(
        self, *, names: list[str] | None = None, prefix: str | None = None
    ) -> list[dict[str, Any]]:
        alarms: list[dict[str, Any]] = []
        with _translated("cloudwatch:DescribeAlarms"):
            paginator = self.client("cloudwatch").get_paginator("describe_alarms")
            batches: list[dict[str, Any]] = (
                [{"AlarmNames": names[i : i + 100]} for i in range(0, len(names), 100)]
                if names
                else [{"AlarmNamePrefix": prefix or ""}]
            )
            for batch in batches:
                for page in paginator.paginate(
                    AlarmTypes=["MetricAlarm", "CompositeAlarm"], **batch
                ):
                    alarms.extend(page.get("MetricAlarms", []))
                    alarms.extend(page.get("CompositeAlarms", []))
        return alarms

    def topic_attributes(self, topic_arn: str) -> dict[str, str]:
        with _translated("sns:GetTopicAttributes"):
            return dict(self.client("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"])

    def subscriptions(self, topic_arn: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        with _translated("sns:ListSubscriptionsByTopic"):
            paginator = self.client("sns").get_paginator("list_subscriptions_by_topic")
            for page in paginator.paginate(TopicArn=topic_arn):
                found.extend(page["Subscriptions"])
        return found

    def trail_status(self, trail_name: str) -> dict[str, Any]:
        with _translated("cloudtrail:GetTrailStatus"):
            return dict(self.client("cloudtrail").get_trail_status(Name=trail_name))


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Turn botocore's exceptions into :class:`AwsError` (chained, never swallowed)."""
    from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )
    from botocore.parsers import (  # type: ignore[import-untyped,unused-ignore]
        ResponseParserError,
    )

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = f"{operation}: {code}: {error.get('Message', '')}".rstrip(": ")
        if code in _ACCESS_DENIED:
            raise AccessDenied(message, code=code, operation=operation) from exc
        if code in _NOT_FOUND and (code != "ValidationError" or "does not exist" in message):
            raise NotFound(message, code=code, operation=operation) from exc
        raise AwsError(message, code=code, operation=operation) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise AwsError(
            f"{operation}: no AWS credentials found", code=_CREDENTIALS, operation=operation
        ) from exc
    except EndpointConnectionError as exc:
        raise AwsError(
            f"{operation}: cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}",
            code=_UNREACHABLE,
            operation=operation,
        ) from exc
    except ResponseParserError as exc:  # not a BotoCoreError: an HTML page, a proxy's answer
        raise AwsError(
            f"{operation}: the endpoint's answer is not an AWS response",
            code=_UNPARSABLE,
            operation=operation,
        ) from exc
    except BotoCoreError as exc:
        raise AwsError(
            f"{operation}: {type(exc).__name__}", code=type(exc).__name__, operation=operation
        ) from exc
