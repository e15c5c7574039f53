"""The pre-deployment checklist: each check asks the AWS adapter, and answers with a row.

Domain only: no boto3 here. Every check returns :class:`CheckResult` rows; a failing
row always carries a hint that says what to do. A check never stops the others: an
unexpected AWS error becomes a failed row of that check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from scripts.doctor.aws_adapter import AccessDenied, AwsError, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from scripts.doctor.aws_adapter import AwsAdapter
    from scripts.doctor.expectations import Expectations, NamedResource, SecretExpectation

__all__ = ["ALARM_HINTS", "CheckResult", "Status", "alarm_hint", "run_checks"]

OPERATIONS = "docs/operations.md"
TROUBLESHOOTING = "docs/troubleshooting.md"
OK_STACK_STATES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
ROTATION_GRACE_DAYS = 1

# Alarm hints by a keyword of the alarm's name (template.yaml's AlarmName), first match
# wins; each points at the alarm's section of the runbook.
ALARM_HINTS: tuple[tuple[str, str], ...] = (
    ("canary-silent", "the canary stopped reporting: check its schedule and errors"),
    ("canary-errors", "the canary function itself fails: read its log group"),
    ("retrieval-latency", "secret reads are slow: throttling? cache TTL? Secrets Manager?"),
    ("retrieval-failure", "the canary cannot read a secret: read its log line per secret"),
    ("login-failure", "the database refuses AWSCURRENT: possible lock-out, act now"),
    ("rotation-overdue", "a rotation is overdue: is the schedule on, did the last one fail?"),
    ("rotation-failed", "a rotation failed or rolled back: AWSCURRENT still works"),
    ("rotation-function-errors", "the rotation function raised: read its log group"),
    ("access-denied", "someone was refused a secret: find the principal in CloudTrail"),
    ("unexpected-read", "an unexpected principal read a secret: treat as a possible leak"),
)


def alarm_hint(alarm_name: str) -> str:
    """The runbook hint for an alarm, by the keyword its name carries."""
    for keyword, hint in ALARM_HINTS:
        if keyword in alarm_name:
            return f"{hint} ({OPERATIONS}#{keyword})"
    return f"see {OPERATIONS}#alarms"


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    WARN = "WARN"  # worth a look, does not fail the run
    FAIL = "FAIL"
    SKIP = "SKIP"  # not applicable to this environment


@dataclass(frozen=True)
class CheckResult:
    check: str
    target: str
    status: Status
    detail: str
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


@dataclass
class _Context:
    adapter: AwsAdapter
    expected: Expectations
    now: datetime
    account_id: str = ""
    stack: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_arn: str | None = None

    def physical(self, resource: NamedResource | SecretExpectation) -> str | None:
        """The deployed resource's id: from the stack when known, else its name."""
        if resource.logical_id and resource.logical_id in self.stack:
            return str(self.stack[resource.logical_id]["PhysicalResourceId"])
        return resource.name


_EXPIRED = (
    "the credentials' session expired: aws sso login (or refresh AWS_SESSION_TOKEN / "
    "AWS_PROFILE's credentials), then rerun make doctor"
)
_NOT_ACCEPTED = (
    "AWS does not accept these credentials: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
    "(a copy-paste error?) or unset them to use AWS_PROFILE"
)
# What to do, by error code: AWS's (ClientError) or botocore's before any call.
_HINTS_BY_CODE = {
    "NoCredentials": (
        "configure AWS credentials (AWS_PROFILE, aws sso login); a moto server "
        "(AWS_ENDPOINT_URL) takes any: AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
    ),
    "ProfileNotFound": (
        "AWS_PROFILE names no profile of this machine: aws configure list-profiles, "
        "then export AWS_PROFILE=<one of them>"
    ),
    **dict.fromkeys(
        (
            "ExpiredToken",
            "ExpiredTokenException",
            "RequestExpired",
            "TokenRetrievalError",
            "UnauthorizedSSOTokenError",
            "SSOTokenLoadError",
        ),
        _EXPIRED,
    ),
    **dict.fromkeys(
        ("InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"),
        _NOT_ACCEPTED,
    ),
    "EndpointUnreachable": "check the network / AWS_ENDPOINT_URL; the endpoint did not answer",
    "SSLError": (
        "TLS to the endpoint failed: use http:// for a local moto server in "
        "AWS_ENDPOINT_URL; behind a TLS-inspecting proxy, set AWS_CA_BUNDLE to its CA"
    ),
    "ProxyConnectionError": (
        "the proxy in HTTPS_PROXY / HTTP_PROXY did not answer: check it; for a moto server "
        "on this machine bypass it: NO_PROXY=127.0.0.1"
    ),
    "UnparsableResponse": (
        "the endpoint did not answer as AWS (an HTML page?): check AWS_ENDPOINT_URL, "
        "--region and any HTTPS proxy"
    ),
    **dict.fromkeys(
        ("InvalidRegionError", "NoRegionError"),
        "not a usable AWS region: check --region (e.g. ap-northeast-1) or the region of "
        "samconfig.toml's [<env>.deploy.parameters]",
    ),
}


