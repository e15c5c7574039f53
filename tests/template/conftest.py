"""Template tier: template.yaml as SAM translates it, for each environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ENVIRONMENTS = ("dev", "stg", "prod")


class _NoManagedPolicies:
    """samtranslator asks IAM for AWS managed policy ARNs; offline, there are none."""

    def load(self) -> dict[str, str]:
        return {}


def load_template() -> dict[str, Any]:
    document: dict[str, Any] = yaml_parse(TEMPLATE_PATH.read_text())
    return document


def translate(environment: str, **parameters: str) -> dict[str, Any]:
    """The CloudFormation template SAM deploys for ``environment``."""
    document = load_template()
    values = {"Environment": environment, **parameters}
    for name, value in values.items():
        document["Parameters"][name]["Default"] = value
    for resource in document["Resources"].values():  # as `sam package` does
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://artifacts/{props[key].strip('/')}.zip"
    try:
        translated: dict[str, Any] = transform(document, {}, _NoManagedPolicies(), Parser())
    except InvalidDocumentException as exc:
        pytest.fail(f"SAM cannot translate template.yaml: {exc}")
    return translated


@pytest.fixture(scope="session")
def raw_template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def translated_by_env() -> dict[str, dict[str, Any]]:
    return {env: translate(env) for env in ENVIRONMENTS}
