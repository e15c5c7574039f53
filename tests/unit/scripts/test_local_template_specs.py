"""``make local`` reads names and generation settings from template.yaml itself.

Compared here with the raw YAML, property by property, so a change to the template
changes what ``make local`` creates (one source of truth) and this test says if the
reader misses it.
"""

from __future__ import annotations

import json

import pytest
from scripts.local_run.template_specs import (
    function_environment,
    key_alias,
    secret_specs,
)
from scripts.sam_template import DeployedTemplate, TemplateError, load_template

LOCAL_OVERRIDES = {
    "DatabaseStackName": "",
    "DatabaseHost": "127.0.0.1",
    "DatabasePort": "3307",
    "RdsCaBundlePath": "/local/ca.pem",
}


@pytest.fixture(scope="module")
def raw() -> dict:  # type: ignore[type-arg]
    return load_template()


@pytest.mark.parametrize("environment", ["dev", "stg", "prod"])
def test_secret_names_are_the_templates(environment: str, raw: dict) -> None:  # type: ignore[type-arg]
    # Given
    template = DeployedTemplate.for_environment(environment, overrides=LOCAL_OVERRIDES)
    # When
    specs = secret_specs(template)
    # Then every Secret resource, with its Name as CloudFormation resolves it
    secrets = {k for k, v in raw["Resources"].items() if v["Type"] == "AWS::SecretsManager::Secret"}
    assert {s.logical_id for s in specs} == secrets
    assert {s.name for s in specs} == {
        f"goal-mandala-{environment}-secret-database",
        f"goal-mandala-{environment}-secret-jwt",
        f"goal-mandala-{environment}-secret-external-apis",
    }


def test_generation_settings_are_the_templates(raw: dict) -> None:  # type: ignore[type-arg]
    # Given
    specs = {s.logical_id: s for s in secret_specs(
        DeployedTemplate.for_environment("dev", overrides=LOCAL_OVERRIDES))}  # fmt: skip
    # Then each GenerateSecretString maps to GetRandomPassword with the same settings
    for logical_id, resource in raw["Resources"].items():
        generate = resource.get("Properties", {}).get("GenerateSecretString")
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        spec = specs[logical_id]
        if generate is None:
            assert spec.generated is None
            continue
        assert spec.generated is not None
        assert spec.generated.key == generate["GenerateStringKey"]
        args = spec.generated.get_random_password_args()
        assert args["PasswordLength"] == generate["PasswordLength"]
        for option in ("ExcludeCharacters", "ExcludePunctuation", "ExcludeNumbers"):
            assert args.get(option) == generate.get(option)


def test_the_database_secret_points_at_the_local_server() -> None:
    # When
    spec = next(
        s
        for s in secret_specs(DeployedTemplate.for_environment("dev", overrides=LOCAL_OVERRIDES))
        if s.kind == "database"
    )
    # Then the template's SecretStringTemplate, resolved with the local host and port
    assert spec.document["host"] == "127.0.0.1"
    assert spec.document["port"] == 3307
    assert spec.document["ssl"] is True
    assert "password" not in spec.document  # generated, never in the template
    json.dumps(spec.document)


def test_the_key_alias_and_function_environments_come_from_the_template() -> None:
    # Given
    template = DeployedTemplate.for_environment("prod", overrides=LOCAL_OVERRIDES)
    # When
    rotation = function_environment(template, "RotationFunction")
    canary = function_environment(template, "HealthCheckFunction")
    # Then
    assert key_alias(template) == "alias/goal-mandala-prod-secrets-key"
    assert rotation["ENVIRONMENT"] == "prod"
    assert rotation["RDS_CA_BUNDLE"] == "/local/ca.pem"
    assert rotation["PASSWORD_LENGTH"] == "32"
    assert canary["DATABASE_SECRET_ID"] == "goal-mandala-prod-secret-database"
    assert canary["SECRET_IDS"].split(",") == [
        "goal-mandala-prod-secret-database",
        "goal-mandala-prod-secret-jwt",
        "goal-mandala-prod-secret-external-apis",
    ]


def test_an_unknown_function_is_a_template_error() -> None:
    # When / Then
    with pytest.raises(TemplateError, match="NoSuchFunction"):
        function_environment(DeployedTemplate.for_environment("dev"), "NoSuchFunction")