def _aws_hint(error: AwsError, what: str) -> str:
    if isinstance(error, AccessDenied):
        return f"these credentials may not call {error.operation}: use a role that can read {what}"
    return _HINTS_BY_CODE.get(error.code, f"AWS answered {error.code}; see {TROUBLESHOOTING}")


def _fail_from(check: str, target: str, error: AwsError, *, missing_hint: str) -> CheckResult:
    if isinstance(error, NotFound):
        return CheckResult(check, target, Status.FAIL, "not found", missing_hint)
    return CheckResult(check, target, Status.FAIL, f"{error.code}", _aws_hint(error, target))


# -- checks ---------------------------------------------------------------------------


def check_credentials(ctx: _Context) -> list[CheckResult]:
    try:
        identity = ctx.adapter.caller_identity()
    except AwsError as exc:
        return [
            CheckResult("credentials", "sts", Status.FAIL, exc.code, _aws_hint(exc, "its identity"))
        ]
    ctx.account_id = str(identity.get("Account", ""))
    return [
        CheckResult(
            "credentials", "sts", Status.PASS, f"account {ctx.account_id}, {ctx.adapter.region}"
        )
    ]


def check_stack(ctx: _Context) -> list[CheckResult]:
    name = ctx.expected.stack_name
    deploy = f"deploy it: make build && sam deploy --config-env {ctx.expected.environment}"
    try:
        stack = ctx.adapter.describe_stack(name)
        ctx.stack = ctx.adapter.stack_resources(name)
    except AwsError as exc:
        return [_fail_from("stack deployed", name, exc, missing_hint=deploy)]
    status = str(stack.get("StackStatus"))
    if status in OK_STACK_STATES:
        return [
            CheckResult(
                "stack deployed", name, Status.PASS, f"{status}, {len(ctx.stack)} resources"
            )
        ]
    if status.endswith("_IN_PROGRESS"):
        hint = "wait for the operation to finish, then rerun make doctor"
    elif status == "UPDATE_ROLLBACK_COMPLETE":
        hint = "the last update rolled back: read the stack events, fix, redeploy"
    else:
        hint = (
            f"read the events (aws cloudformation describe-stack-events --stack-name {name}), "
            "fix, redeploy"
        )
    return [CheckResult("stack deployed", name, Status.FAIL, status, hint)]


def check_key(ctx: _Context) -> list[CheckResult]:
    alias = ctx.expected.key_alias
    key_id = alias
    if ctx.expected.key_logical_id and ctx.expected.key_logical_id in ctx.stack:
        key_id = str(ctx.stack[ctx.expected.key_logical_id]["PhysicalResourceId"])
    try:
        key = ctx.adapter.describe_key(key_id)
        rotation = ctx.adapter.key_rotation_enabled(str(key["KeyId"]))
    except AwsError as exc:
        return [
            _fail_from(
                "kms key", alias, exc, missing_hint="the stack creates the key and alias: deploy it"
            )
        ]
    ctx.key_arn = str(key.get("Arn"))
    state = str(key.get("KeyState"))
    if state != "Enabled":
        hint = (
            "secrets cannot be decrypted: aws kms cancel-key-deletion / enable-key "
            f"--key-id {key['KeyId']} ({OPERATIONS}#kms-key-disabled)"
        )
        return [CheckResult("kms key", alias, Status.FAIL, f"state {state}", hint)]
    if key.get("KeyManager") != "CUSTOMER":
        return [
            CheckResult(
                "kms key",
                alias,
                Status.FAIL,
                "AWS managed key",
                "the alias must point at the stack's customer-managed key",
            )
        ]
    if not rotation:
        return [
            CheckResult(
                "kms key",
                alias,
                Status.FAIL,
                "enabled, key rotation OFF",
                f"aws kms enable-key-rotation --key-id {key['KeyId']} "
                "(the template sets EnableKeyRotation)",
            )
        ]
    return [
        CheckResult("kms key", alias, Status.PASS, "enabled, customer managed, key rotation on")
    ]


