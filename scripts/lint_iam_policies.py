"""Lint every IAM policy of the SAM-translated templates with parliament.

    .tools/parliament/bin/python scripts/lint_iam_policies.py .aws-sam/translated/*.json

Runs in parliament's own tool venv (standard library + parliament only). Each
template is one environment as ``scripts/translate_template.py`` wrote it, parameter
values in the parameters' defaults: intrinsics are resolved to the ARNs the stack would
create (account 123456789012, the template's conditions evaluated), so parliament sees
realistic resources and can check that every action fits its resource type.

Exit status 1 when parliament reports any finding, with one line per finding.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["Resolver", "iam_policies", "main"]

ACCOUNT = "123456789012"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "secrets-stack",
    "AWS::StackId": f"arn:aws:cloudformation:ap-northeast-1:{ACCOUNT}:stack/secrets-stack/1",
}
_DROP = object()  # AWS::NoValue


def _parameter_value(spec: dict[str, Any]) -> Any:
    """A parameter's value (its default) as CloudFormation hands it to a property."""
    value = spec.get("Default", "")
    kind = spec.get("Type", "String")
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        return value if isinstance(value, list) else str(value).split(",")
    if kind == "Number":
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


class Resolver:
    """Resolves the intrinsics of one translated template to plain values."""

    def __init__(self, template: dict[str, Any], region: str = "ap-northeast-1") -> None:
        self.template = template
        self.region = region
        self.parameters = {
            name: _parameter_value(spec) for name, spec in template.get("Parameters", {}).items()
        }
        self._conditions: dict[str, bool] = {}

    # -- values -----------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not _DROP]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            handler = getattr(self, "_fn_" + key.replace("::", "_").replace("Fn_", ""), None)
            if key in ("Ref", "Condition") or key.startswith("Fn::"):
                if handler is None:
                    raise ValueError(f"unsupported intrinsic {key}")
                return handler(arg)
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not _DROP}

    def _fn_Ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _DROP
        if name == "AWS::Region":
            return self.region
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._ref_resource(name)

    def _fn_GetAtt(self, arg: Any) -> str:
        logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        if attribute != "Arn":
            return f"{logical}.{attribute}"
        return self._arn(logical)

    def _fn_Sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name:
                return str(self._fn_GetAtt(name))
            return str(self._fn_Ref(name))

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)

    def _fn_If(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _fn_Join(self, arg: list[Any]) -> str:
        return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))

    def _fn_Split(self, arg: list[Any]) -> list[str]:
        return str(self.resolve(arg[1])).split(arg[0])

    def _fn_Select(self, arg: list[Any]) -> Any:
        return self.resolve(arg[1])[int(self.resolve(arg[0]))]

    def _fn_FindInMap(self, arg: list[Any]) -> Any:
        top, second, third = (self.resolve(a) for a in arg)
        return self.template["Mappings"][top][second][third]

    def _fn_ImportValue(self, arg: Any) -> str:
        return f"imported-{self.resolve(arg)}"

    def _fn_GetAZs(self, arg: Any) -> list[str]:
        return [f"{self.region}a", f"{self.region}c"]

    # -- conditions -------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._truth(self.template["Conditions"][name])
        return self._conditions[name]

    def truth(self, node: Any) -> bool:
        """Evaluate a condition expression (a Conditions entry, a Rules condition or assert)."""
        return self._truth(node)

    def _truth(self, node: Any) -> bool:
        ((key, arg),) = node.items()
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(a) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a) for a in arg)
        if key in ("Fn::Contains", "Fn::EachMemberEquals"):
            return self._list_truth(key, arg)
        raise ValueError(f"unsupported condition function {key}")

    def _list_truth(self, key: str, arg: list[Any]) -> bool:
        """The Rules-only functions that test a list parameter against one string."""
        values, wanted = (self.resolve(a) for a in arg)
        members = [str(v) for v in values]
        if key == "Fn::Contains":
            return str(wanted) in members
        return all(member == str(wanted) for member in members)

    # -- resources ----------------------------------------------------------------------
    def _props(self, logical: str) -> dict[str, Any]:
        return dict(self.template["Resources"][logical].get("Properties", {}))

    def _name(self, logical: str, prop: str) -> str:
        value = self._props(logical).get(prop)
        return str(self.resolve(value)) if value is not None else logical.lower()

    def _ref_resource(self, logical: str) -> str:
        kind = self.template["Resources"][logical]["Type"]
        if kind in ("AWS::SecretsManager::Secret", "AWS::IAM::ManagedPolicy", "AWS::SNS::Topic"):
            return self._arn(logical)
        names = {
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::IAM::Role": "RoleName",
            "AWS::S3::Bucket": "BucketName",
        }
        if kind in names:
            return self._name(logical, names[kind])
        return logical

    def _arn(self, logical: str) -> str:
        kind = self.template["Resources"][logical]["Type"]
        r, a = self.region, ACCOUNT
        arns = {
            "AWS::SecretsManager::Secret": lambda: (
                f"arn:aws:secretsmanager:{r}:{a}:secret:{self._name(logical, 'Name')}-AbCdEf"
            ),
            "AWS::KMS::Key": lambda: (
                f"arn:aws:kms:{r}:{a}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
            ),
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{a}:role/{self._name(logical, 'RoleName')}",
            "AWS::IAM::ManagedPolicy": lambda: (
                f"arn:aws:iam::{a}:policy/{self._name(logical, 'ManagedPolicyName')}"
            ),
            "AWS::SNS::Topic": lambda: f"arn:aws:sns:{r}:{a}:{self._name(logical, 'TopicName')}",
            "AWS::Logs::LogGroup": lambda: (
                f"arn:aws:logs:{r}:{a}:log-group:{self._name(logical, 'LogGroupName')}:*"
            ),
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{logical.lower()}-bucket",
            "AWS::Events::Rule": lambda: (
                f"arn:aws:events:{r}:{a}:rule/{self._name(logical, 'Name')}"
            ),
            "AWS::Lambda::Function": lambda: (
                f"arn:aws:lambda:{r}:{a}:function:{self._name(logical, 'FunctionName')}"
            ),
            "AWS::Lambda::LayerVersion": lambda: f"arn:aws:lambda:{r}:{a}:layer:{logical}:1",
        }
        if kind not in arns:
            raise ValueError(f"no ARN pattern for {kind} ({logical})")
        return arns[kind]()


