"""The secrets' shapes and generation settings, and the functions' configuration contract.

The generated JSON documents are parsed with the layer's own models, and each
function's environment is read with the function's own ``from_env``: a template that
the code would reject fails here, not after a deployment.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from tests.template.conftest import ACCOUNT, REGION, Deployed, deploy

from canary_config import CanaryConfig
from rotation_config import DEFAULT_EXCLUDE_CHARACTERS, RotationConfig
from secret_service.models import DatabaseCredentials, ExternalApiCredentials, JwtConfig

if TYPE_CHECKING:
    from pathlib import Path

SECRETS = ("DatabaseSecret", "JwtSecret", "ExternalApisSecret")
MYSQL_HOSTILE = "/@\"'\\ "  # slash, at, double quote, single quote, backslash, space


def generated(deployed: Deployed, secret: str, key: str, value: str) -> dict[str, Any]:
    """The document Secrets Manager stores: the template with the generated key added."""
    spec = deployed.props(secret)["GenerateSecretString"]
    document: dict[str, Any] = json.loads(spec["SecretStringTemplate"])
    document[spec["GenerateStringKey"]] = value
    return document


@pytest.fixture(scope="module")
def with_host() -> Deployed:
    return deploy("stg", DatabaseStackName="", DatabaseHost="db.cluster-abc.example.internal")


def test_every_secret_is_encrypted_with_this_environments_key_and_retained(
    deployed: Deployed,
) -> None:
    for secret in SECRETS:
        assert deployed.props(secret)["KmsKeyId"] == deployed.arn("SecretsKey"), secret
        raw = deployed.resources[secret]["Raw"]
        assert (raw["DeletionPolicy"], raw["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_generation_settings_are_literal_for_make_local(raw_template: dict[str, Any]) -> None:
    # make local reads GenerateSecretString from template.yaml without CloudFormation
    for secret in ("DatabaseSecret", "JwtSecret"):
        spec = raw_template["Resources"][secret]["Properties"]["GenerateSecretString"]
        for key, value in spec.items():
            if key != "SecretStringTemplate":
                assert isinstance(value, str | int | bool), f"{secret}.{key} is {value!r}"


def test_the_database_password_policy_matches_the_rotation_parameters(
    raw_template: dict[str, Any], deployed: Deployed
) -> None:
    spec = raw_template["Resources"]["DatabaseSecret"]["Properties"]["GenerateSecretString"]
    parameters = raw_template["Parameters"]
    rotation_env = deployed.props("RotationFunction")["Environment"]["Variables"]

    assert spec["GenerateStringKey"] == "password"
    assert spec["PasswordLength"] == 32 == parameters["RotationPasswordLength"]["Default"]
    assert spec["ExcludeCharacters"] == MYSQL_HOSTILE
    assert parameters["RotationExcludeCharacters"]["Default"] == MYSQL_HOSTILE
    assert str(rotation_env["PASSWORD_LENGTH"]) == "32"
    assert rotation_env["EXCLUDE_CHARACTERS"] == MYSQL_HOSTILE == DEFAULT_EXCLUDE_CHARACTERS


def test_the_database_secret_is_in_rds_format(with_host: Deployed) -> None:
    document = generated(with_host, "DatabaseSecret", "password", "x" * 32)

    credentials = DatabaseCredentials.from_mapping(document, secret_id="database")

    assert credentials.host == "db.cluster-abc.example.internal"
    assert (credentials.port, credentials.engine) == (3306, "aurora-mysql")
    assert (credentials.username, credentials.dbname, credentials.ssl) == ("app_user", "app", True)
    assert credentials.masterarn is None


def test_the_database_secret_takes_its_host_from_the_database_stack(deployed: Deployed) -> None:
    template = deployed.props("DatabaseSecret")["GenerateSecretString"]["SecretStringTemplate"]

    stack = f"goal-mandala-{deployed.environment}-database"
    assert f'"host":"imported-{stack}-ClusterEndpoint"' in template
    assert f'"port":imported-{stack}-ClusterPort' in template


def test_the_secret_is_attached_to_the_cluster_when_one_is_known(
    deployed: Deployed, with_host: Deployed
) -> None:
    stack = f"goal-mandala-{deployed.environment}-database"
    attachment = deployed.props("DatabaseSecretAttachment")
    by_parameter = deploy(
        "dev", DatabaseStackName="", DatabaseHost="h", DatabaseClusterIdentifier="app-cluster"
    )

    assert attachment["TargetType"] == "AWS::RDS::DBCluster"
    assert attachment["TargetId"] == f"imported-{stack}-ClusterIdentifier"
    assert attachment["SecretId"] == deployed.secret_arn("DatabaseSecret")
    assert not with_host.has("DatabaseSecretAttachment")
    assert by_parameter.props("DatabaseSecretAttachment")["TargetId"] == "app-cluster"


def test_the_jwt_key_is_64_generated_characters_in_its_settings_document(
    deployed: Deployed,
) -> None:
    spec = deployed.props("JwtSecret")["GenerateSecretString"]
    document = generated(deployed, "JwtSecret", "signingKey", "k" * 64)

    config = JwtConfig.from_mapping(document, secret_id="jwt")

    assert (spec["GenerateStringKey"], spec["PasswordLength"]) == ("signingKey", 64)
    assert spec["ExcludePunctuation"] is True
    assert (config.algorithm, config.expires_in_s) == ("HS256", 3600)
    assert config.issuer == f"goal-mandala-{deployed.environment}"
    # one rotation function serves both secrets: the JWT secret names its own strategy
    assert document["rotationStrategy"] == "random-key"


def test_the_external_api_secret_has_a_bedrock_and_an_ses_entry(deployed: Deployed) -> None:
    document = json.loads(deployed.props("ExternalApisSecret")["SecretString"])

    assert set(document) == {"bedrock", "ses"}
    bedrock = ExternalApiCredentials.from_mapping({**document["bedrock"], "apiKey": "a" * 20})
    ses = ExternalApiCredentials.from_mapping(
        {**document["ses"], "username": "AKIAEXAMPLE", "password": "p" * 20}
    )
    assert (bedrock.provider, bedrock.region) == ("bedrock", REGION)
    assert (ses.provider, ses.region) == ("ses", REGION)
    # shipped empty: nothing that looks like a credential lives in the template
    assert document["bedrock"]["apiKey"] == document["ses"]["password"] == ""


def test_replication_and_a_multi_region_key_are_off_by_default(deployed: Deployed) -> None:
    assert deployed.props("SecretsKey")["MultiRegion"] is False
    for secret in SECRETS:
        assert "ReplicaRegions" not in deployed.props(secret), secret


def test_a_replica_region_replicates_every_secret_under_a_multi_region_key() -> None:
    deployed = deploy("prod", MultiRegionKey="true", ReplicaRegion="ap-northeast-3")

    assert deployed.props("SecretsKey")["MultiRegion"] is True
    for secret in SECRETS:
        assert deployed.props(secret)["ReplicaRegions"] == [
            {"Region": "ap-northeast-3", "KmsKeyId": "alias/goal-mandala-prod-secrets-key"}
        ], secret


def test_a_multi_region_key_alone_replicates_nothing() -> None:
    deployed = deploy("prod", MultiRegionKey="true")

    assert deployed.props("SecretsKey")["MultiRegion"] is True
    assert all("ReplicaRegions" not in deployed.props(secret) for secret in SECRETS)


def test_the_template_refuses_a_replica_region_without_a_multi_region_key(
    raw_template: dict[str, Any],
) -> None:
    rule = raw_template["Rules"]["ReplicationNeedsAMultiRegionKey"]

    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ReplicaRegion"}, ""]}]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "MultiRegionKey"}, "true"]}


def test_the_rotation_function_accepts_its_template_environment(
    deployed: Deployed, tmp_path: Path
) -> None:
    bundle = tmp_path / "global-bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    variables = dict(deployed.props("RotationFunction")["Environment"]["Variables"])

    assert variables["RDS_CA_BUNDLE"] == "/opt/rds-ca/global-bundle.pem"
    variables["RDS_CA_BUNDLE"] = str(bundle)  # the layer's file, as the function sees it
    config = RotationConfig.from_env({k: str(v) for k, v in variables.items()})

    assert config.password_length == 32
    assert config.exclude_characters == MYSQL_HOSTILE
    assert config.strategy.value == "single-user"
    assert config.secrets_manager_endpoint is None
    assert config.connect_timeout_s == 5.0
    assert config.environment == deployed.environment
    assert config.metrics_namespace == "goal-mandala/Secrets"


def test_the_canary_accepts_its_template_environment(deployed: Deployed, tmp_path: Path) -> None:
    env = deployed.environment
    bundle = tmp_path / "global-bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    variables = dict(deployed.props("HealthCheckFunction")["Environment"]["Variables"])
    variables["RDS_CA_BUNDLE"] = str(bundle)

    config = CanaryConfig.from_env({k: str(v) for k, v in variables.items()})

    assert config.secret_ids == tuple(
        f"goal-mandala-{env}-secret-{p}" for p in ("database", "jwt", "external-apis")
    )
    assert config.database_secret_id == f"goal-mandala-{env}-secret-database"
    assert not config.discovers_by_tag  # the canary role has no ListSecrets
    assert (config.environment, config.rotation_period_days) == (env, 30)
    assert config.metrics_namespace == "goal-mandala/Secrets"
    assert config.db_connect_timeout_s == 5.0
    assert config.secrets_manager_endpoint is None
    # a never-rotated database password is "overdue" only where rotation is scheduled
    assert config.require_database_rotation is deployed.condition("RotationEnabled")


def test_an_alternating_users_rotation_is_configured_through_the_strategy_parameter(
    tmp_path: Path,
) -> None:
    master = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:admin-AbCdEf"
    deployed = deploy("prod", DatabaseRotationStrategy="alternating-users", MasterSecretArn=master)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("x")
    variables = dict(deployed.props("RotationFunction")["Environment"]["Variables"])
    variables["RDS_CA_BUNDLE"] = str(bundle)

    config = RotationConfig.from_env({k: str(v) for k, v in variables.items()})

    assert config.strategy.value == "alternating-users"


def test_the_template_refuses_alternating_users_without_a_master_secret(
    raw_template: dict[str, Any],
) -> None:
    rule = raw_template["Rules"]["AlternatingUsersNeedMasterSecret"]

    assert rule["RuleCondition"] == {
        "Fn::Equals": [{"Ref": "DatabaseRotationStrategy"}, "alternating-users"]
    }
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "MasterSecretArn"}, ""]}]
    }


def test_both_functions_reach_secrets_manager_through_the_endpoint_parameter(
    tmp_path: Path,
) -> None:
    url = "https://vpce-0a1b2c3d-x.secretsmanager.ap-northeast-1.vpce.amazonaws.com"
    deployed = deploy("prod", SecretsManagerEndpointUrl=url)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("x")

    def variables(function: str) -> dict[str, str]:
        env = dict(deployed.props(function)["Environment"]["Variables"])
        env["RDS_CA_BUNDLE"] = str(bundle)
        return {k: str(v) for k, v in env.items()}

    rotation = RotationConfig.from_env(variables("RotationFunction"))
    canary = CanaryConfig.from_env(variables("HealthCheckFunction"))

    assert rotation.secrets_manager_endpoint == canary.secrets_manager_endpoint == url


# Another value CloudFormation accepts for each parameter a redeployment may change.
# AppName and Environment rename every secret (a replacement, not an update).
CHANGED_VALUES = {
    "DatabaseStackName": "goal-mandala-prod-database2",
    "DatabaseHost": "db2.cluster-abc.example.internal",
    "DatabasePort": "3307",
    "DatabaseName": "app2",
    "DatabaseUsername": "app_user2",
    "DatabaseEngine": "mysql",
    "DatabaseClusterIdentifier": "cluster-2",
    "RdsCaBundlePath": "/opt/other/bundle.pem",
    "NetworkStackName": "goal-mandala-prod-network2",
    "VpcSubnetIds": "subnet-0c",
    "VpcSecurityGroupIds": "sg-02",
    "SecretsManagerEndpointUrl": "https://vpce-1.secretsmanager.ap-northeast-1.vpce.amazonaws.com",
    "RotationPeriodDays": "14",
    "JwtRotationPeriodDays": "7",
    "DatabaseRotationStrategy": "alternating-users",
    "MasterSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:aurora-admin-XyZ123",
    "RotationPasswordLength": "40",
    "RotationExcludeCharacters": "/@",
    "AlarmEmail": "oncall@example.com",
    "CanaryRateMinutes": "10",
    "AdditionalReaderRoleName": "break-glass",
    "MultiRegionKey": "true",
    "ReplicaRegion": "ap-northeast-3",
}
REGENERATES_PASSWORD = "makes CloudFormation generate a new database password"


def generation_settings(deployed: Deployed) -> list[Any]:
    return [deployed.props(s).get("GenerateSecretString") for s in ("DatabaseSecret", "JwtSecret")]


def test_every_parameter_that_regenerates_a_password_says_so(raw_template: dict[str, Any]) -> None:
    # Given the generated secrets' settings for samconfig's prod, by imports and by host
    baselines = [{}, {"DatabaseStackName": "", "DatabaseHost": "db.cluster-abc.example.internal"}]
    assert set(CHANGED_VALUES) == set(raw_template["Parameters"]) - {"AppName", "Environment"}

    # When one parameter is redeployed with another value
    # (CloudFormation then generates the secret anew: a new password the database lacks)
    regenerating = {
        name
        for base, before in (
            (base, generation_settings(deploy("prod", **base))) for base in baselines
        )
        for name, value in CHANGED_VALUES.items()
        if generation_settings(deploy("prod", **{**base, name: value})) != before
    }

    # Then exactly those parameters warn about it where a deployer reads them
    warned = {
        name
        for name, spec in raw_template["Parameters"].items()
        if REGENERATES_PASSWORD in " ".join(str(spec.get("Description", "")).split())
    }
    assert "MasterSecretArn" in regenerating
    assert regenerating == warned
