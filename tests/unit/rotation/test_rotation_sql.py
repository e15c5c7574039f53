"""The SQL building blocks of the MySQL/MariaDB adapter (pure functions)."""

from __future__ import annotations

import pytest

from mysql import (
    ServerInfo,
    account_options,
    mysql_native_password_hash,
    normalize_grants,
    parse_require,
    parse_server_version,
    password_change_sql,
    quote_identifier,
    rename_grant,
)
from rotation_errors import RotationDatabaseError
from rotation_model import Account

APP = Account(user="app", host="%")
CLONE = Account(user="app_clone", host="%")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("10.11.6-MariaDB-0+deb12u1", ServerInfo("mariadb", (10, 11, 6))),
        ("11.4.2-MariaDB", ServerInfo("mariadb", (11, 4, 2))),
        ("8.0.36", ServerInfo("mysql", (8, 0, 36))),
        ("8.0.mysql_aurora.3.05.2", ServerInfo("mysql", (8, 0, 23))),
        ("5.7.mysql_aurora.2.11.2", ServerInfo("mysql", (5, 7, 0))),
        ("5.7.12-log", ServerInfo("mysql", (5, 7, 12))),
        ("", ServerInfo("mysql", (0, 0, 0))),
    ],
)
def test_server_versions_are_detected(version: str, expected: ServerInfo) -> None:
    assert parse_server_version(version) == expected


@pytest.mark.parametrize(
    ("server", "own", "sql"),
    [
        (ServerInfo("mysql", (8, 0, 36)), True, "ALTER USER %s@%s IDENTIFIED BY %s REPLACE %s"),
        (ServerInfo("mysql", (8, 0, 12)), True, "ALTER USER %s@%s IDENTIFIED BY %s"),
        (ServerInfo("mysql", (8, 0, 36)), False, "ALTER USER %s@%s IDENTIFIED BY %s"),
        (ServerInfo("mariadb", (10, 11, 6)), True, "SET PASSWORD = %s"),
        (ServerInfo("mariadb", (10, 11, 6)), False, "ALTER USER %s@%s IDENTIFIED BY %s"),
    ],
)
def test_the_password_statement_fits_the_server(server: ServerInfo, own: bool, sql: str) -> None:
    statement = password_change_sql(server, own_account=own)

    assert statement == sql
    assert "PASSWORD(" not in statement


def test_the_native_password_hash_matches_the_servers() -> None:
    # SELECT PASSWORD('password') on MariaDB / MySQL 5.7
    assert mysql_native_password_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("app", "`app`"), ("ti`ck", "`ti``ck`"), ("o'brien", "`o'brien`"), ("%", "`%`")],
)
def test_identifiers_are_quoted_as_show_grants_prints_them(name: str, quoted: str) -> None:
    assert quote_identifier(name) == quoted


def test_a_mariadb_usage_line_loses_its_credentials_and_require() -> None:
    line = "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*ABCDEF' REQUIRE SSL"

    assert rename_grant(line, APP, CLONE) == "GRANT USAGE ON *.* TO `app_clone`@`%`"


def test_a_database_grant_is_renamed_and_keeps_grant_option() -> None:
    line = "GRANT SELECT, INSERT ON `appdb`.* TO `app`@`%` WITH GRANT OPTION"

    assert rename_grant(line, APP, CLONE) == (
        "GRANT SELECT, INSERT ON `appdb`.* TO `app_clone`@`%` WITH GRANT OPTION"
    )


def test_a_role_and_default_role_line_are_renamed() -> None:
    assert rename_grant("GRANT `reader` TO `app`@`%`", APP, CLONE) == (
        "GRANT `reader` TO `app_clone`@`%`"
    )
    assert rename_grant("SET DEFAULT ROLE `reader` FOR `app`@`%`", APP, CLONE) == (
        "SET DEFAULT ROLE `reader` FOR `app_clone`@`%`"
    )


