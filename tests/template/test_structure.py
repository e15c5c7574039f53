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


def test_every_layer_has_its_package(raw_template: dict[str, Any]) -> None:
    for name, layer in resources_of_type(raw_template, "AWS::Serverless::LayerVersion").items():
        content = ROOT / layer["Properties"]["ContentUri"]
        assert (content / "secret_service" / "__init__.py").is_file(), name
        assert layer["Metadata"]["BuildMethod"] == "python3.13"
