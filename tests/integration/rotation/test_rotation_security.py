"""Passwords with every punctuation character, names that need quoting, TLS, and logs
and metrics that never carry a secret."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import string
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from tests.integration.rotation.conftest import revoke_database

import rotation_metrics
from harness.lambda_runtime import FakeLambdaContext
from harness.mariadb import write_foreign_ca
from harness.rotation import begin_rotation, rotate, rotation_event, staging_labels
from harness.secret_checks import assert_no_secret_in, assert_other_secret, assert_same_secret
from mysql import mysql_native_password_hash
from rotation_config import DEFAULT_EXCLUDE_CHARACTERS
from rotation_errors import RotationEventError, RotationTestFailedError
from secret_service.errors import DatabaseTlsError

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

    from tests.integration.rotation.conftest import Rig, SecretUnderTest

    from harness.aws import MotoServer
    from harness.mariadb import MariaDBServer

pytestmark = pytest.mark.mariadb

ALLOWED_PUNCTUATION = "".join(c for c in string.punctuation if c not in DEFAULT_EXCLUDE_CHARACTERS)


class FixedPasswordStore:
    """The real Secrets Manager adapter, except GetRandomPassword returns ``password``."""

    def __init__(self, inner: Any, password: str) -> None:
        self._inner = inner
        self._password = password

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def random_password(self, **_: Any) -> str:
        return self._password


def _use_password(app: ModuleType, password: str) -> None:
    rt = app.runtime()
    app.install_runtime(dataclasses.replace(rt, store=FixedPasswordStore(rt.store, password)))


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Aa1" + ALLOWED_PUNCTUATION + "Zz9", id="every-allowed-punctuation"),
        pytest.param("Aa1" + string.punctuation + " Zz9", id="all-punctuation-and-space"),
        pytest.param("%s%%s%(x)s'; DROP USER root; --", id="format-and-sql-lookalikes"),
    ],
)
@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_passwords_with_any_punctuation_rotate_and_log_in(
    password: str, strategy: str, rig: Rig
) -> None:
    # Given a secret whose current password is itself full of punctuation
    secret = rig.make_db_secret(
        password=password[::-1],
        extra={"masterarn": rig.master_arn, "rotationStrategy": strategy},
    )
    _use_password(rig.app, password)

    # When the function rotates it to a password with the same characters
    rotate(rig.invoke, rig.sm, secret.arn)

    # Then the database accepts exactly the new password
    current = rig.doc(secret.arn)
    assert_same_secret(current["password"], password, what="AWSCURRENT's password")
    assert rig.logs_in(current["username"], password)
    assert not rig.logs_in(current["username"], password + "x")


def test_generated_passwords_avoid_the_excluded_characters(rig: Rig) -> None:
    secret = rig.make_db_secret()

    rotate(rig.invoke, rig.sm, secret.arn)

    password = rig.doc(secret.arn)["password"]
    assert not set(password) & set(DEFAULT_EXCLUDE_CHARACTERS)
    assert rig.logs_in(secret.username, password)


QUOTED_NAMES = ["app-dash", "o'brien", "tick`name", 'dq"name', "sp ace", "back\\slash", "pct%s"]


@pytest.mark.parametrize("base", QUOTED_NAMES)
@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_usernames_that_need_quoting_rotate(base: str, strategy: str, rig: Rig) -> None:
    username = f"{base}{uuid.uuid4().hex[:6]}"
    secret = rig.make_db_secret(
        username=username, extra={"masterarn": rig.master_arn, "rotationStrategy": strategy}
    )

    rotate(rig.invoke, rig.sm, secret.arn)
    rotate(rig.invoke, rig.sm, secret.arn)

    current = rig.doc(secret.arn)
    assert current["username"] == username  # two rotations: back to the first user
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert rig.stage_logs_in(secret.arn, "AWSPREVIOUS") is (strategy == "alternating-users")


# -- TLS ---------------------------------------------------------------------------------


def test_a_wrong_ca_bundle_is_refused_and_nothing_changes(
    rig: Rig, db_secret: SecretUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RDS_CA_BUNDLE", write_foreign_ca(str(tmp_path / "foreign-ca.pem")))
    rig.app.install_runtime(None)
    token = begin_rotation(rig.sm, db_secret.arn)
    rig.invoke(rotation_event(db_secret.arn, token, "createSecret"))

    with pytest.raises(DatabaseTlsError) as caught:
        rig.invoke(rotation_event(db_secret.arn, token, "setSecret"))

    assert "RDS_CA_BUNDLE" in str(caught.value)
    assert rig.logs_in(db_secret.username, db_secret.password)
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]


def test_ssl_false_in_the_secret_connects_in_plaintext_with_a_warning(
    rig: Rig, mariadb: MariaDBServer, caplog: pytest.LogCaptureFixture
) -> None:
    username = f"plain_{uuid.uuid4().hex[:8]}"
    database = f"plaindb_{uuid.uuid4().hex[:8]}"
    mariadb.create_database_user(
        database=database, username=username, password="plain-Passw0rd", require_ssl=False
    )
    try:
        doc = {"host": mariadb.host, "port": mariadb.port, "username": username,
               "password": "plain-Passw0rd", "dbname": database, "ssl": False}  # fmt: skip
        arn = rig.sm.create_secret(Name="app-test-plain", SecretString=json.dumps(doc))["ARN"]

        with caplog.at_level(logging.WARNING):
            rotate(rig.invoke, rig.sm, arn)

        assert rig.logs_in(username, rig.doc(arn)["password"])
        assert "TLS disabled" in caplog.text
    finally:
        mariadb.drop_database_user(database=database, username=username)


# -- logs and metrics ------------------------------------------------------------------


def _all_output(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err + caplog.text


def test_no_secret_value_appears_in_any_log_line_or_error(
    rig: Rig, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[str] = []
    # Given every strategy, and a rotation that will roll back
    single = rig.make_db_secret()
    alternating = rig.alternating_secret()
    jwt = rig.sm.create_secret(
        Name="app-test-secret-jwt",
        SecretString=json.dumps({"signingKey": "J" * 64, "rotationStrategy": "random-key"}),
    )["ARN"]
    rolled = rig.make_db_secret()
    capsys.readouterr()  # the test's own setup is not the function's output
    caplog.clear()
    caplog.set_level(logging.DEBUG)  # even with every logger at DEBUG

    # When they all rotate (twice for the pair), and one test step fails
    for arn in (single.arn, alternating.arn, alternating.arn, jwt):
        rotate(rig.invoke, rig.sm, arn)
    token = begin_rotation(rig.sm, rolled.arn)
    for step in ("createSecret", "setSecret"):
        rig.invoke(rotation_event(rolled.arn, token, step))
    revoke_database(rig.mariadb, rolled)
    with pytest.raises(RotationTestFailedError) as caught:
        rig.invoke(rotation_event(rolled.arn, token, "testSecret"))
    errors.append(str(caught.value))
    errors.append(repr(caught.value.__cause__))

    # Then no password, signing key or password hash appears anywhere
    secrets = {rig.mariadb.admin_password, "J" * 64}
    for arn in (single.arn, alternating.arn, jwt, rolled.arn):
        for version in rig.sm.list_secret_version_ids(SecretId=arn)["Versions"]:
            value = rig.sm.get_secret_value(SecretId=arn, VersionId=version["VersionId"])
            doc = json.loads(value["SecretString"])
            secrets.update(v for k, v in doc.items() if k in ("password", "signingKey"))
    secrets |= {mysql_native_password_hash(s) for s in set(secrets)}
    assert len(secrets) >= 14
    text = _all_output(capsys, caplog) + "\n".join(errors)
    assert "rotation step done" in text  # the capture did see the logs
    assert_no_secret_in([text], secrets=secrets)


def test_metrics_use_the_contract_names_units_and_dimensions(
    rig: Rig, db_secret: SecretUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    rotate(rig.invoke, rig.sm, db_secret.arn)

    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()
                 if line.startswith('{"_aws"')]  # fmt: skip
    assert len(documents) == 4  # one per step
    seen: set[str] = set()
    for doc in documents:
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "SecretsGuardTest"
        assert directive["Dimensions"] == [list(rotation_metrics.DIMENSIONS)]
        assert doc["Environment"] == "test"
        assert doc["SecretName"] == db_secret.name
        for metric in directive["Metrics"]:
            assert rotation_metrics.METRIC_UNITS[metric["Name"]] == metric["Unit"]
            seen.add(metric["Name"])
    assert seen == {rotation_metrics.RotationStepDuration, rotation_metrics.RotationSucceeded}


def test_a_failed_step_emits_rotation_failed(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RotationEventError, match="SecretId"):
        rig.invoke({"Step": "createSecret"})

    out = capsys.readouterr().out
    assert '"RotationFailed":[1.0]' in out
    assert '"SecretName":"unknown"' in out


# -- over HTTP, through SECRETS_MANAGER_ENDPOINT ---------------------------------------


def test_rotation_through_a_secrets_manager_endpoint_over_http(
    rotation_app: ModuleType,
    moto_server: MotoServer,
    mariadb: MariaDBServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the function pointed at an endpoint (a VPC endpoint in AWS; moto over HTTP here)
    monkeypatch.setenv("SECRETS_MANAGER_ENDPOINT", moto_server.endpoint_url)
    rotation_app.install_runtime(None)
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_server.endpoint_url,
        region_name=os.environ["AWS_DEFAULT_REGION"],
    )
    username, database = f"http_{uuid.uuid4().hex[:8]}", f"httpdb_{uuid.uuid4().hex[:8]}"
    mariadb.create_database_user(database=database, username=username, password="http-Passw0rd")
    name = f"app-test-secret-http-{uuid.uuid4().hex[:6]}"
    doc = {"host": mariadb.host, "port": mariadb.port, "username": username,
           "password": "http-Passw0rd", "dbname": database}  # fmt: skip
    arn = client.create_secret(Name=name, SecretString=json.dumps(doc))["ARN"]
    try:
        # When Secrets Manager drives the rotation
        rotate(lambda e: rotation_app.lambda_handler(e, FakeLambdaContext()), client, arn)

        # Then the function's client used the endpoint, and the rotation completed
        assert rotation_app.runtime().store.client.meta.endpoint_url == moto_server.endpoint_url
        new = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])  # default version
        assert_other_secret(new["password"], "http-Passw0rd", what="the password")
        with mariadb.connect(username, new["password"]):
            pass
    finally:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        mariadb.drop_database_user(database=database, username=username)


ROTATION_LOG_MESSAGES = {
    "pending version created",
    "database password changed",
    "alternate user synchronised",
    "alternate user left unused",
    "AWSCURRENT moved",
    "step had nothing to do",
    "version already AWSCURRENT",
    "database password restored",
    "rotation rolled back",
    "rotation step done",
}


def test_every_log_line_is_a_fixed_event_with_context_keys_and_no_raw_event(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given every strategy, a step delivered again after the rotation, and a rollback
    single, alternating = rig.make_db_secret(), rig.alternating_secret()
    jwt = rig.sm.create_secret(
        Name="app-test-secret-jwt-logs",
        SecretString=json.dumps({"signingKey": "L" * 64, "rotationStrategy": "random-key"}),
    )["ARN"]
    capsys.readouterr()
    invoked: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> None:
        invoked.append(event)
        rig.invoke(event)

    token = rotate(invoke, rig.sm, single.arn)
    invoke(rotation_event(single.arn, token, "finishSecret"))  # already AWSCURRENT
    rotate(invoke, rig.sm, alternating.arn)
    rotate(invoke, rig.sm, jwt)
    rolled = begin_rotation(rig.sm, single.arn)
    invoke(rotation_event(single.arn, rolled, "createSecret"))
    invoke(rotation_event(single.arn, rolled, "setSecret"))
    revoke_database(rig.mariadb, single)
    with pytest.raises(RotationTestFailedError):
        invoke(rotation_event(single.arn, rolled, "testSecret"))

    # Then every line the function printed is JSON: an EMF document or a fixed log event
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    logs = [json.loads(line) for line in lines if not line.startswith('{"_aws"')]
    assert {log["message"] for log in logs} == ROTATION_LOG_MESSAGES - {
        "alternate user left unused"  # only when a first alternating rotation rolls back
    }
    for log in logs:
        assert {"secret_id", "step", "version_id", "function_request_id"} <= log.keys()
        assert log["step"] in ROTATION_STEPS_SET
        assert not {"event", "password", "SecretString", "signingKey"} & log.keys()
    # And no invocation event was logged whole
    text = "\n".join(lines)
    for event in invoked:
        assert json.dumps(event) not in text
        assert repr(event) not in text


ROTATION_STEPS_SET = {"createSecret", "setSecret", "testSecret", "finishSecret"}