def _validate_format(kind: str, value: str, secret_id: str) -> None:
    from secret_service.models import (
        DatabaseCredentials,
        ExternalApis,
        JwtConfig,
        parse_secret_json,
    )

    if kind == "database":
        DatabaseCredentials.from_secret_string(value, secret_id=secret_id)
    elif kind == "jwt":
        JwtConfig.from_secret_string(value, secret_id=secret_id)
    elif kind == "external-apis":  # created empty: operators fill it in (docs/deploy.md)
        ExternalApis.from_secret_string(value, secret_id=secret_id)
    else:
        parse_secret_json(value, secret_id=secret_id)


def check_secret(ctx: _Context, secret: SecretExpectation) -> list[CheckResult]:  # noqa: PLR0911
    from secret_service.errors import SecretFormatError

    check = f"secret {secret.kind}"
    secret_id = ctx.physical(secret) or secret.name
    try:
        description = ctx.adapter.describe_secret(secret_id)
    except AwsError as exc:
        return [
            _fail_from(
                check,
                secret.name,
                exc,
                missing_hint="the stack creates it: deploy, or check --app/--env",
            )
        ]
    if description.get("DeletedDate"):
        return [
            CheckResult(
                check,
                secret.name,
                Status.FAIL,
                "scheduled for deletion",
                f"aws secretsmanager restore-secret --secret-id {secret.name}",
            )
        ]
    key_detail = _secret_key_problem(ctx, description)
    if key_detail:
        return [
            CheckResult(
                check,
                secret.name,
                Status.FAIL,
                key_detail,
                "encrypt it with the stack's key (KmsKeyId in template.yaml), then redeploy",
            )
        ]
    try:
        value = ctx.adapter.secret_string(secret_id)
    except AwsError as exc:
        if exc.code in {"DecryptionFailure", "KMSInvalidStateException", "KMSDisabledException"}:
            return [
                CheckResult(
                    check,
                    secret.name,
                    Status.FAIL,
                    f"does not decrypt ({exc.code})",
                    "the KMS key is disabled or its policy refuses Secrets Manager "
                    f"({OPERATIONS}#kms-key-disabled)",
                )
            ]
        return [
            _fail_from(
                check,
                secret.name,
                exc,
                missing_hint="no AWSCURRENT version: put a value or rerun the rotation",
            )
        ]
    if value is None:
        return [
            CheckResult(
                check,
                secret.name,
                Status.FAIL,
                "wrong format",
                "AWSCURRENT holds SecretBinary; the functions read SecretString: put the "
                f"value as a JSON SecretString ({TROUBLESHOOTING}#secretformaterror)",
            )
        ]
    try:
        _validate_format(secret.kind, value, secret.name)
    except SecretFormatError as exc:  # its message names the field, never the value
        return [
            CheckResult(
                check,
                secret.name,
                Status.FAIL,
                "wrong format",
                f"{exc} ({TROUBLESHOOTING}#secretformaterror)",
            )
        ]
    return [
        CheckResult(check, secret.name, Status.PASS, f"exists, decrypts, valid {secret.kind} JSON")
    ]


