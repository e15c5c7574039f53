"""The template translates for every environment, and what it points at exists."""

from __future__ import annotations

from typing import Any

from tests.template.conftest import ROOT


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
