"""A full rotation per strategy, the application's logins checked at every stage."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from tests.integration.rotation.conftest import (
    grants_of,
    logs_in,
    require_of,
    secret_doc,
    stage_logs_in,
    start,
)

from harness.rotation import ROTATION_STEPS, rotate, staging_labels
from harness.secret_checks import HiddenSecret, assert_other_secret, assert_same_secret

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.integration.rotation.conftest import Rig, SecretUnderTest

    from harness.mariadb import MariaDBServer


pytestmark = pytest.mark.mariadb


def test_single_user_rotation_changes_the_password_and_keeps_the_app_logged_in(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    db_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    # Given a single-user secret whose password logs in
    seen: dict[str, tuple[bool, bool]] = {}

    def check(step: str) -> None:
        pending = secret_doc(secretsmanager, db_secret.arn, "AWSCURRENT")
        seen[step] = (
            stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT"),
            logs_in(mariadb, db_secret.username, db_secret.password),
        )
        assert pending["username"] == db_secret.username

    # When Secrets Manager runs the four steps
    token = rotate(invoke, secretsmanager, db_secret.arn, after_step=check)

    # Then AWSCURRENT logs in at every stage except between setSecret and finishSecret,
    # where the database already holds AWSPENDING's password (single-user's known window)
    assert seen == {
        "createSecret": (True, True),
        "setSecret": (False, False),
        "testSecret": (False, False),
        "finishSecret": (True, False),
    }
    current = secret_doc(secretsmanager, db_secret.arn)
    assert_other_secret(current["password"], db_secret.password, what="the password")
    assert len(current["password"]) == 32
    assert staging_labels(secretsmanager, db_secret.arn)[token] == ["AWSCURRENT"]
    previous = secret_doc(secretsmanager, db_secret.arn, "AWSPREVIOUS")["password"]
    assert_same_secret(previous, db_secret.password, what="AWSPREVIOUS's password")


def test_single_user_between_set_and_finish_the_pending_password_logs_in(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    db_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    token, event = start(secretsmanager, db_secret.arn)

    invoke(event("createSecret"))
    invoke(event("setSecret"))

    pending = secret_doc(secretsmanager, db_secret.arn, "AWSPENDING")
    assert logs_in(mariadb, pending["username"], pending["password"])
    assert staging_labels(secretsmanager, db_secret.arn)[token] == ["AWSPENDING"]


def test_rotation_keeps_the_secret_shape_and_unknown_keys(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    db_secret: SecretUnderTest,
) -> None:
    before = secret_doc(secretsmanager, db_secret.arn)

    rotate(invoke, secretsmanager, db_secret.arn)

    after = secret_doc(secretsmanager, db_secret.arn)
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k != "password"} == {
        k: v for k, v in before.items() if k != "password"
    }


@pytest.mark.parametrize("step", ROTATION_STEPS)
def test_every_step_run_twice_is_idempotent(
    step: str,
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    db_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    # Given a rotation in which one step is delivered twice
    token, event = start(secretsmanager, db_secret.arn)
    snapshots = []
    for name in ROTATION_STEPS:
        invoke(event(name))
        if name == step:
            snapshots.append(_state(secretsmanager, db_secret.arn))
            invoke(event(name))
            snapshots.append(_state(secretsmanager, db_secret.arn))

    # Then the second delivery changed nothing, and the rotation completed
    assert snapshots[0] == snapshots[1]
    assert staging_labels(secretsmanager, db_secret.arn)[token] == ["AWSCURRENT"]
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")


def _state(client: SecretsManagerClient, arn: str) -> tuple[Any, ...]:
    labels = staging_labels(client, arn)
    values = []
    for stage in ("AWSCURRENT", "AWSPENDING"):
        try:
            value = client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]
            values.append(HiddenSecret(value))  # a failed compare shows digests, not passwords
        except client.exceptions.ResourceNotFoundException:
            values.append(None)
    return json.dumps(labels, sort_keys=True), tuple(values)


def test_a_second_rotation_rotates_again(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    db_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    rotate(invoke, secretsmanager, db_secret.arn)
    first = secret_doc(secretsmanager, db_secret.arn)["password"]

    rotate(invoke, secretsmanager, db_secret.arn)

    second = secret_doc(secretsmanager, db_secret.arn)["password"]
    assert_other_secret(second, first, what="the second rotation's password")
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")
    previous = secret_doc(secretsmanager, db_secret.arn, "AWSPREVIOUS")["password"]
    assert_same_secret(previous, first, what="AWSPREVIOUS's password")


# -- alternating users ------------------------------------------------------------------


@pytest.fixture
def alternating_secret(
    make_db_secret: Callable[..., SecretUnderTest], master_secret: str
) -> SecretUnderTest:
    return make_db_secret(
        extra={"masterarn": master_secret, "rotationStrategy": "alternating-users"}
    )


def test_alternating_users_creates_the_clone_with_the_same_grants_and_require_ssl(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    alternating_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    # Given app (REQUIRE SSL, ALL on its database) and no app_clone yet
    clone = alternating_secret.username + "_clone"
    seen: dict[str, tuple[bool, bool]] = {}

    def check(step: str) -> None:
        seen[step] = (
            stage_logs_in(mariadb, secretsmanager, alternating_secret.arn, "AWSCURRENT"),
            logs_in(mariadb, alternating_secret.username, alternating_secret.password),
        )

    # When the alternating-users rotation runs
    token = rotate(invoke, secretsmanager, alternating_secret.arn, after_step=check)

    # Then AWSCURRENT and the old credentials log in at every stage: zero downtime
    assert seen == dict.fromkeys(ROTATION_STEPS, (True, True))
    current = secret_doc(secretsmanager, alternating_secret.arn)
    assert current["username"] == clone
    assert staging_labels(secretsmanager, alternating_secret.arn)[token] == ["AWSCURRENT"]
    assert grants_of(mariadb, clone) == grants_of(mariadb, alternating_secret.username)
    assert require_of(mariadb, clone) == "SSL"
    assert stage_logs_in(mariadb, secretsmanager, alternating_secret.arn, "AWSPREVIOUS")


def test_alternating_users_swaps_back_and_the_previous_user_keeps_working(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    alternating_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    rotate(invoke, secretsmanager, alternating_secret.arn)
    clone_doc = secret_doc(secretsmanager, alternating_secret.arn)

    rotate(invoke, secretsmanager, alternating_secret.arn)

    current = secret_doc(secretsmanager, alternating_secret.arn)
    assert current["username"] == alternating_secret.username
    assert_other_secret(current["password"], alternating_secret.password, what="the password")
    assert stage_logs_in(mariadb, secretsmanager, alternating_secret.arn, "AWSCURRENT")
    assert logs_in(mariadb, clone_doc["username"], clone_doc["password"])  # AWSPREVIOUS


def test_alternating_users_copies_a_grant_added_to_the_source_later(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    alternating_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    # Given a rotated pair, then a new privilege for app_clone (now AWSCURRENT's user)
    rotate(invoke, secretsmanager, alternating_secret.arn)
    clone = alternating_secret.username + "_clone"
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("GRANT PROCESS ON *.* TO %s@'%%'", (clone,))

    # When the next rotation makes app the user again
    rotate(invoke, secretsmanager, alternating_secret.arn)

    # Then app has the privilege too, and grants that app_clone lacks were not kept
    assert grants_of(mariadb, alternating_secret.username) == grants_of(mariadb, clone)


# -- random key -------------------------------------------------------------------------


@pytest.fixture
def jwt_secret(secretsmanager: SecretsManagerClient) -> str:
    doc = {
        "signingKey": "k" * 64,
        "algorithm": "HS256",
        "issuer": "https://app.example.test",
        "expiresInSeconds": 900,
        "rotationStrategy": "random-key",
    }
    return secretsmanager.create_secret(Name="app-test-secret-jwt", SecretString=json.dumps(doc))[
        "ARN"
    ]


def test_random_key_rotation_makes_a_new_64_character_key_in_the_same_shape(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    jwt_secret: str,
) -> None:
    before = secret_doc(secretsmanager, jwt_secret)

    token = rotate(invoke, secretsmanager, jwt_secret)

    after = secret_doc(secretsmanager, jwt_secret)
    assert len(after["signingKey"]) == 64
    assert after["signingKey"].isalnum()
    assert_other_secret(after["signingKey"], before["signingKey"], what="signingKey")
    assert {k: v for k, v in after.items() if k != "signingKey"} == {
        k: v for k, v in before.items() if k != "signingKey"
    }
    assert staging_labels(secretsmanager, jwt_secret)[token] == ["AWSCURRENT"]


def test_random_key_strategy_from_the_environment(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROTATION_STRATEGY", "random-key")
    doc = {"signingKey": "s" * 64, "algorithm": "HS512", "issuer": "x", "expiresInSeconds": 60}
    arn = secretsmanager.create_secret(Name="app-test-secret-jwt2", SecretString=json.dumps(doc))[
        "ARN"
    ]

    rotate(invoke, secretsmanager, arn)

    assert_other_secret(secret_doc(secretsmanager, arn)["signingKey"], "s" * 64, what="signingKey")
    assert secret_doc(secretsmanager, arn)["algorithm"] == "HS512"


@pytest.mark.parametrize("step", ROTATION_STEPS)
@pytest.mark.parametrize("strategy", ["alternating-users", "random-key"])
def test_every_step_run_twice_is_idempotent_for_the_other_strategies(
    strategy: str, step: str, rig: Rig
) -> None:
    # Given a rotation of that strategy in which one step is delivered twice
    if strategy == "random-key":
        doc = {"signingKey": "t" * 64, "rotationStrategy": "random-key"}
        arn = rig.sm.create_secret(Name="app-test-twice", SecretString=json.dumps(doc))["ARN"]
    else:
        arn = rig.alternating_secret().arn
    token, event = start(rig.sm, arn)
    snapshots = []
    for name in ROTATION_STEPS:
        rig.invoke(event(name))
        if name == step:
            snapshots.append(_state(rig.sm, arn))
            rig.invoke(event(name))
            snapshots.append(_state(rig.sm, arn))

    # Then the second delivery changed nothing in Secrets Manager, and the rotation completed
    assert snapshots[0] == snapshots[1]
    assert staging_labels(rig.sm, arn)[token] == ["AWSCURRENT"]
    if strategy == "alternating-users":
        assert rig.stage_logs_in(arn, "AWSCURRENT")
        assert rig.stage_logs_in(arn, "AWSPREVIOUS")