def _secret_key_problem(ctx: _Context, description: dict[str, Any]) -> str:
    key_ref = description.get("KmsKeyId")
    if not key_ref:
        return "encrypted with the AWS managed key aws/secretsmanager"
    if ctx.key_arn is None:
        return ""  # the key check already failed and says why
    try:
        key_arn = str(ctx.adapter.describe_key(str(key_ref)).get("Arn"))
    except AwsError:
        return ""  # decrypting will tell
    if key_arn != ctx.key_arn:
        return f"encrypted with another key ({key_arn.rsplit('/', 1)[-1]})"
    return ""


def check_rotation(ctx: _Context, secret: SecretExpectation) -> list[CheckResult]:
    check = f"rotation {secret.kind}"
    secret_id = ctx.physical(secret) or secret.name
    try:
        description = ctx.adapter.describe_secret(secret_id)
    except AwsError:
        return []  # the secret check already reports it
    enabled = bool(description.get("RotationEnabled"))
    if secret.rotation_days is None:
        if enabled:
            return [
                CheckResult(
                    check,
                    secret.name,
                    Status.WARN,
                    f"enabled, but {ctx.expected.environment} defines no schedule",
                )
            ]
        return [
            CheckResult(
                check,
                secret.name,
                Status.SKIP,
                f"not rotated in {ctx.expected.environment} (template)",
            )
        ]
    if not enabled:
        return [
            CheckResult(
                check,
                secret.name,
                Status.FAIL,
                "rotation disabled",
                "deploy the stack's RotationSchedule; rehearse first with make local "
                f"({OPERATIONS}#manual-rotation)",
            )
        ]
    rules = description.get("RotationRules") or {}
    days = rules.get("AutomaticallyAfterDays")
    problems: list[str] = []
    if days is not None and int(days) != secret.rotation_days:
        problems.append(f"period {days} days, expected {secret.rotation_days}")
    function = str(description.get("RotationLambdaARN") or "")
    if secret.rotation_function and not function.endswith(f":function:{secret.rotation_function}"):
        problems.append(
            f"rotation function {function.rsplit(':', 1)[-1] or 'none'}, "
            f"expected {secret.rotation_function}"
        )
    last = description.get("LastRotatedDate")
    if last is None:
        problems.append("never rotated")
        age_text = "never rotated"
    else:
        age_days = (ctx.now - _aware(last)).total_seconds() / 86400
        age_text = f"last {_aware(last):%Y-%m-%d} ({age_days:.0f} d ago)"
        if age_days > secret.rotation_days + ROTATION_GRACE_DAYS:
            problems.append(f"overdue: {age_text}")
    if problems:
        return [
            CheckResult(
                check,
                secret.name,
                Status.FAIL,
                "; ".join(problems),
                f"aws secretsmanager rotate-secret --secret-id {secret.name}, then read the "
                f"rotation function's logs ({OPERATIONS}#failed-rotation)",
            )
        ]
    period = (
        f"every {days} d" if days is not None else str(rules.get("ScheduleExpression", "scheduled"))
    )
    return [CheckResult(check, secret.name, Status.PASS, f"enabled, {period}, {age_text}")]


def _aware(moment: Any) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(moment), tz=UTC)


def _iam_presence(
    kind: str,
    resource: NamedResource,
    deployed_id: str | None,
    label: str | None,
    probe: Callable[[str], object],
) -> CheckResult:
    """One IAM role or policy of the template: name unknown, absent/unreadable, or present."""
    check = f"iam {kind}"
    if not deployed_id or not label:
        return CheckResult(
            check,
            resource.label,
            Status.FAIL,
            "name unknown",
            f"deploy the stack: its resource list names the {kind}",
        )
    try:
        probe(deployed_id)
    except AwsError as exc:
        return _fail_from(check, label, exc, missing_hint="the stack creates it: deploy")
    return CheckResult(check, label, Status.PASS, "present")


