"""The login adapter against the real TLS MariaDB: SELECT 1, and its typed failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.integration.health_check.canary_support import Blackhole

from db_login import MySqlLogin
from harness.secret_checks import assert_no_secret_in
from secret_service.errors import DatabaseError, DatabaseTlsError, DatabaseUnreachableError
from secret_service.models import DatabaseCredentials

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DatabaseUser

    from harness.mariadb import MariaDBServer

pytestmark = pytest.mark.mariadb


def credentials(
    mariadb: MariaDBServer, user: DatabaseUser, **changes: object
) -> DatabaseCredentials:
    base = DatabaseCredentials(
        host=mariadb.host,
        port=mariadb.port,
        username=user.username,
        password=user.password,
        dbname=user.database,
    )
    return base.with_changes(**changes)


@pytest.fixture
def one_query_user(mariadb: MariaDBServer, db_user: DatabaseUser) -> DatabaseUser:
    """The application user, allowed one query an hour.

    PyMySQL's connect always sends one query (``SET NAMES``), so the login succeeds and
    the ``SELECT 1`` right after it is refused (MySQL 1226).
    """
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(
            "GRANT USAGE ON *.* TO %s@'%%' WITH MAX_QUERIES_PER_HOUR 1", (db_user.username,)
        )
        cur.execute("FLUSH USER_RESOURCES")
    return db_user


def server_counters(mariadb: MariaDBServer) -> dict[str, int]:
    """The server's count of TLS handshakes and SELECTs so far (global, all sessions)."""
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Ssl_accepts', 'Com_select')")
        return {str(name): int(value) for name, value in cur.fetchall()}


def test_a_login_runs_select_1_over_verified_tls(
    mariadb: MariaDBServer, db_user: DatabaseUser
) -> None:
    # Given the application user, who may only log in over TLS (REQUIRE SSL)
    login = MySqlLogin(ca_bundle_path=mariadb.ca_path, timeout_s=2)
    before = server_counters(mariadb)

    # When the canary's login runs
    login.login(credentials(mariadb, db_user), secret_id="app-dev-secret-database")

    # Then the server saw a TLS handshake and a SELECT beyond the counting sessions' own
    after = server_counters(mariadb)
    assert after["Ssl_accepts"] - before["Ssl_accepts"] >= 2  # the login's and this check's
    assert after["Com_select"] - before["Com_select"] >= 1


def test_a_query_refused_after_the_login_is_a_typed_database_error(
    mariadb: MariaDBServer, one_query_user: DatabaseUser
) -> None:
    login = MySqlLogin(ca_bundle_path=mariadb.ca_path, timeout_s=2)
    creds = credentials(mariadb, one_query_user)

    with pytest.raises(DatabaseError) as caught:
        login.login(creds, secret_id="app-dev-secret-database")

    assert type(caught.value) is DatabaseError  # refused by the server, not unreachable
    assert "after login" in str(caught.value)
    assert caught.value.code == "1226"
    assert caught.value.username == one_query_user.username
    assert_no_secret_in([str(caught.value)], secrets=[one_query_user.password])


def test_a_certificate_from_another_ca_is_a_tls_error(
    mariadb: MariaDBServer, db_user: DatabaseUser, tmp_path: Path
) -> None:
    from harness.mariadb import write_foreign_ca

    login = MySqlLogin(ca_bundle_path=write_foreign_ca(str(tmp_path / "ca.pem")), timeout_s=2)

    with pytest.raises(DatabaseTlsError):
        login.login(credentials(mariadb, db_user), secret_id="app-dev-secret-database")


def test_a_server_that_never_answers_is_unreachable_after_the_timeout(
    mariadb: MariaDBServer, db_user: DatabaseUser
) -> None:
    login = MySqlLogin(ca_bundle_path=mariadb.ca_path, timeout_s=0.2)
    with Blackhole() as hanging:
        creds = credentials(mariadb, db_user, port=hanging.port)

        with pytest.raises(DatabaseUnreachableError):
            login.login(creds, secret_id="app-dev-secret-database")