def iam_policies(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(location, resolved policy document) for every identity policy in the template."""
    resolver = Resolver(template)
    found: list[tuple[str, dict[str, Any]]] = []
    for logical, resource in template["Resources"].items():
        condition = resource.get("Condition")
        if condition is not None and not resolver.condition(condition):
            continue
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                name = resolver.resolve(policy["PolicyName"])
                found.append((f"{logical}/{name}", resolver.resolve(policy["PolicyDocument"])))
        elif resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            found.append((logical, resolver.resolve(props["PolicyDocument"])))
    return found


def _read_templates(paths: list[Path]) -> dict[Path, dict[str, Any]] | None:
    """Each translated template parsed, or ``None`` after saying which one is unusable."""
    templates: dict[Path, dict[str, Any]] = {}
    for path in paths:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not JSON"
            print(
                f"lint_iam_policies.py: cannot read {path} ({reason}): translate the template "
                "first with scripts/translate_template.py (make lint does)",
                file=sys.stderr,
            )
            return None
        if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
            print(f"lint_iam_policies.py: {path} has no Resources: not a template", file=sys.stderr)
            return None
        templates[path] = document
    return templates


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print("usage: lint_iam_policies.py TRANSLATED.json ...", file=sys.stderr)
        return 2
    templates = _read_templates(paths)
    if templates is None:
        return 2

    from parliament import analyze_policy_string  # type: ignore[import-not-found]

    findings = 0
    for path, template in templates.items():
        policies = iam_policies(template)
        for location, document in policies:
            policy = analyze_policy_string(json.dumps(document), filepath=f"{path}:{location}")
            for finding in policy.findings:
                findings += 1
                print(
                    f"{path.name} {location}: {finding.issue} {finding.detail} {finding.location}"
                )
        print(f"{path.name}: {len(policies)} IAM policies linted")
    if findings:
        print(f"parliament: {findings} finding(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