def check_iam(ctx: _Context) -> list[CheckResult]:
    rows: list[CheckResult] = []
    roles = {r.logical_id: r for r in ctx.expected.roles}
    policies = {p.logical_id: p for p in ctx.expected.policies}
    if not roles and not policies:
        return [CheckResult("iam", "-", Status.SKIP, "the template defines no role or policy")]
    role_names: dict[str | None, str] = {}
    for role in ctx.expected.roles:
        name = ctx.physical(role)
        row = _iam_presence("role", role, name, name, ctx.adapter.get_role)
        rows.append(row)
        if name and row.status is Status.PASS:
            role_names[role.logical_id] = name
    policy_arns: dict[str | None, str] = {}
    for policy in ctx.expected.policies:
        arn = ctx.physical(policy)
        if arn and not arn.startswith("arn:"):
            arn = f"arn:aws:iam::{ctx.account_id}:policy/{arn}"
        label = arn.rsplit("/", 1)[-1] if arn else None
        row = _iam_presence("policy", policy, arn, label, ctx.adapter.get_policy)
        rows.append(row)
        if arn and row.status is Status.PASS:
            policy_arns[policy.logical_id] = arn
    for role_id, policy_id in ctx.expected.attachments:
        if role_id not in role_names or policy_id not in policy_arns:
            continue
        try:
            attached = ctx.adapter.attached_policy_arns(role_names[role_id])
        except AwsError as exc:
            rows.append(
                _fail_from(
                    "iam attachment", role_names[role_id], exc, missing_hint="redeploy the stack"
                )
            )
            continue
        if policy_arns[policy_id] not in attached:
            rows.append(
                CheckResult(
                    "iam attachment",
                    role_names[role_id],
                    Status.FAIL,
                    f"{policy_arns[policy_id].rsplit('/', 1)[-1]} not attached",
                    "redeploy the stack (someone detached it by hand?)",
                )
            )
        else:
            rows.append(
                CheckResult("iam attachment", role_names[role_id], Status.PASS, "policy attached")
            )
    return rows


def _topic_arns(ctx: _Context) -> list[str]:
    arns = []
    for topic in ctx.expected.topics:
        physical = ctx.physical(topic)
        if physical and not physical.startswith("arn:"):
            physical = f"arn:aws:sns:{ctx.adapter.region}:{ctx.account_id}:{physical}"
        if physical:
            arns.append(physical)
    return arns


def check_alarms(ctx: _Context) -> list[CheckResult]:
    names = sorted({n for n in (ctx.physical(a) for a in ctx.expected.alarms) if n})
    try:
        if names:
            found = {a["AlarmName"]: a for a in ctx.adapter.describe_alarms(names=names)}
        else:
            found = {
                a["AlarmName"]: a
                for a in ctx.adapter.describe_alarms(prefix=f"{ctx.expected.prefix}-")
            }
    except AwsError as exc:
        return [_fail_from("alarms", ctx.expected.prefix, exc, missing_hint="deploy the stack")]
    if not found and not names:
        return [
            CheckResult(
                "alarms",
                f"{ctx.expected.prefix}-*",
                Status.FAIL,
                "no alarms",
                "the stack creates the alarms: deploy it",
            )
        ]
    topics = set(_topic_arns(ctx))
    rows = []
    for name in names or sorted(found):
        alarm = found.get(name)
        if alarm is None:
            rows.append(
                CheckResult("alarm", name, Status.FAIL, "missing", "the stack creates it: redeploy")
            )
            continue
        actions = set(alarm.get("AlarmActions") or [])
        state = str(alarm.get("StateValue"))
        if not alarm.get("ActionsEnabled", True) or not actions:
            rows.append(
                CheckResult(
                    "alarm",
                    name,
                    Status.FAIL,
                    f"{state}, notifies no one",
                    "enable its actions: aws cloudwatch enable-alarm-actions",
                )
            )
        elif topics and not actions & topics:
            rows.append(
                CheckResult(
                    "alarm",
                    name,
                    Status.FAIL,
                    f"{state}, notifies another topic",
                    "redeploy the stack: its alarms notify the stack's topic",
                )
            )
        elif state == "ALARM":
            rows.append(CheckResult("alarm", name, Status.FAIL, "in ALARM", alarm_hint(name)))
        elif state == "INSUFFICIENT_DATA":
            rows.append(
                CheckResult(
                    "alarm",
                    name,
                    Status.WARN,
                    "INSUFFICIENT_DATA (normal until the canary has run)",
                )
            )
        else:
            rows.append(CheckResult("alarm", name, Status.PASS, state))
    return rows


