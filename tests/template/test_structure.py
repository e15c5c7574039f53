"""The template translates for every environment, and what it points at exists."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from scripts.translate_template import (
    TemplateTranslationError,
    samconfig_overrides,
    translate_template,
)
from tests.template.conftest import ROOT, Deployed

if TYPE_CHECKING:
    from pathlib import Path


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def test_every_environment_translates_to_functions_on_python313(
    translated_by_env: dict[str, dict[str, Any]], environment: str
) -> None:
    functions = resources_of_type(translated_by_env[environment], "AWS::Lambda::Function")

    assert functions, "no function in the translated template"
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {"python3.13"}


def test_every_function_handler_file_exists(raw_template: dict[str, Any]) -> None:
    for name, function in resources_of_type(raw_template, "AWS::Serverless::Function").items():
        props = function["Properties"]
        module, _, attribute = props["Handler"].rpartition(".")
        source = ROOT / props["CodeUri"] / (module.replace(".", "/") + ".py")
        assert source.is_file(), f"{name}: handler module {source} is missing"
        assert f"def {attribute}(" in source.read_text(), f"{name}: no {attribute} in {source}"


def test_the_secret_layer_builds_its_package_for_python313(raw_template: dict[str, Any]) -> None:
    layer = raw_template["Resources"]["SecretLayer"]

    content = ROOT / layer["Properties"]["ContentUri"]

    assert (content / "secret_service" / "__init__.py").is_file()
    assert layer["Metadata"]["BuildMethod"] == "python3.13"


def test_the_rds_ca_layer_puts_its_bundle_where_rds_ca_bundle_points(
    raw_template: dict[str, Any],
) -> None:
    layer = raw_template["Resources"]["RdsCaBundleLayer"]
    default_path = raw_template["Parameters"]["RdsCaBundlePath"]["Default"]

    content = ROOT / layer["Properties"]["ContentUri"]

    assert default_path.startswith("/opt/")
    bundle_dir = content / default_path.removeprefix("/opt/").rpartition("/")[0]
    assert bundle_dir.is_dir(), f"{bundle_dir} is missing: the layer would not create it"
    assert (bundle_dir / "README.md").is_file()


def test_every_function_attaches_both_layers(raw_template: dict[str, Any]) -> None:
    for name, function in resources_of_type(raw_template, "AWS::Serverless::Function").items():
        layers = function["Properties"]["Layers"]
        assert {"Ref": "SecretLayer"} in layers, name
        assert {"Ref": "RdsCaBundleLayer"} in layers, name


def test_every_checkov_suppression_has_a_one_line_justification(
    raw_template: dict[str, Any],
) -> None:
    skips = [
        (name, skip)
        for name, resource in raw_template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips, "expected the documented suppressions (docs/deploy.md)"
    for name, skip in skips:
        assert skip["id"].startswith("CKV_"), name
        comment = skip.get("comment", "")
        assert len(comment) > 20, f"{name} {skip['id']}: say why it is suppressed"
        assert "\n" not in comment.strip(), f"{name} {skip['id']}: one line"


def test_every_suppression_is_listed_in_the_deploy_guide(raw_template: dict[str, Any]) -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()

    ids = {
        skip["id"]
        for resource in raw_template["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }

    assert ids
    assert {i for i in ids if i not in guide} == set()


def test_translation_refuses_a_parameter_the_template_does_not_have() -> None:
    with pytest.raises(TemplateTranslationError, match="no parameter 'Nonexistent'"):
        translate_template("dev", parameters={"Nonexistent": "x"})


def test_a_malformed_samconfig_override_is_named(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text('[dev.deploy.parameters]\nparameter_overrides = "Environment=dev AppName"\n')

    with pytest.raises(TemplateTranslationError, match="'AppName' is not NAME=VALUE"):
        samconfig_overrides("dev", config)


def test_a_missing_samconfig_section_is_named(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text("version = 0.1\n")

    with pytest.raises(TemplateTranslationError, match=r"no \[stg.deploy.parameters\]"):
        samconfig_overrides("stg", config)


def test_an_unreadable_samconfig_is_named_not_a_toml_traceback(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text("[dev.deploy.parameters\n")

    with pytest.raises(TemplateTranslationError, match=r"cannot read .*samconfig\.toml"):
        samconfig_overrides("dev", config)


def test_a_file_that_is_not_a_template_is_named(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Parameters: {}\n")

    with pytest.raises(TemplateTranslationError, match="no Resources section"):
        translate_template("dev", use_samconfig=False, template_path=template)


def test_the_canary_sample_event_is_what_its_dev_schedule_sends() -> None:
    from tests.template.conftest import deploy

    event = json.loads((ROOT / "events" / "health_check.json").read_text())
    deployed = deploy("dev")
    schedule = deployed.props("HealthCheckFunctionSchedule")

    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert event["region"] == "ap-northeast-1"
    assert event["resources"] == [deployed.arn("HealthCheckFunctionSchedule")]
    assert schedule["Name"] == "goal-mandala-dev-secret-canary"


def referenced_resources(node: Any) -> set[str]:
    """Logical ids a value refers to (Ref, GetAtt, ${...} of Sub)."""
    if isinstance(node, list):
        return set().union(*(referenced_resources(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref":
            found.add(str(value))
        elif key == "Fn::GetAtt":
            found.add(str(value[0] if isinstance(value, list) else value.split(".")[0]))
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
            if isinstance(value, list):
                found |= referenced_resources(value[1])
        else:
            found |= referenced_resources(value)
    return found


def test_the_only_exports_that_change_with_each_layer_version_are_the_layer_exports(
    translated_by_env: dict[str, dict[str, Any]], environment: str
) -> None:
    # Given the layer versions SAM creates (a new one, with a new ARN, per content change)
    template = translated_by_env[environment]
    layers = set(resources_of_type(template, "AWS::Lambda::LayerVersion"))
    assert layers

    # Then exactly the two layer outputs export such a value (for stacks that pin a
    # version; the SSM parameters serve the ones that follow releases): no other export
    # would hold back a layer release once imported
    moving = {
        name
        for name, output in template["Outputs"].items()
        if "Export" in output and referenced_resources(output["Value"]) & layers
    }
    assert moving == {"SecretLayerArn", "RdsCaBundleLayerArn"}


def test_each_layer_arn_is_published_in_ssm_for_other_stacks(deployed: Deployed) -> None:
    env = deployed.environment
    layer_of = {
        props["LayerName"]: logical
        for logical, props in deployed.of_type("AWS::Lambda::LayerVersion").items()
    }

    published = {
        props["Name"]: props["Value"]
        for props in deployed.of_type("AWS::SSM::Parameter").values()
        if props["Type"] == "String"
    }

    # The resolver resolves a layer version's Ref to its logical id
    assert published == {
        f"/goal-mandala/{env}/secret-layer-arn": layer_of[f"goal-mandala-{env}-secret-layer"],
        f"/goal-mandala/{env}/rds-ca-bundle-layer-arn": layer_of[
            f"goal-mandala-{env}-rds-ca-bundle"
        ],
    }


def test_what_other_stacks_need_is_exported_under_app_and_environment(
    translated_by_env: dict[str, dict[str, Any]], environment: str
) -> None:
    # Then the secret ARNs, the layer, the application role and policy and the topic are
    # exports named {app}-{env}-..., which other stacks import
    outputs = translated_by_env[environment]["Outputs"]
    exported = {
        output["Export"]["Name"]["Fn::Sub"].removeprefix("${AppName}-${Environment}-")
        for output in outputs.values()
        if "Export" in output
    }
    assert {
        "secret-database-arn",
        "secret-jwt-arn",
        "secret-external-apis-arn",
        "secret-layer-arn",
        "app-function-role-arn",
        "secrets-read-policy-arn",
        "secrets-alarm-topic-arn",
    } <= exported
