"""Least privilege, per environment: who may touch which secret, and how the key is used."""

from __future__ import annotations

import ast
import fnmatch
import re
from typing import TYPE_CHECKING, Any

import pytest
from tests.template.conftest import ACCOUNT, ENVIRONMENTS, REGION, ROOT, Deployed

if TYPE_CHECKING:
    from pathlib import Path

SECRET_LOGICAL_IDS = ("DatabaseSecret", "JwtSecret", "ExternalApisSecret")
CRYPTO_ACTIONS = (
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:CreateGrant",
)
# Secrets Manager actions that have no resource type, so AWS requires Resource "*":
# GetRandomPassword (the rotation) and BatchGetSecretValue (readers; each secret in a
# batch is still authorised by GetSecretValue on that secret).
STAR_REQUIRED = {
    "secretsmanager:GetRandomPassword": {"RotationFunctionRole"},
    "secretsmanager:BatchGetSecretValue": {"AppSecretsReadPolicy"},
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allow_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(document["Statement"]) if s["Effect"] == "Allow"]


def grants(statement: dict[str, Any], action: str) -> bool:
    """True when the statement's Action patterns cover ``action``."""
    return any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower())
        for pattern in as_list(statement["Action"])
    )


def role_documents(deployed: Deployed, role: str) -> list[dict[str, Any]]:
    return [doc for where, doc in deployed.policies() if where.split("/")[0] == role]


def allowed_actions(documents: list[dict[str, Any]], *services: str) -> set[str]:
    """Every action of ``services`` (e.g. "secretsmanager") the documents allow."""
    return {
        action
        for document in documents
        for statement in allow_statements(document)
        for action in as_list(statement["Action"])
        if action.split(":")[0] in services
    }


def secret_resources(documents: list[dict[str, Any]]) -> set[str]:
    return {
        resource
        for document in documents
        for statement in allow_statements(document)
        for resource in as_list(statement["Resource"])
        if any(str(a).startswith("secretsmanager:") for a in as_list(statement["Action"]))
        and resource != "*"
    }


def test_no_secrets_manager_or_kms_action_is_granted_on_every_resource(
    deployed: Deployed,
) -> None:
    # Given every identity policy the environment creates
    offending = []
    for where, document in deployed.policies():
        for statement in allow_statements(document):
            # When a statement applies to Resource "*"
            if "*" not in as_list(statement["Resource"]):
                continue
            for action in as_list(statement["Action"]):
                if action.split(":")[0] not in ("secretsmanager", "kms"):
                    continue
                if where.split("/")[0] not in STAR_REQUIRED.get(action, set()):
                    offending.append((where, action))

    # Then it grants no Secrets Manager or KMS action, except the two without a resource
    # type, each only to the principal that needs it
    assert offending == []


@pytest.mark.parametrize("action", sorted(STAR_REQUIRED))
def test_each_resourceless_action_is_granted_only_where_needed(
    deployed: Deployed, action: str
) -> None:
    holders = {
        where.split("/")[0]
        for where, document in deployed.policies()
        for statement in allow_statements(document)
        if grants(statement, action)
    }

    assert holders == STAR_REQUIRED[action]


def test_batch_readers_get_secret_values_only_of_this_environment(deployed: Deployed) -> None:
    # BatchGetSecretValue on "*" is harmless only because GetSecretValue is per secret
    document = deployed.props("AppSecretsReadPolicy")["PolicyDocument"]

    readable = {
        str(resource)
        for statement in allow_statements(document)
        if grants(statement, "secretsmanager:GetSecretValue")
        for resource in as_list(statement["Resource"])
    }

    assert readable == {deployed.secret_arn(s) for s in SECRET_LOGICAL_IDS}


CROSS_ENVIRONMENT = [(own, other) for own in ENVIRONMENTS for other in ENVIRONMENTS if own != other]


@pytest.mark.parametrize(("own", "other"), CROSS_ENVIRONMENT)
def test_no_policy_names_another_environments_secrets(
    deployed_by_env: dict[str, Deployed], own: str, other: str
) -> None:
    # Given every ARN any identity policy of one environment names
    deployed = deployed_by_env[own]
    named = {
        str(resource)
        for _, document in deployed.policies()
        for statement in allow_statements(document)
        for resource in as_list(statement["Resource"])
    }

    # Then none is a resource of the other environment
    assert not [arn for arn in named if f"-{other}-" in arn]
    # and every secret ARN is one of this environment's own secrets
    own_secrets = {deployed.secret_arn(s) for s in SECRET_LOGICAL_IDS}
    assert {arn for arn in named if ":secretsmanager:" in arn} <= own_secrets
    assert not own_secrets & {deployed_by_env[other].secret_arn(s) for s in SECRET_LOGICAL_IDS}


def test_the_app_policy_reads_exactly_this_environments_three_secrets(
    deployed: Deployed,
) -> None:
    documents = [deployed.props("AppSecretsReadPolicy")["PolicyDocument"]]

    resources = secret_resources(documents)
    actions = allowed_actions(documents, "secretsmanager")

    assert resources == {deployed.secret_arn(s) for s in SECRET_LOGICAL_IDS}
    assert all("*" not in arn for arn in resources), "secrets must be named by exact ARN"
    assert actions == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:BatchGetSecretValue",
    }


