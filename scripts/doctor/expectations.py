"""What an environment should look like, read from template.yaml and samconfig.toml.

The doctor compares AWS with these expectations. Names come from the template (the one
source of truth); where the template leaves a name to CloudFormation, the deployed
stack's resource list supplies it at check time. Where the template does not define a
secret at all, the documented convention ``{app}-{env}-secret-<kind>`` stands in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scripts.sam_template import DeployedTemplate

__all__ = ["SECRET_KINDS", "Expectations", "NamedResource", "SecretExpectation", "from_template"]

SECRET_KINDS = ("database", "jwt", "external-apis")
DEFAULT_ROTATION_DAYS = 30
_RATE_DAYS = re.compile(r"^rate\((\d+) days?\)$")


@dataclass(frozen=True)
class NamedResource:
    """A template resource: its logical id and, when the template sets one, its name."""

    logical_id: str | None
    name: str | None

    @property
    def label(self) -> str:
        return self.name or self.logical_id or "?"


@dataclass(frozen=True)
class SecretExpectation:
    logical_id: str | None
    name: str
    kind: str
    rotation_days: int | None
    """Expected rotation period; ``None`` when this environment does not rotate it."""
    rotation_function: str | None = None


@dataclass(frozen=True)
class Expectations:
    environment: str
    app_name: str
    region: str
    stack_name: str
    key_alias: str
    key_logical_id: str | None
    secrets: tuple[SecretExpectation, ...]
    roles: tuple[NamedResource, ...]
    policies: tuple[NamedResource, ...]
    attachments: tuple[tuple[str, str], ...]
    """(role logical id, managed policy logical id) pairs the template attaches."""
    alarms: tuple[NamedResource, ...]
    topics: tuple[NamedResource, ...]
    trails: tuple[NamedResource, ...]
    template_has_trail: bool

    @property
    def prefix(self) -> str:
        return f"{self.app_name}-{self.environment}"


def _kind(name: str) -> str:
    for kind in SECRET_KINDS:
        if name.endswith(f"-{kind}"):
            return kind
    return "other"


def _ref_target(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at, if ``value`` is one."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    return None


def _rotation_days(template: DeployedTemplate, properties: dict[str, Any]) -> int | None:
    rules = template.resolve(properties.get("RotationRules") or {}) or {}
    days = rules.get("AutomaticallyAfterDays")
    if days is not None:
        return int(days)
    match = _RATE_DAYS.match(str(rules.get("ScheduleExpression") or "").strip())
    return int(match.group(1)) if match else DEFAULT_ROTATION_DAYS


def from_template(template: DeployedTemplate, *, stack_name: str | None = None) -> Expectations:
    """The expectations of ``template``'s environment."""
    prefix = f"{template.app_name}-{template.environment}"
    raw = template.template.get("Resources") or {}

    functions = {r.logical_id: r.name for r in template.resources("AWS::Serverless::Function")}
    functions.update({r.logical_id: r.name for r in template.resources("AWS::Lambda::Function")})
    schedules: dict[str, tuple[int | None, str | None]] = {}
    for schedule in template.resources("AWS::SecretsManager::RotationSchedule"):
        raw_props = raw[schedule.logical_id].get("Properties") or {}
        secret = _ref_target(raw_props.get("SecretId"))
        function = _ref_target(raw_props.get("RotationLambdaARN"))
        if secret:
            schedules[secret] = (
                _rotation_days(template, raw_props),
                functions.get(function) if function else None,
            )

    secrets = tuple(
        SecretExpectation(
            logical_id=r.logical_id,
            name=r.name or f"{prefix}-secret-?",
            kind=_kind(r.name or ""),
            rotation_days=schedules.get(r.logical_id, (None, None))[0],
            rotation_function=schedules.get(r.logical_id, (None, None))[1],
        )
        for r in template.resources("AWS::SecretsManager::Secret")
    ) or tuple(
        SecretExpectation(
            logical_id=None,
            name=f"{prefix}-secret-{kind}",
            kind=kind,
            rotation_days=(
                DEFAULT_ROTATION_DAYS
                if kind == "database" and template.environment != "dev"
                else None
            ),
        )
        for kind in SECRET_KINDS
    )

    aliases = template.resources("AWS::KMS::Alias")
    alias = next((a for a in aliases if a.name and a.name.endswith("-secrets-key")), None)
    key_logical = (
        _ref_target((raw.get(alias.logical_id, {}).get("Properties") or {}).get("TargetKeyId"))
        if alias
        else None
    )

    def named(resource_type: str) -> tuple[NamedResource, ...]:
        return tuple(NamedResource(r.logical_id, r.name) for r in template.resources(resource_type))

    attachments = []
    for role in template.resources("AWS::IAM::Role"):
        for arn in (raw[role.logical_id].get("Properties") or {}).get("ManagedPolicyArns") or []:
            target = _ref_target(arn)
            if target and raw.get(target, {}).get("Type") == "AWS::IAM::ManagedPolicy":
                attachments.append((role.logical_id, target))
    for policy in template.resources("AWS::IAM::ManagedPolicy"):
        for role_ref in (raw[policy.logical_id].get("Properties") or {}).get("Roles") or []:
            target = _ref_target(role_ref)
            if target and raw.get(target, {}).get("Type") == "AWS::IAM::Role":
                attachments.append((target, policy.logical_id))

    return Expectations(
        environment=template.environment,
        app_name=template.app_name,
        region=template.region,
        stack_name=stack_name or f"{prefix}-secrets",
        key_alias=alias.name if alias and alias.name else f"alias/{prefix}-secrets-key",
        key_logical_id=key_logical,
        secrets=secrets,
        roles=named("AWS::IAM::Role"),
        policies=named("AWS::IAM::ManagedPolicy"),
        attachments=tuple(dict.fromkeys(attachments)),
        alarms=named("AWS::CloudWatch::Alarm"),
        topics=named("AWS::SNS::Topic"),
        trails=named("AWS::CloudTrail::Trail"),
        template_has_trail=any(r.get("Type") == "AWS::CloudTrail::Trail" for r in raw.values()),
    )
