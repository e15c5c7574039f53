"""Read ``template.yaml`` and ``samconfig.toml`` as one environment would deploy them.

The template is the one source of truth for names and generated values: ``make doctor``
asks it which resources an environment must have (and their names), ``make local``
asks it how each secret is named and generated. This module resolves the small subset
of CloudFormation intrinsics those questions need - ``Ref`` to parameters and pseudo
parameters, ``Fn::Sub``, ``Fn::FindInMap``, ``Fn::If``, ``Fn::Join``, ``Fn::Select``
and the condition functions - and answers ``None`` for anything only a deployed stack
knows (``Fn::GetAtt``, a ``Ref`` to a resource, an import).

Pure functions over the parsed YAML; no AWS call, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts import translate_template as translate

__all__ = [
    "NAME_PROPERTIES",
    "REPO_ROOT",
    "TEMPLATE_PATH",
    "DeployedTemplate",
    "ExpectedResource",
    "TemplateError",
    "load_template",
    "samconfig_parameters",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
SAMCONFIG_PATH = REPO_ROOT / "samconfig.toml"

# The property that carries a resource's physical name, per resource type.
NAME_PROPERTIES: dict[str, str] = {
    "AWS::SecretsManager::Secret": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudTrail::Trail": "TrailName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Events::Rule": "Name",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::S3::Bucket": "BucketName",
}

_PSEUDO_DEFAULTS = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}


class TemplateError(ValueError):
    """template.yaml or samconfig.toml cannot be read, or lacks what is asked for."""


class _Unknown(Exception):
    """A value only the deployed stack knows (GetAtt, a resource Ref, an import)."""


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a SAM template, short-form tags (``!Sub``, ``!Ref``...) included."""
    try:
        return translate.load_template(path)
    except translate.TemplateTranslationError as exc:
        raise TemplateError(str(exc)) from exc


def samconfig_parameters(environment: str, path: Path = SAMCONFIG_PATH) -> dict[str, str]:
    """``stack_name``, ``region`` and the parameter overrides of ``[<env>.deploy.parameters]``.

    Returns ``{}`` when the file or the environment's section does not exist.
    """
    if not path.exists():
        return {}
    try:
        config = translate.read_samconfig(path)
        section = translate.deploy_parameters(config, environment, where=path.name) or {}
        overrides = translate.parse_parameter_overrides(
            section.get("parameter_overrides", ""), where=f"{path.name} [{environment}]"
        )
    except translate.TemplateTranslationError as exc:
        raise TemplateError(str(exc)) from exc
    result: dict[str, str] = {}
    for key in ("stack_name", "region"):
        if isinstance(section.get(key), str):
            result[key] = section[key]
    result.update({f"parameter:{name}": value for name, value in overrides.items()})
    return result


@dataclass(frozen=True)
class ExpectedResource:
    """One resource the template creates for an environment."""

    logical_id: str
    type: str
    name: str | None
    """The physical name from the template, or ``None`` when CloudFormation picks it."""
    properties: dict[str, Any] = field(repr=False, compare=False)
    """Properties with every intrinsic the template alone can answer resolved."""