def test_the_app_role_gets_the_read_policy_and_lambda_trust(deployed: Deployed) -> None:
    role = deployed.props("AppFunctionRole")

    assert deployed.resolver.resolve({"Ref": "AppSecretsReadPolicy"}) in role["ManagedPolicyArns"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


def test_the_rotation_function_touches_only_the_secrets_it_rotates(deployed: Deployed) -> None:
    documents = role_documents(deployed, "RotationFunctionRole")

    writers = {
        str(resource)
        for document in documents
        for statement in allow_statements(document)
        if grants(statement, "secretsmanager:PutSecretValue")
        or grants(statement, "secretsmanager:UpdateSecretVersionStage")
        for resource in as_list(statement["Resource"])
    }

    rotated = {deployed.secret_arn("DatabaseSecret"), deployed.secret_arn("JwtSecret")}
    assert writers == rotated
    assert secret_resources(documents) == rotated


def test_the_rotation_function_may_read_the_master_secret_only_when_one_is_given() -> None:
    from tests.template.conftest import deploy

    master = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:aurora-admin-XyZ123"
    without = deploy("stg")
    with_master = deploy(
        "stg", DatabaseRotationStrategy="alternating-users", MasterSecretArn=master
    )

    assert master not in secret_resources(role_documents(without, "RotationFunctionRole"))
    readable = secret_resources(role_documents(with_master, "RotationFunctionRole"))
    assert master in readable
    template = with_master.props("DatabaseSecret")["GenerateSecretString"]
    assert f'"masterarn":"{master}"' in template["SecretStringTemplate"]


def test_the_canary_reads_and_describes_but_never_writes(deployed: Deployed) -> None:
    documents = role_documents(deployed, "HealthCheckFunctionRole")

    actions = allowed_actions(documents, "secretsmanager")

    assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert secret_resources(documents) == {deployed.secret_arn(s) for s in SECRET_LOGICAL_IDS}


def test_every_kms_grant_in_an_identity_policy_goes_through_secrets_manager(
    deployed: Deployed,
) -> None:
    via = f"secretsmanager.{REGION}.amazonaws.com"
    kms_statements = [
        (where, statement)
        for where, document in deployed.policies()
        for statement in allow_statements(document)
        if any(str(a).startswith("kms:") for a in as_list(statement["Action"]))
    ]
    assert kms_statements, "no identity policy uses the key: the check would prove nothing"
    for where, statement in kms_statements:
        assert statement["Resource"] == deployed.arn("SecretsKey"), where
        assert statement["Condition"]["StringEquals"]["kms:ViaService"] == via, where


def test_the_secrets_key_policy_allows_no_cryptography_outside_secrets_manager(
    deployed: Deployed,
) -> None:
    key = deployed.props("SecretsKey")
    via = f"secretsmanager.{REGION}.amazonaws.com"

    crypto_statements = [
        statement
        for statement in allow_statements(key["KeyPolicy"])
        if any(grants(statement, a) for a in CRYPTO_ACTIONS)
    ]
    assert crypto_statements, "the key policy lets nothing use the key: the check proves nothing"
    for statement in crypto_statements:
        crypto = [a for a in CRYPTO_ACTIONS if grants(statement, a)]
        # Every statement that grants decrypt/encrypt/grant is bound to Secrets Manager
        condition = statement.get("Condition", {}).get("StringEquals", {})
        assert condition.get("kms:ViaService") == via, statement.get("Sid")
        assert condition.get("kms:CallerAccount") == ACCOUNT, statement.get("Sid")
        assert "kms:CreateGrant" not in crypto, statement.get("Sid")
        assert statement["Principal"] != "*", statement.get("Sid")


def test_the_secrets_key_rotates_and_has_the_documented_alias(deployed: Deployed) -> None:
    env = deployed.environment

    assert deployed.props("SecretsKey")["EnableKeyRotation"] is True
    assert deployed.props("SecretsKeyAlias")["AliasName"] == f"alias/goal-mandala-{env}-secrets-key"
    assert deployed.resources["SecretsKey"]["Raw"]["DeletionPolicy"] == "Retain"


def test_secrets_manager_may_invoke_the_rotation_function_only_for_this_account(
    deployed: Deployed,
) -> None:
    permission = deployed.props("RotationInvokePermission")

    assert permission["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceAccount"] == ACCOUNT
    assert permission["FunctionName"] == deployed.arn("RotationFunction")


def test_every_role_trusts_exactly_one_service(deployed: Deployed) -> None:
    for name, role in deployed.of_type("AWS::IAM::Role").items():
        for statement in role["AssumeRolePolicyDocument"]["Statement"]:
            assert set(statement["Principal"]) == {"Service"}, name
            assert isinstance(statement["Principal"]["Service"], str), name


def test_function_roles_trust_lambda_of_this_account_only(deployed: Deployed) -> None:
    for name in ("RotationFunctionRole", "HealthCheckFunctionRole", "AppFunctionRole"):
        [statement] = deployed.props(name)["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}, name
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT, name


def test_each_function_writes_only_its_own_log_group(deployed: Deployed) -> None:
    for role, group in (
        ("RotationFunctionRole", "RotationLogGroup"),
        ("HealthCheckFunctionRole", "HealthCheckLogGroup"),
    ):
        name = deployed.props(group)["LogGroupName"]
        log_resources = {
            str(resource)
            for document in role_documents(deployed, role)
            for statement in allow_statements(document)
            if grants(statement, "logs:PutLogEvents")
            for resource in as_list(statement["Resource"])
        }
        assert log_resources == {
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:log-stream:*"
        }, role


def boto3_operations(path: Path) -> set[str]:
    """API operations ``path`` calls on a client attribute (``self.client.put_secret_value``)."""
    operations = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr in ("client", "_client")
        ):
            operations.add("".join(part.title() for part in node.func.attr.split("_")))
    return operations


def test_only_the_secrets_store_adapter_talks_to_aws_in_the_rotation_function() -> None:
    aws_import = re.compile(r"^\s*(import|from) (boto3|botocore)\b", re.MULTILINE)

    importers = {
        path.name
        for path in (ROOT / "src" / "rotation").glob("*.py")
        if aws_import.search(path.read_text())
    }

    assert importers == {"secrets_store.py"}


def test_the_rotation_role_allows_exactly_what_the_rotation_code_calls(
    deployed: Deployed,
) -> None:
    # Given the Secrets Manager operations the rotation's one AWS adapter calls
    called = {
        f"secretsmanager:{op}"
        for op in boto3_operations(ROOT / "src" / "rotation" / "secrets_store.py")
    }
    documents = role_documents(deployed, "RotationFunctionRole")

    # When the role's Secrets Manager and KMS actions are listed
    granted = allowed_actions(documents, "secretsmanager", "kms")

    # Then they are those calls (no more, no fewer) plus the KMS use Secrets Manager makes
    # on the function's behalf: Decrypt to read, GenerateDataKey to store AWSPENDING
    assert called == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:UpdateSecretVersionStage",
    }
    assert granted == called | {"kms:Decrypt", "kms:GenerateDataKey"}


