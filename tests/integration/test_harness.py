"""The real parts the suite stands on: MariaDB over verified TLS, and moto."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from typing import TYPE_CHECKING

import boto3
import pytest

from harness import lambda_runtime
from harness.lambda_runtime import FUNCTIONS_ROOT, load_handler
from harness.mariadb import MariaDBServer, free_port, write_foreign_ca
from harness.secret_checks import (
    assert_no_secret_in,
    assert_other_secret,
    assert_same_secret,
    hide_secret_values,
)
from secret_service import (
    DatabaseAuthError,
    DatabaseCredentials,
    DatabaseTlsError,
    DatabaseUnreachableError,
)
from secret_service.mysql import connect

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.conftest import DatabaseUser

    from harness.aws import MotoServer


def creds_for(mariadb: MariaDBServer, user: DatabaseUser, **changes: object) -> DatabaseCredentials:
    base = DatabaseCredentials(
        host=mariadb.host,
        port=mariadb.port,
        username=user.username,
        password=user.password,
        dbname=user.database,
    )
    return base.with_changes(**changes)


def test_round_trip_over_tls_with_certificate_verification(
    mariadb: MariaDBServer, db_user: DatabaseUser
) -> None:
    # Given a user that must use TLS, When it connects verifying the server's certificate
    conn = connect(creds_for(mariadb, db_user), ca_bundle_path=mariadb.ca_path)
    with conn, conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        tls_row = cur.fetchone()
        cur.execute("CREATE TABLE t (v INT)")
        cur.execute("INSERT INTO t VALUES (42)")
        cur.execute("SELECT v FROM t")
        value_row = cur.fetchone()

    # Then the session is encrypted and the data round-trips
    assert tls_row is not None
    assert tls_row[1].startswith("TLSv1.")
    assert value_row == (42,)


def test_a_wrong_ca_is_refused(
    mariadb: MariaDBServer, db_user: DatabaseUser, tmp_path: Path
) -> None:
    foreign_ca = write_foreign_ca(str(tmp_path / "other-ca.pem"))

    with pytest.raises(DatabaseTlsError) as caught:
        connect(creds_for(mariadb, db_user), ca_bundle_path=foreign_ca)

    assert "RDS_CA_BUNDLE" in str(caught.value)


def test_a_wrong_password_is_an_auth_error(mariadb: MariaDBServer, db_user: DatabaseUser) -> None:
    wrong = "not-the-password"
    with pytest.raises(DatabaseAuthError) as caught:
        connect(creds_for(mariadb, db_user, password=wrong), ca_bundle_path=mariadb.ca_path)

    assert caught.value.code == "1045"
    assert wrong not in str(caught.value)


def test_a_closed_port_is_unreachable_not_auth(
    mariadb: MariaDBServer, db_user: DatabaseUser
) -> None:
    with pytest.raises(DatabaseUnreachableError) as caught:
        connect(
            creds_for(mariadb, db_user, port=free_port()),
            ca_bundle_path=mariadb.ca_path,
            connect_timeout_s=2,
        )

    assert "security group" in str(caught.value)


def test_secrets_manager_round_trip_in_process(secretsmanager: SecretsManagerClient) -> None:
    arn = secretsmanager.create_secret(Name="app-dev-secret-demo", SecretString='{"a": 1}')["ARN"]

    value = secretsmanager.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")

    assert value["SecretString"] == '{"a": 1}'
    assert value["Name"] == "app-dev-secret-demo"


def test_secrets_manager_round_trip_over_http(moto_server: MotoServer) -> None:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_server.endpoint_url,
        region_name=os.environ["AWS_DEFAULT_REGION"],
    )
    name = "app-dev-secret-http"
    client.create_secret(Name=name, SecretString="s3cr3t-over-http")
    try:
        value = client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
        assert value["SecretString"] == "s3cr3t-over-http"
        assert client.meta.endpoint_url.startswith("http://127.0.0.1:")
    finally:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_a_non_latin1_password_logs_in(mariadb: MariaDBServer, db_user: DatabaseUser) -> None:
    # Given the user's password is changed to one with characters outside latin-1
    password = "pässwörd-日本語-🔑"
    with mariadb.admin_connection(charset="utf8mb4") as admin, admin.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (db_user.username, password))

    # When the connector logs in with it, Then the server accepts it
    conn = connect(creds_for(mariadb, db_user, password=password), ca_bundle_path=mariadb.ca_path)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        row = cur.fetchone()

    assert row is not None
    assert row[0].startswith(db_user.username + "@")


def test_the_throwaway_database_listens_on_loopback_only(mariadb: MariaDBServer) -> None:
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT @@bind_address")
        row = cur.fetchone()

    assert row is not None
    assert row[0] == "127.0.0.1"


def test_assert_same_secret_fails_without_quoting_either_value() -> None:
    # Given two different secret values
    actual, expected = "generated-pw-Zq81", "expected-pw-Kx42"

    # When they are compared, Then the failure names the field and quotes neither value
    with pytest.raises(AssertionError, match="password differs") as caught:
        assert_same_secret(actual, expected, what="password")
    assert actual not in str(caught.value)
    assert expected not in str(caught.value)
    assert_same_secret("same-pw-1", "same-pw-1", what="password")  # and equal passes


def test_assert_other_secret_fails_without_quoting_the_value() -> None:
    with pytest.raises(AssertionError, match="signingKey did not change") as caught:
        assert_other_secret("unchanged-key-Vb7", "unchanged-key-Vb7", what="signingKey")
    assert "unchanged-key-Vb7" not in str(caught.value)
    assert_other_secret("old-key-1", "new-key-2", what="signingKey")  # and different passes


def test_assert_no_secret_in_reports_the_text_with_the_value_masked() -> None:
    # Given a log line that carries a secret value
    line = 'INFO rotated {"password": "leaked-pw-Qm93"}'

    # When it is checked, Then the failure shows the line with the value masked
    with pytest.raises(AssertionError, match=r"1 text\(s\) hold a secret value") as caught:
        assert_no_secret_in([line, "clean line"], secrets={"leaked-pw-Qm93", ""})
    assert "leaked-pw-Qm93" not in str(caught.value)
    assert '"password": "***"' in str(caught.value)
    assert_no_secret_in(["clean line"], secrets={"leaked-pw-Qm93"})  # and clean text passes


def test_a_hidden_secret_is_the_string_but_never_shows_it() -> None:
    # Given a secret document read back with its values hidden
    doc = hide_secret_values({"username": "app", "password": "hidden-pw-Tr55", "port": 3306})

    # Then the value works as the string (equality, JSON, bytes) ...
    assert isinstance(doc["password"], str)
    assert json.loads(json.dumps(doc))["password"] == "hidden-pw-Tr55"
    assert doc["password"].encode() == b"hidden-pw-Tr55"
    # ... but no repr (what pytest prints for a failed assert) shows it
    assert "hidden-pw-Tr55" not in repr(doc)
    assert "hidden-pw-Tr55" not in f"{doc['password']!r}"
    assert repr(doc["username"]) == "'app'"


def test_load_handler_of_an_unknown_function_names_the_ones_there_are() -> None:
    # When a function folder that does not exist is asked for
    with pytest.raises(LookupError, match=r"no function 'rotaton'.*rotation") as caught:
        load_handler("rotaton")

    # Then nothing half-made is kept: the next call fails the same way, not with a stub
    assert "rotaton_app" not in sys.modules
    assert str(FUNCTIONS_ROOT / "rotaton") not in sys.path
    with pytest.raises(LookupError):
        load_handler("rotaton")
    assert "health_check" in str(caught.value)


def test_a_handler_that_fails_to_import_is_not_cached_half_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose app.py raises while it is imported
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "app.py").write_text("raise RuntimeError('import-time failure')\n")
    monkeypatch.setattr(lambda_runtime, "FUNCTIONS_ROOT", tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))

    # When it is loaded twice, Then both loads raise the import error
    for _ in range(2):
        with pytest.raises(RuntimeError, match="import-time failure"):
            load_handler("broken")
    assert "broken_app" not in sys.modules


def test_a_long_tmpdir_does_not_break_the_servers_socket_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a TMPDIR whose length alone would push the socket path past 107 bytes
    long_dir = tmp_path / ("t" * 60) / ("u" * 60)
    long_dir.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(long_dir))

    # When a throwaway server starts, then it answers, its socket in a short directory
    with MariaDBServer() as server:
        with server.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        assert len(server.socket_path) < 108
        assert not server.socket_path.startswith(str(long_dir))


def test_the_moto_server_holds_its_port_from_the_moment_it_is_known() -> None:
    # Given a moto server whose port is known (make local prints it) but not yet serving
    from harness.aws import MotoServer

    server = MotoServer()
    try:
        # When another program on this machine asks for that port, Then it cannot take it
        # (moto re-binding a released port would wait forever if another took it meanwhile)
        with socket.socket() as other, pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", server.port))
        # and the server starts and answers on it
        server.start()
        sts = boto3.client(
            "sts", endpoint_url=server.endpoint_url, region_name=os.environ["AWS_DEFAULT_REGION"]
        )
        assert sts.get_caller_identity()["Account"] == "123456789012"
    finally:
        server.stop()
