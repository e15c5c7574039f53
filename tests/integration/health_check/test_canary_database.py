"""The canary's database login against the real TLS MariaDB, and what it never logs."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from tests.integration.health_check.canary_support import (
    Blackhole,
    emf_by_secret,
    scheduled_event,
    stdout_documents,
)

import canary_metrics as m
from harness.lambda_runtime import FakeLambdaContext
from harness.secret_checks import assert_no_secret_in

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.conftest import DatabaseUser

    from harness.mariadb import MariaDBServer

pytestmark = pytest.mark.mariadb

DB = "goal-mandala-dev-secret-database"
JWT = "goal-mandala-dev-secret-jwt"


def database_secret(mariadb: MariaDBServer, user: DatabaseUser, **changes: Any) -> str:
    doc = {
        "engine": "mysql",
        "host": mariadb.host,
        "port": mariadb.port,
        "username": user.username,
        "password": user.password,
        "dbname": user.database,
    }
    doc.update(changes)
    return json.dumps(doc)


def invoke(canary: ModuleType) -> dict[str, Any]:
    return canary.lambda_handler(scheduled_event(), FakeLambdaContext())  # type: ignore[no-any-return]


def test_the_database_secret_logs_in_over_tls(
    *,
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the database secret holds the user's current credentials
    secretsmanager.create_secret(Name=DB, SecretString=database_secret(mariadb, db_user))
    canary_env(DATABASE_SECRET_ID=DB, SECRET_IDS="", RDS_CA_BUNDLE=mariadb.ca_path)

    # When the canary runs
    summary = invoke(canary)

    # Then it logged in, and says so in the summary and the metrics
    (entry,) = summary["secrets"]
    assert entry["ok"] is True
    assert entry["database_login"]["ok"] is True
    assert entry["database_login"]["latency_ms"] > 0
    document = emf_by_secret(stdout_documents(capsys.readouterr().out)[0])[DB]
    assert document[m.DatabaseLoginSuccess] == [1.0]
    assert document[m.DatabaseLoginFailure] == [0.0]


def test_a_refused_login_fails_only_the_database_secret(
    *,
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the database secret's password no longer matches the database
    value = database_secret(mariadb, db_user, password="rotated-Elsewhere-9!")
    secretsmanager.create_secret(Name=DB, SecretString=value)
    secretsmanager.create_secret(Name=JWT, SecretString=json.dumps({"signingKey": "k" * 40}))
    canary_env(DATABASE_SECRET_ID=DB, SECRET_IDS=JWT, RDS_CA_BUNDLE=mariadb.ca_path)

    summary = invoke(canary)

    by_name = {entry["secret_name"]: entry for entry in summary["secrets"]}
    assert by_name[DB]["retrieval"]["ok"] is True  # readable, but no longer works
    assert by_name[DB]["ok"] is False
    assert by_name[DB]["error"] == "DatabaseAuthError"
    assert by_name[JWT]["ok"] is True
    documents = emf_by_secret(stdout_documents(capsys.readouterr().out)[0])
    assert documents[DB][m.DatabaseLoginFailure] == [1.0]
    assert documents[DB][m.RetrievalSuccess] == [1.0]
    assert m.DatabaseLoginFailure not in documents[JWT]


def test_a_database_that_accepts_and_never_answers_costs_one_timeout(
    *,
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
) -> None:
    # Given the database endpoint accepts connections and then hangs
    with Blackhole() as hanging:
        value = database_secret(mariadb, db_user, port=hanging.port)
        secretsmanager.create_secret(Name=DB, SecretString=value)
        secretsmanager.create_secret(Name=JWT, SecretString=json.dumps({"signingKey": "k" * 40}))
        canary_env(
            DATABASE_SECRET_ID=DB,
            SECRET_IDS=JWT,
            RDS_CA_BUNDLE=mariadb.ca_path,
            DB_CONNECT_TIMEOUT_S="0.3",
        )

        summary = invoke(canary)

    # Then the login times out as unreachable, the other secret is fine, and the run ends
    by_name = {entry["secret_name"]: entry for entry in summary["secrets"]}
    assert hanging.connections >= 1
    assert by_name[DB]["database_login"]["error"] == "DatabaseUnreachableError"
    assert by_name[JWT]["ok"] is True
    # (the run's deadline, 28 s away, was not needed: the 0.3 s timeout ended the login)
    assert summary["deadline_exceeded"] is False


def test_no_secret_value_appears_in_any_output_of_a_full_run(
    *,
    canary: ModuleType,
    canary_env: Callable[..., None],
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given every kind of secret, healthy and broken, each with a recognisable value
    values = {
        DB: database_secret(mariadb, db_user),
        "other-dev-secret-database": database_secret(
            mariadb, db_user, password="Wrong-Passw0rd-leakcheck"
        ),
        JWT: json.dumps({"signingKey": "jwt-signing-key-leakcheck-" + "x" * 20}),
        "goal-mandala-dev-secret-external-apis": json.dumps(
            {"provider": "stripe", "apiKey": "sk-live-leakcheck-123"}
        ),
        "broken-dev-secret-jwt": json.dumps({"signingKey": "short-leakcheck"}),
        "broken-dev-secret-external-apis": "not-json-leakcheck-value",
        "plain-dev-secret-token": "opaque-token-leakcheck",
    }
    for name, value in values.items():
        secretsmanager.create_secret(Name=name, SecretString=value)
    canary_env(
        DATABASE_SECRET_ID=DB,
        SECRET_IDS=",".join(name for name in values if name != DB),
        RDS_CA_BUNDLE=mariadb.ca_path,
    )
    caplog.set_level(logging.DEBUG, logger="secret_service")
    caplog.set_level(logging.INFO)

    # When the canary runs
    summary = invoke(canary)

    # Then no value, nor any part that is a secret, shows anywhere
    captured = capsys.readouterr()
    outputs = [captured.out, captured.err, caplog.text, json.dumps(summary)]
    secrets = [
        db_user.password,
        "Wrong-Passw0rd-leakcheck",
        "jwt-signing-key-leakcheck",
        "sk-live-leakcheck-123",
        "short-leakcheck",
        "not-json-leakcheck-value",
        "opaque-token-leakcheck",
        *values.values(),
    ]
    assert_no_secret_in(outputs, secrets=secrets)
    # And the run did exercise every path
    by_name = {entry["secret_name"]: entry for entry in summary["secrets"]}
    assert by_name[DB]["ok"] is True
    assert by_name["other-dev-secret-database"]["error"] == "DatabaseAuthError"
    assert by_name["broken-dev-secret-jwt"]["error"] == "SecretFormatError"
    assert by_name["broken-dev-secret-external-apis"]["error"] == "SecretFormatError"
    assert by_name["plain-dev-secret-token"]["ok"] is True
    assert len(stdout_documents(captured.out)[0]) == len(values)
