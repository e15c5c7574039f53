"""Template tier: template.yaml as SAM translates it, for each environment.

``translate(env)`` is the CloudFormation ``sam deploy --config-env <env>`` would create
(samconfig.toml's parameter overrides applied). ``Deployed`` goes one step further: the
template's conditions evaluated and its intrinsics resolved to the values the stack
would have (account 123456789012), so a test reads plain names, ARNs and numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scripts.lint_iam_policies import Resolver, iam_policies
from scripts.translate_template import (
    ENVIRONMENTS,
    TemplateTranslationError,
    load_template,
    samconfig_overrides,
    translate_template,
)

__all__ = [
    "ENVIRONMENTS",
    "ROOT",
    "TEMPLATE_PATH",
    "Deployed",
    "deploy",
    "load_template",
    "translate",
]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT = "123456789012"
REGION = "ap-northeast-1"


def translate(environment: str, **parameters: str) -> dict[str, Any]:
    """The CloudFormation template SAM deploys for ``environment``."""
    try:
        return translate_template(environment, parameters=parameters)
    except TemplateTranslationError as exc:
        pytest.fail(str(exc))


@dataclass(frozen=True)
class Deployed:
    """One environment's stack as CloudFormation would create it."""

    environment: str
    template: dict[str, Any]
    resolver: Resolver
    resources: dict[str, dict[str, Any]]  # logical id -> {"Type", "Properties"} resolved

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v["Properties"] for k, v in self.resources.items() if v["Type"] == type_name}

    def props(self, logical_id: str) -> dict[str, Any]:
        assert logical_id in self.resources, f"{logical_id} is not created in {self.environment}"
        properties: dict[str, Any] = self.resources[logical_id]["Properties"]
        return properties

    def has(self, logical_id: str) -> bool:
        return logical_id in self.resources

    def condition(self, name: str) -> bool:
        return self.resolver.condition(name)

    def policies(self) -> list[tuple[str, dict[str, Any]]]:
        """(location, document) of every identity policy this environment creates."""
        return iam_policies(self.template)

    def parameter(self, name: str) -> Any:
        return self.resolver.parameters[name]

    def secret_arn(self, logical_id: str) -> str:
        return str(self.resolver.resolve({"Ref": logical_id}))

    def arn(self, logical_id: str) -> str:
        return str(self.resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))

    def dashboard_body(self, logical_id: str = "SecretsDashboard") -> Any:
        return json.loads(self.props(logical_id)["DashboardBody"])


def deploy(environment: str, **parameters: str) -> Deployed:
    """Translate, then evaluate conditions and resolve intrinsics for ``environment``."""
    template = translate(environment, **parameters)
    resolver = Resolver(template, region=REGION)
    resources: dict[str, dict[str, Any]] = {}
    for logical, resource in template["Resources"].items():
        condition = resource.get("Condition")
        if condition is not None and not resolver.condition(condition):
            continue
        resources[logical] = {
            "Type": resource["Type"],
            "Properties": resolver.resolve(resource.get("Properties", {})),
            "Raw": resource,
        }
    return Deployed(environment, template, resolver, resources)


@pytest.fixture(scope="session")
def raw_template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def translated_by_env() -> dict[str, dict[str, Any]]:
    return {env: translate(env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def deployed_by_env() -> dict[str, Deployed]:
    return {env: deploy(env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def deployed(deployed_by_env: dict[str, Deployed], environment: str) -> Deployed:
    return deployed_by_env[environment]


@pytest.fixture(scope="session")
def samconfig() -> dict[str, dict[str, str]]:
    return {env: samconfig_overrides(env) for env in ENVIRONMENTS}