@dataclass
class DeployedTemplate:
    """The template as ``environment`` deploys it: parameters, conditions, resources."""

    template: dict[str, Any]
    parameters: dict[str, str]
    region: str = "ap-northeast-1"
    account_id: str = "123456789012"
    conditions: dict[str, bool] = field(init=False)

    def __post_init__(self) -> None:
        self.conditions = {}
        for name in self.template.get("Conditions", {}) or {}:
            self.conditions[name] = self._condition(name, ())

    @classmethod
    def for_environment(
        cls,
        environment: str,
        *,
        app_name: str | None = None,
        region: str | None = None,
        account_id: str = "123456789012",
        template_path: Path = TEMPLATE_PATH,
        samconfig_path: Path | None = SAMCONFIG_PATH,
        overrides: dict[str, str] | None = None,
    ) -> DeployedTemplate:
        """Parameters: template defaults, then samconfig's overrides, then the arguments."""
        template = load_template(template_path)
        config = samconfig_parameters(environment, samconfig_path) if samconfig_path else {}
        parameters: dict[str, str] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            if isinstance(spec, dict) and "Default" in spec:
                parameters[name] = str(spec["Default"])
        parameters.update(
            {k.removeprefix("parameter:"): v for k, v in config.items() if k.startswith("param")}
        )
        parameters["Environment"] = environment
        given = dict(overrides or {})
        if app_name:
            given.setdefault("AppName", app_name)
        _check_allowed(template, given)
        parameters.update(given)
        return cls(
            template=template,
            parameters=parameters,
            region=region or config.get("region", "ap-northeast-1"),
            account_id=account_id,
        )

    # -- questions -------------------------------------------------------------------

    @property
    def app_name(self) -> str:
        return self.parameters.get("AppName", "goal-mandala")

    @property
    def environment(self) -> str:
        return self.parameters["Environment"]

    def resources(self, resource_type: str | None = None) -> list[ExpectedResource]:
        """Resources whose condition holds in this environment (optionally of one type)."""
        found = []
        for logical_id, resource in (self.template.get("Resources") or {}).items():
            if resource_type is not None and resource.get("Type") != resource_type:
                continue
            condition = resource.get("Condition")
            if condition is not None and not self.conditions.get(condition, False):
                continue
            properties = self.resolve(resource.get("Properties") or {}, keep_unknown=True)
            name_property = NAME_PROPERTIES.get(resource.get("Type", ""))
            name = properties.get(name_property) if name_property else None
            found.append(
                ExpectedResource(
                    logical_id=logical_id,
                    type=str(resource.get("Type")),
                    name=name if isinstance(name, str) else None,
                    properties=properties,
                )
            )
        return found

    def resolve(self, value: Any, *, keep_unknown: bool = False) -> Any:
        """``value`` with intrinsics resolved; unknowable parts become ``None``.

        With ``keep_unknown`` a dict or list keeps its other entries when one entry is
        unknowable; otherwise the whole value is ``None``.
        """
        try:
            return self._resolve(value, keep_unknown=keep_unknown)
        except _Unknown:
            return None

    # -- internals -------------------------------------------------------------------

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::Region":
            return self.region
        if name == "AWS::AccountId":
            return self.account_id
        if name == "AWS::StackName":
            return f"{self.app_name}-{self.environment}-secrets"
        if name in _PSEUDO_DEFAULTS:
            return _PSEUDO_DEFAULTS[name]
        raise _Unknown(name)

    def _resolve(self, value: Any, *, keep_unknown: bool) -> Any:
        if isinstance(value, list):
            items = []
            for item in value:
                try:
                    items.append(self._resolve(item, keep_unknown=keep_unknown))
                except _Unknown:
                    if not keep_unknown:
                        raise
                    items.append(None)
            return items
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, arg, keep_unknown=keep_unknown)
        result = {}
        for key, item in value.items():
            try:
                result[key] = self._resolve(item, keep_unknown=keep_unknown)
            except _Unknown:
                if not keep_unknown:
                    raise
                result[key] = None
        return result

    def _intrinsic(self, key: str, arg: Any, *, keep_unknown: bool) -> Any:  # noqa: PLR0911
        strict = False  # an intrinsic's arguments must all be known
        if key == "Ref":
            return self._ref(str(arg))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::FindInMap":
            map_name, top, second = (self._resolve(a, keep_unknown=strict) for a in arg)
            try:
                return self.template["Mappings"][map_name][top][second]
            except (KeyError, TypeError) as exc:
                raise TemplateError(f"Fn::FindInMap {map_name}/{top}/{second} not found") from exc
        if key == "Fn::If":
            condition, if_true, if_false = arg
            chosen = if_true if self.conditions.get(condition, False) else if_false
            return self._resolve(chosen, keep_unknown=keep_unknown)
        if key == "Fn::Join":
            separator, parts = arg
            resolved = self._resolve(parts, keep_unknown=strict)
            return str(separator).join(str(p) for p in resolved)
        if key == "Fn::Select":
            index, items = arg
            return self._resolve(items, keep_unknown=strict)[
                int(self._resolve(index, keep_unknown=strict))
            ]
        if key in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"}:
            return self._condition_value({key: arg}, ())
        raise _Unknown(key)  # GetAtt, ImportValue, GetAZs, Cidr...

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = (
                arg[0],
                {k: self._resolve(v, keep_unknown=False) for k, v in arg[1].items()},
            )
        else:
            text, variables = arg, {}
        out: list[str] = []
        rest = str(text)
        while "${" in rest:
            before, _, after = rest.partition("${")
            out.append(before)
            name, _, rest = after.partition("}")
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name:
                raise _Unknown(name)  # ${Resource.Attribute}
            else:
                out.append(str(self._ref(name)))
        out.append(rest)
        return "".join(out)

    def _condition(self, name: str, seen: tuple[str, ...]) -> bool:
        if name in seen:
            raise TemplateError(f"condition {name} refers to itself")
        try:
            definition = self.template["Conditions"][name]
        except KeyError as exc:
            raise TemplateError(f"condition {name} is not defined") from exc
        return self._condition_value(definition, (*seen, name))

    def _condition_value(self, value: Any, seen: tuple[str, ...]) -> bool:  # noqa: PLR0911
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Condition":
                return self._condition(str(arg), seen)
            if key == "Fn::Equals":
                left, right = (self._resolve(a, keep_unknown=False) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._condition_value(arg[0], seen)
            if key == "Fn::And":
                return all(self._condition_value(a, seen) for a in arg)
            if key == "Fn::Or":
                return any(self._condition_value(a, seen) for a in arg)
        resolved = self._resolve(value, keep_unknown=False)
        if isinstance(resolved, bool):
            return resolved
        return str(resolved).lower() == "true"


def _check_allowed(template: dict[str, Any], given: dict[str, str]) -> None:
    """Refuse a parameter value the template's AllowedPattern/AllowedValues would refuse.

    The check CloudFormation makes at deploy time, made before anything runs, so
    ``make doctor --app 'My App'`` says what is wrong instead of finding no resources.
    """
    specs = template.get("Parameters") or {}
    for name, value in given.items():
        spec = specs.get(name)
        if not isinstance(spec, dict):
            continue
        pattern = spec.get("AllowedPattern")
        if isinstance(pattern, str) and not re.fullmatch(pattern, value):
            raise TemplateError(
                f"{name} {value!r} does not match the template's AllowedPattern {pattern}"
            )
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and value not in [str(v) for v in allowed]:
            raise TemplateError(
                f"{name} {value!r} is not one of the template's AllowedValues "
                f"({', '.join(str(v) for v in allowed)})"
            )
