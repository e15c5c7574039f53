"""``scripts.sam_template``: reading a template as one environment deploys it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from scripts.sam_template import DeployedTemplate, TemplateError, samconfig_parameters

if TYPE_CHECKING:
    from pathlib import Path


def deployed(resources: dict[str, Any], **extra: Any) -> DeployedTemplate:
    template = {
        "Parameters": {"Environment": {"Type": "String"}, "AppName": {"Default": "shop"}},
        "Mappings": {"Env": {"dev": {"Days": 0}, "prod": {"Days": 30}}},
        "Conditions": {
            "IsDev": {"Fn::Equals": [{"Ref": "Environment"}, "dev"]},
            "NotDev": {"Fn::Not": [{"Condition": "IsDev"}]},
            "DevOrProd": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "NotDev"}]},
        },
        "Resources": resources,
        **extra,
    }
    return DeployedTemplate(
        template=template, parameters={"Environment": "prod", "AppName": "shop"}
    )


def test_sub_resolves_parameters_and_pseudo_parameters() -> None:
    # Given
    t = deployed({})
    # When
    value = t.resolve({"Fn::Sub": "${AppName}-${Environment}-${AWS::Region}-${AWS::AccountId}"})
    # Then
    assert value == "shop-prod-ap-northeast-1-123456789012"


def test_sub_with_variables_and_an_escaped_literal() -> None:
    # Given
    t = deployed({})
    # When
    value = t.resolve({"Fn::Sub": ["${X}-${!Literal}", {"X": {"Ref": "AppName"}}]})
    # Then
    assert value == "shop-${Literal}"


def test_find_in_map_reads_the_environments_row() -> None:
    # Given
    t = deployed({})
    # When / Then
    assert t.resolve({"Fn::FindInMap": ["Env", {"Ref": "Environment"}, "Days"]}) == 30


def test_a_missing_mapping_entry_is_a_template_error() -> None:
    # Given
    t = deployed({})
    # When / Then
    with pytest.raises(TemplateError, match="Env/prod/Nope"):
        t.resolve({"Fn::FindInMap": ["Env", "prod", "Nope"]})


def test_conditions_combine() -> None:
    # When
    t = deployed({})
    # Then
    assert t.conditions == {"IsDev": False, "NotDev": True, "DevOrProd": True}


def test_fn_if_follows_its_condition() -> None:
    # Given
    t = deployed({})
    # When / Then
    assert t.resolve({"Fn::If": ["IsDev", "a", "b"]}) == "b"


def test_values_only_the_stack_knows_are_none() -> None:
    # Given
    t = deployed({})
    # When / Then
    assert t.resolve({"Fn::GetAtt": ["Key", "Arn"]}) is None
    assert t.resolve({"Ref": "SomeResource"}) is None
    assert t.resolve({"Fn::Sub": "${Key.Arn}"}) is None


def test_keep_unknown_keeps_the_known_properties() -> None:
    # Given
    t = deployed({})
    # When
    value = t.resolve({"Name": "n", "KmsKeyId": {"Fn::GetAtt": ["K", "Arn"]}}, keep_unknown=True)
    # Then
    assert value == {"Name": "n", "KmsKeyId": None}


def test_resources_skip_those_whose_condition_is_false_and_carry_their_name() -> None:
    # Given
    t = deployed(
        {
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Name": {"Fn::Sub": "${AppName}-${Environment}-secret-x"}},
            },
            "DevTrail": {"Type": "AWS::CloudTrail::Trail", "Condition": "IsDev"},
        }
    )
    # When
    found = t.resources()
    # Then
    assert [(r.logical_id, r.name) for r in found] == [("Secret", "shop-prod-secret-x")]


def test_a_condition_that_refers_to_itself_is_refused() -> None:
    # When / Then
    with pytest.raises(TemplateError, match="refers to itself"):
        DeployedTemplate(
            template={"Resources": {}, "Conditions": {"A": {"Condition": "A"}}},
            parameters={"Environment": "dev"},
        )


def test_samconfig_gives_stack_region_and_parameter_overrides(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "samconfig.toml"
    path.write_text(
        "[prod.deploy.parameters]\n"
        'stack_name = "shop-prod-secrets"\n'
        'region = "eu-west-1"\n'
        'parameter_overrides = "Environment=prod AppName=shop AlarmEmail=\\"a@b.c\\""\n'
    )
    # When
    config = samconfig_parameters("prod", path)
    # Then
    assert config == {
        "stack_name": "shop-prod-secrets",
        "region": "eu-west-1",
        "parameter:Environment": "prod",
        "parameter:AppName": "shop",
        "parameter:AlarmEmail": "a@b.c",
    }


def test_samconfig_without_the_environment_gives_nothing(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "samconfig.toml"
    path.write_text("[dev.deploy.parameters]\nregion = 'x'\n")
    # When / Then
    assert samconfig_parameters("prod", path) == {}
    assert samconfig_parameters("prod", tmp_path / "absent.toml") == {}


def test_a_broken_samconfig_is_a_template_error(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "samconfig.toml"
    path.write_text("[prod\n")
    # When / Then
    with pytest.raises(TemplateError, match="cannot read"):
        samconfig_parameters("prod", path)


def test_a_file_without_resources_is_not_a_template(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "t.yaml"
    path.write_text("Parameters: {}\n")
    # When / Then
    with pytest.raises(TemplateError, match="no Resources"):
        DeployedTemplate.for_environment("dev", template_path=path, samconfig_path=None)


def test_the_product_template_rotates_in_stg_and_prod_only() -> None:
    # Given the product's template.yaml, as each environment deploys it
    schedules = {
        env: DeployedTemplate.for_environment(env).resources(
            "AWS::SecretsManager::RotationSchedule"
        )
        for env in ("dev", "stg", "prod")
    }
    # Then
    assert schedules["dev"] == []
    assert schedules["stg"]
    assert schedules["prod"]


def test_a_samconfig_override_that_is_not_name_value_is_a_template_error(tmp_path: Path) -> None:
    # Given an override `sam deploy` would refuse (translate_template refuses it too)
    path = tmp_path / "samconfig.toml"
    path.write_text('[prod.deploy.parameters]\nparameter_overrides = "AppName=shop AlarmEmail"\n')
    # When / Then: named, not silently dropped (make doctor would check the default instead)
    with pytest.raises(TemplateError, match="'AlarmEmail' is not NAME=VALUE"):
        samconfig_parameters("prod", path)


def test_a_samconfig_override_with_an_unclosed_quote_is_a_template_error(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "samconfig.toml"
    path.write_text("[prod.deploy.parameters]\nparameter_overrides = 'AlarmEmail=\"a@b.c'\n")
    # When / Then: a typed error naming the file and section, not shlex's ValueError
    with pytest.raises(TemplateError, match=r"samconfig.toml \[prod\] parameter_overrides"):
        samconfig_parameters("prod", path)


def test_a_file_that_is_not_yaml_is_a_template_error(tmp_path: Path) -> None:
    # Given `make doctor --template` pointed at a file that does not parse
    path = tmp_path / "t.yaml"
    path.write_text("Resources: [1\n")
    # When / Then: named with the line, not a yaml.ScannerError traceback
    with pytest.raises(TemplateError, match=r"t\.yaml is not valid YAML \(line \d+"):
        DeployedTemplate.for_environment("dev", template_path=path, samconfig_path=None)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Resources:\n  Topic: 1\n", "resource Topic is not a mapping with a Type"),
        ("Resources:\n  Topic: {Properties: {}}\n", "resource Topic is not a mapping with a Type"),
        ("Parameters: 3\nResources:\n  T: {Type: AWS::SNS::Topic}\n", "Parameters must be"),
    ],
    ids=["resource-not-a-mapping", "resource-without-type", "parameters-not-a-mapping"],
)
def test_a_template_of_the_wrong_shape_is_a_template_error(
    tmp_path: Path, text: str, named: str
) -> None:
    # Given
    path = tmp_path / "t.yaml"
    path.write_text(text)
    # When / Then: named, not an AttributeError from deep inside the resolver
    with pytest.raises(TemplateError, match=named):
        DeployedTemplate.for_environment("dev", template_path=path, samconfig_path=None)


def test_a_samconfig_key_that_is_not_a_table_is_a_template_error(tmp_path: Path) -> None:
    # Given `[prod] deploy = "..."` where sam expects [prod.deploy.parameters]
    path = tmp_path / "samconfig.toml"
    path.write_text('[prod]\ndeploy = "shop-prod"\n')
    # When / Then
    with pytest.raises(TemplateError, match=r"samconfig.toml: prod\.deploy must be a table"):
        samconfig_parameters("prod", path)


def test_a_parameter_value_outside_allowed_pattern_or_values_is_a_template_error(
    tmp_path: Path,
) -> None:
    # Given a template constraining two parameters
    template = tmp_path / "template.yaml"
    template.write_text(
        "Parameters:\n"
        "  Environment: {Type: String, AllowedValues: [dev, prod]}\n"
        "  AppName: {Type: String, Default: shop, AllowedPattern: '^[a-z][a-z0-9-]{1,30}$'}\n"
        "  Tier: {Type: String, Default: small, AllowedValues: [small, large]}\n"
        "Resources: {}\n"
    )

    def load(**kwargs: Any) -> DeployedTemplate:
        return DeployedTemplate.for_environment(
            "dev", template_path=template, samconfig_path=None, **kwargs
        )

    # Then values the template accepts pass, and the others name the parameter and rule
    assert load(app_name="shop-2", overrides={"Tier": "large"}).app_name == "shop-2"
    with pytest.raises(TemplateError, match=r"AppName 'Shop' does not match .*AllowedPattern"):
        load(app_name="Shop")
    with pytest.raises(TemplateError, match=r"Tier 'huge' is not one of .*\(small, large\)"):
        load(overrides={"Tier": "huge"})
