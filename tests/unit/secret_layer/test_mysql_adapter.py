"""The MySQL adapter's pieces that need no server: the TLS context and its errors."""

from __future__ import annotations

import ssl
import sys
from typing import TYPE_CHECKING

import pytest

from secret_service import (
    DatabaseAuthError,
    DatabaseCredentials,
    DatabaseTlsError,
    SecretConfigError,
)
from secret_service.mysql import _translate, connect, make_tls_context

if TYPE_CHECKING:
    from pathlib import Path


def test_the_tls_context_verifies_the_chain_and_the_host_name() -> None:
    context = make_tls_context(None)

    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("content", [None, "not a certificate"], ids=["missing", "not-pem"])
def test_an_unusable_ca_bundle_is_a_tls_error_naming_rds_ca_bundle(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)

    with pytest.raises(DatabaseTlsError, match="RDS_CA_BUNDLE") as caught:
        make_tls_context(str(path))

    assert str(path) in str(caught.value)
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("password", "comes from the secret"),
        ("host", "comes from the secret"),
        ("connect_timeout", "'connect_timeout_s'"),
        ("read_timeout", "'read_timeout_s'"),
        ("ssl_disabled", "TLS is verified"),
        ("ssl_verify_cert", "TLS is verified"),
        ("ssl", "TLS is verified"),
        ("autocomit", "not a PyMySQL connection option"),
        ("timeout", "not a PyMySQL connection option"),
    ],
)
def test_an_option_the_secret_or_the_tls_setup_decides_is_refused_before_connecting(
    option: str, says: str
) -> None:
    # Given credentials that want TLS, and an option that would override them
    credentials = DatabaseCredentials(
        host="db.example.internal", username="app", password="pw-Adapter-31x"
    )
    passed = "pw-Option-77q"

    # When / Then: a typed error naming the option (sockets are blocked: nothing connects)
    with pytest.raises(SecretConfigError, match=says) as caught:
        connect(credentials, **{option: passed})
    assert option in str(caught.value)
    assert passed not in str(caught.value)
    assert credentials.password not in str(caught.value)


def test_without_pymysql_installed_the_error_says_to_add_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a function packaged without PyMySQL (the layer does not ship it)
    monkeypatch.setitem(sys.modules, "pymysql", None)
    credentials = DatabaseCredentials(host="db.example.internal", username="app", password="pw")

    # When / Then: a typed error naming the fix, not a bare ModuleNotFoundError
    with pytest.raises(SecretConfigError, match="add pymysql to the function's requirements"):
        connect(credentials)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("connect_timeout_s", 0),
        ("connect_timeout_s", -1),
        ("connect_timeout_s", "3"),
        ("read_timeout_s", 0),
        ("read_timeout_s", float("nan")),
        ("read_timeout_s", True),
    ],
)
def test_a_bad_timeout_is_a_config_error_naming_it_before_connecting(
    option: str, value: object
) -> None:
    # Given credentials, and a timeout PyMySQL would refuse with its own words (or a TypeError)
    credentials = DatabaseCredentials(host="db.example.internal", username="app", password="pw")

    # When / Then: a typed error naming our option (sockets are blocked: nothing connects)
    with pytest.raises(SecretConfigError, match=f"^{option} must be a number"):
        connect(credentials, **{option: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (3118, "the account is locked"),  # MySQL's ACCOUNT LOCK (MariaDB's 4151 runs for real)
        (3955, "blocked after too many failed logins"),  # MySQL 8's FAILED_LOGIN_ATTEMPTS
    ],
)
def test_mysql_only_lock_codes_are_auth_errors_that_say_why(code: int, says: str) -> None:
    # Given the error MySQL 8 / Aurora MySQL 3 sends (no MySQL server here to send it)
    import pymysql

    refused = pymysql.err.OperationalError(code, "Access denied for user 'app'@'10.0.0.9'")

    # When it is translated, then it is an auth error naming the lock and how to lift it
    error = _translate(refused, dbname="app", host="db", port=3306, username="app", secret_id="s")
    assert isinstance(error, DatabaseAuthError)
    assert error.code == str(code)
    assert says in str(error)
    assert "ACCOUNT UNLOCK" in str(error)