def test_a_grantee_with_backticks_is_found() -> None:
    source = Account(user="ti`ck", host="%")
    line = "GRANT SELECT ON `db`.* TO `ti``ck`@`%`"

    assert rename_grant(line, source, Account("ti`ck_clone", "%")) == (
        "GRANT SELECT ON `db`.* TO `ti``ck_clone`@`%`"
    )


def test_a_line_for_another_grantee_is_refused() -> None:
    with pytest.raises(RotationDatabaseError, match="cannot find the grantee"):
        rename_grant("GRANT SELECT ON `db`.* TO `other`@`%`", APP, CLONE)


def test_normalized_grants_compare_equal_across_users() -> None:
    app = [
        "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*AAA' REQUIRE SSL",
        "GRANT ALL PRIVILEGES ON `db`.* TO `app`@`%`",
    ]
    clone = [
        "GRANT ALL PRIVILEGES ON `db`.* TO `app_clone`@`%`",
        "GRANT USAGE ON *.* TO `app_clone`@`%` IDENTIFIED BY PASSWORD '*BBB'",
    ]

    assert normalize_grants(app, APP) == normalize_grants(clone, CLONE)
    assert normalize_grants(app, APP) == ("GRANT ALL PRIVILEGES ON `db`.* TO <grantee>",)


@pytest.mark.parametrize(
    ("statement", "require"),
    [
        ("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*X' REQUIRE SSL", "SSL"),
        (
            "CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 'x' REQUIRE NONE "
            "PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK",
            "NONE",
        ),
        ("CREATE USER `a`@`%` REQUIRE X509", "X509"),
        ("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*X'", "NONE"),
    ],
)
def test_the_require_clause_is_read(statement: str, require: str) -> None:
    assert parse_require(statement) == require


def test_an_issuer_require_clause_is_refused() -> None:
    with pytest.raises(RotationDatabaseError, match="ISSUER"):
        parse_require("CREATE USER `a`@`%` REQUIRE ISSUER '/CN=x'")


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE USER `a`@`%` REQUIRE ISSUER '/CN=i' SUBJECT '/CN=a''b' CIPHER 'X' WITH "
        "MAX_QUERIES_PER_HOUR 5 ACCOUNT LOCK",  # MariaDB
        "CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' REQUIRE SUBJECT '/CN=a''b' "
        "AND CIPHER 'X' AND ISSUER '/CN=i' PASSWORD EXPIRE DEFAULT",  # MySQL
    ],
)
def test_a_clause_that_cannot_be_copied_is_still_read_for_comparison(statement: str) -> None:
    require = parse_require(statement, copyable_only=False)

    assert require == "CIPHER 'X' AND ISSUER '/CN=i' AND SUBJECT '/CN=a''b'"


MYSQL = ServerInfo("mysql", (8, 0, 36))
MARIADB = ServerInfo("mariadb", (10, 11, 6))


def test_account_options_name_every_limit_so_stale_ones_are_cleared() -> None:
    statement = (
        "CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 'x' REQUIRE SSL WITH "
        "MAX_USER_CONNECTIONS 7 PASSWORD EXPIRE INTERVAL 90 DAY ACCOUNT UNLOCK"
    )

    assert account_options(statement, MYSQL) == (
        "WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 "
        "MAX_USER_CONNECTIONS 7",
        "PASSWORD EXPIRE INTERVAL 90 DAY",
    )


def test_account_options_default_and_ignore_quoted_text() -> None:
    statement = (
        "CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*X' "
        "REQUIRE SUBJECT '/CN=x WITH MAX_USER_CONNECTIONS 9 PASSWORD EXPIRE NEVER'"
    )

    limits, lifetime = account_options(statement, MARIADB)

    assert limits.endswith("MAX_USER_CONNECTIONS 0 MAX_STATEMENT_TIME 0")
    assert lifetime == "PASSWORD EXPIRE DEFAULT"