def check_topics(ctx: _Context) -> list[CheckResult]:
    arns = _topic_arns(ctx)
    if not ctx.expected.topics:
        return [CheckResult("sns", "-", Status.SKIP, "the template defines no topic")]
    if not arns:
        return [
            CheckResult(
                "sns",
                "?",
                Status.FAIL,
                "name unknown",
                "deploy the stack: its resource list names the topic",
            )
        ]
    rows = []
    for arn in arns:
        label = arn.rsplit(":", 1)[-1]
        try:
            ctx.adapter.topic_attributes(arn)
            subscriptions = ctx.adapter.subscriptions(arn)
        except AwsError as exc:
            rows.append(
                _fail_from(
                    "sns subscriptions",
                    label,
                    exc,
                    missing_hint="the stack creates the topic: deploy it",
                )
            )
            continue
        pending = [s for s in subscriptions if s.get("SubscriptionArn") == "PendingConfirmation"]
        confirmed = [s for s in subscriptions if s.get("SubscriptionArn", "").startswith("arn:")]
        if pending:
            rows.append(
                CheckResult(
                    "sns subscriptions",
                    label,
                    Status.FAIL,
                    f"{len(pending)} pending confirmation, {len(confirmed)} confirmed",
                    "open the 'AWS Notification - Subscription Confirmation' mail and "
                    "click Confirm subscription",
                )
            )
        elif not confirmed:
            rows.append(
                CheckResult(
                    "sns subscriptions",
                    label,
                    Status.FAIL,
                    "no subscribers: alarms reach no one",
                    "redeploy with AlarmEmail=<address> (samconfig.toml "
                    f"[{ctx.expected.environment}]) or subscribe the on-call tool",
                )
            )
        else:
            protocols = ", ".join(sorted({str(s.get("Protocol")) for s in confirmed}))
            rows.append(
                CheckResult(
                    "sns subscriptions",
                    label,
                    Status.PASS,
                    f"{len(confirmed)} confirmed ({protocols})",
                )
            )
    return rows


def check_trail(ctx: _Context) -> list[CheckResult]:
    if not ctx.expected.trails:
        detail = (
            f"no trail in {ctx.expected.environment} (template)"
            if ctx.expected.template_has_trail
            else "the template defines no trail"
        )
        return [CheckResult("cloudtrail", "-", Status.SKIP, detail)]
    rows = []
    for trail in ctx.expected.trails:
        name = ctx.physical(trail)
        if not name:
            rows.append(
                CheckResult(
                    "cloudtrail",
                    trail.label,
                    Status.FAIL,
                    "name unknown",
                    "deploy the stack: its resource list names the trail",
                )
            )
            continue
        try:
            status = ctx.adapter.trail_status(name)
        except AwsError as exc:
            rows.append(
                _fail_from(
                    "cloudtrail", name, exc, missing_hint="the stack creates it in stg/prod: deploy"
                )
            )
            continue
        if not status.get("IsLogging"):
            rows.append(
                CheckResult(
                    "cloudtrail",
                    name,
                    Status.FAIL,
                    "not logging",
                    f"aws cloudtrail start-logging --name {name}; "
                    f"find who stopped it ({OPERATIONS}#audit)",
                )
            )
        elif status.get("LatestDeliveryError"):
            rows.append(
                CheckResult(
                    "cloudtrail",
                    name,
                    Status.FAIL,
                    f"delivery error {status['LatestDeliveryError']}",
                    "check the trail bucket's policy and KMS key",
                )
            )
        else:
            rows.append(CheckResult("cloudtrail", name, Status.PASS, "logging"))
    return rows


def run_checks(
    adapter: AwsAdapter,
    expected: Expectations,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[CheckResult]:
    """Every check, in checklist order. Stops early only when AWS cannot be reached."""
    ctx = _Context(adapter=adapter, expected=expected, now=now())
    rows = check_credentials(ctx)
    if rows[0].failed:
        return rows
    rows += check_stack(ctx)
    rows += check_key(ctx)
    for secret in expected.secrets:
        rows += check_secret(ctx, secret)
    for secret in expected.secrets:
        rows += check_rotation(ctx, secret)
    rows += check_iam(ctx)
    rows += check_alarms(ctx)
    rows += check_topics(ctx)
    rows += check_trail(ctx)
    return rows