def test_the_alternating_users_master_secret_is_only_read() -> None:
    from tests.template.conftest import deploy

    master = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:aurora-admin-XyZ123"
    deployed = deploy("prod", DatabaseRotationStrategy="alternating-users", MasterSecretArn=master)

    on_master = {
        action
        for document in role_documents(deployed, "RotationFunctionRole")
        for statement in allow_statements(document)
        if any(str(r).startswith(master) for r in as_list(statement["Resource"]))
        for action in as_list(statement["Action"])
    }

    assert on_master == {"secretsmanager:GetSecretValue"}


def iam_allows(documents: list[dict[str, Any]], action: str, arn: str) -> bool:
    """True when an Allow statement covers ``action`` on ``arn`` (IAM's * and ? wildcards)."""
    return any(
        grants(statement, action) and fnmatch.fnmatchcase(arn, str(resource))
        for document in documents
        for statement in allow_statements(document)
        for resource in as_list(statement["Resource"])
    )


MASTER_NAME = "goal-mandala-prod-aurora-admin"
MASTER_FULL_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{MASTER_NAME}-XyZ123"


@pytest.mark.parametrize(
    "given",
    [MASTER_FULL_ARN, MASTER_FULL_ARN.removesuffix("-XyZ123")],
    ids=["full ARN", "ARN without the random suffix"],
)
def test_the_rotation_role_may_read_the_master_secret_however_its_arn_is_given(
    given: str,
) -> None:
    from tests.template.conftest import deploy

    # Given the master secret's ARN as the user wrote it in samconfig
    deployed = deploy("prod", DatabaseRotationStrategy="alternating-users", MasterSecretArn=given)
    documents = role_documents(deployed, "RotationFunctionRole")

    # Then IAM lets the rotation read the secret the ARN names (IAM compares the full ARN)
    assert iam_allows(documents, "secretsmanager:GetSecretValue", MASTER_FULL_ARN)
    # and no other secret of the account, nor any write to it
    other = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{MASTER_NAME}2-AbCdEf"
    assert not iam_allows(documents, "secretsmanager:GetSecretValue", other)
    assert not iam_allows(documents, "secretsmanager:PutSecretValue", MASTER_FULL_ARN)


def test_tag_discovery_and_list_secrets_go_together(deployed: Deployed) -> None:
    # ListSecrets has no resource type: granted only if the template turns discovery on
    variables = deployed.props("HealthCheckFunction")["Environment"]["Variables"]
    lists = any(
        grants(statement, "secretsmanager:ListSecrets")
        for document in role_documents(deployed, "HealthCheckFunctionRole")
        for statement in allow_statements(document)
    )

    assert lists is bool(variables.get("SECRET_TAG_KEY"))
