"""database_connection against the real TLS MariaDB: a rotation never locks the app out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from tests.conftest import DatabaseUser
from tests.unit.secret_layer.logcheck import remember

from harness.mariadb import write_foreign_ca
from harness.secret_checks import assert_same_secret
from secret_service import DatabaseAuthError, DatabaseError, DatabaseTlsError, SecretService

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.logcheck import LineCapture

    from harness.mariadb import MariaDBServer

pytestmark = pytest.mark.mariadb

NEW_PASSWORD = "rotated-Passw0rd!layer-2"


def current_user(service: SecretService, secret_id: str) -> str:
    with service.database_connection(secret_id) as conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        row = cur.fetchone()
    assert row is not None
    return str(row[0])


@dataclass
class World:
    """The app's database secret in moto and the MariaDB it logs in to; rotation moves."""

    sm: SecretsManagerClient
    mariadb: MariaDBServer
    user: DatabaseUser
    secret_id: str = "app/db"

    def secret_for(self, user: DatabaseUser, password: str) -> str:
        remember(password)
        return json.dumps(
            {
                "engine": "mariadb",
                "host": self.mariadb.host,
                "port": self.mariadb.port,
                "username": user.username,
                "password": password,
                "dbname": user.database,
                "ssl": True,
            }
        )

    def set_password(self, user: DatabaseUser, password: str) -> None:
        with self.mariadb.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user.username, password))

    def move_current(self, user: DatabaseUser, password: str) -> None:
        """finishSecret: a new AWSCURRENT version holds this login."""
        self.sm.put_secret_value(
            SecretId=self.secret_id, SecretString=self.secret_for(user, password)
        )

    def open_rotation_window(self) -> str:
        """setSecret done, finishSecret not yet: AWSPENDING's password is the database's.

        Returns the AWSPENDING version id.
        """
        version_id = self.sm.put_secret_value(
            SecretId=self.secret_id,
            SecretString=self.secret_for(self.user, NEW_PASSWORD),
            VersionStages=["AWSPENDING"],
        )["VersionId"]
        self.set_password(self.user, NEW_PASSWORD)
        return version_id

    def logs_in_as(self, service: SecretService, user: DatabaseUser) -> bool:
        return current_user(service, self.secret_id).startswith(user.username + "@")


@pytest.fixture
def world(
    secretsmanager: SecretsManagerClient, mariadb: MariaDBServer, db_user: DatabaseUser
) -> World:
    created = World(secretsmanager, mariadb, db_user)
    secretsmanager.create_secret(
        Name=created.secret_id, SecretString=created.secret_for(db_user, db_user.password)
    )
    return created


@pytest.fixture
def db_secret(world: World) -> str:
    return world.secret_id


@pytest.fixture
def service(world: World) -> SecretService:
    """The app's service, warm: one connection made, the credentials cached."""
    warm = SecretService(world.sm, ca_bundle_path=world.mariadb.ca_path)
    assert world.logs_in_as(warm, world.user)
    return warm


def test_a_connection_uses_the_cached_credentials_over_verified_tls(
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    db_secret: str,
) -> None:
    service = SecretService(secretsmanager, ca_bundle_path=mariadb.ca_path)

    with service.database_connection(db_secret) as conn, conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        tls = cur.fetchone()
    current_user(service, db_secret)

    assert tls is not None
    assert tls[1].startswith("TLSv1.")
    assert service.stats().api_calls == 1  # two connections, one secret read


def test_pymysql_options_reach_the_connection(
    secretsmanager: SecretsManagerClient, mariadb: MariaDBServer, db_secret: str
) -> None:
    # Given the documented pass-through of PyMySQL's own options
    import pymysql.cursors

    service = SecretService(secretsmanager, ca_bundle_path=mariadb.ca_path)

    # When the app asks for dict rows
    with (
        service.database_connection(db_secret, cursorclass=pymysql.cursors.DictCursor) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT 1 AS one")
        row = cur.fetchone()

    # Then the option took effect (the unknown-option check did not refuse it)
    assert row == {"one": 1}


def test_a_password_rotated_underneath_the_cache_does_not_lock_the_app_out(
    world: World, service: SecretService, layer_logs: LineCapture
) -> None:
    # Given credentials cached by a first connection (service)
    # When the password changes in the database and in the secret (AWSCURRENT moves)
    world.set_password(world.user, NEW_PASSWORD)
    world.move_current(world.user, NEW_PASSWORD)

    # Then the next connection is refused once, refetches AWSCURRENT, and succeeds
    assert world.logs_in_as(service, world.user)
    assert service.stats().api_calls == 2
    assert_same_secret(
        service.get_database_credentials(world.secret_id).password, NEW_PASSWORD, what="password"
    )
    refused = [line for line in layer_logs.lines if "database login refused" in line]
    assert len(refused) == 1
    assert "'version_stage': 'AWSCURRENT'" in refused[0]


def test_inside_a_single_user_rotation_window_awspending_logs_in(
    world: World, service: SecretService
) -> None:
    # Given a rotation between setSecret and finishSecret: the database has the
    # AWSPENDING password while AWSCURRENT still holds the old one
    world.open_rotation_window()

    # When the app connects, Then it logs in with the pending password
    assert world.logs_in_as(service, world.user)


def test_a_password_wrong_everywhere_raises_the_auth_error_after_one_refetch(
    world: World,
) -> None:
    # Given the database password changed but the secret never updated
    service = SecretService(world.sm, ca_bundle_path=world.mariadb.ca_path)
    world.set_password(world.user, NEW_PASSWORD)

    # When the app connects
    with pytest.raises(DatabaseAuthError) as caught:
        current_user(service, world.secret_id)

    # Then it is an auth error naming the user, after one refetch (+ one AWSPENDING look)
    assert caught.value.username == world.user.username
    assert caught.value.code == "1045"
    assert world.user.password not in str(caught.value)
    assert service.stats().api_calls == 3


def test_the_ca_bundle_comes_from_rds_ca_bundle_read_at_first_use(
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    db_secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a service created before RDS_CA_BUNDLE is set
    service = SecretService(secretsmanager)
    monkeypatch.setenv("RDS_CA_BUNDLE", mariadb.ca_path)

    # When it first connects, the variable is read and the certificate verifies
    assert current_user(service, db_secret).startswith(db_user.username + "@")

    # And it is not read again: a later change has no effect on this service
    monkeypatch.setenv("RDS_CA_BUNDLE", "/nonexistent/ca.pem")
    assert current_user(service, db_secret).startswith(db_user.username + "@")


def test_a_blank_rds_ca_bundle_means_the_system_trust_store_not_a_path(
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    db_secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given RDS_CA_BUNDLE set to blanks (a template parameter left empty, say)
    monkeypatch.setenv("RDS_CA_BUNDLE", "  ")
    service = SecretService(secretsmanager)

    # When it connects, then the blank is unset: the system CAs, which did not sign the
    # throwaway server, refuse it; it is not "cannot load the CA bundle '  '"
    with pytest.raises(DatabaseTlsError) as caught:
        current_user(service, db_secret)
    assert "cannot load the CA bundle" not in str(caught.value)


def test_a_ca_that_did_not_sign_the_server_is_a_tls_error(
    secretsmanager: SecretsManagerClient, db_secret: str, tmp_path: Path
) -> None:
    service = SecretService(secretsmanager)
    foreign_ca = write_foreign_ca(str(tmp_path / "foreign-ca.pem"))

    with (
        pytest.raises(DatabaseTlsError),
        service.database_connection(db_secret, ca_bundle_path=foreign_ca),
    ):
        pass  # pragma: no cover - the connection is refused


def test_a_connection_closed_inside_the_block_is_not_closed_twice(
    secretsmanager: SecretsManagerClient, mariadb: MariaDBServer, db_secret: str
) -> None:
    service = SecretService(secretsmanager, ca_bundle_path=mariadb.ca_path)

    with service.database_connection(db_secret) as conn:
        conn.close()

    assert not conn.open


@pytest.fixture
def clone_user(mariadb: MariaDBServer, db_user: DatabaseUser) -> Iterator[DatabaseUser]:
    """The alternating-users partner of db_user (``<user>_clone``), on the same database."""
    clone = DatabaseUser(
        database=db_user.database,
        username=db_user.username + "_clone",
        password="clone-Passw0rd!initial-3",
    )
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE USER %s@'%%' IDENTIFIED BY %s REQUIRE SSL", (clone.username, clone.password)
        )
        cur.execute(f"GRANT ALL PRIVILEGES ON `{clone.database}`.* TO %s@'%%'", (clone.username,))
    yield clone
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (clone.username,))


def test_after_two_alternating_rotations_the_app_logs_in_as_the_current_user(
    world: World, service: SecretService, clone_user: DatabaseUser
) -> None:
    # Given the app's cached login is the user (AWSCURRENT two rotations ago)
    # When rotation 1 moves AWSCURRENT to the clone, and rotation 2 changes the
    # user's password and moves AWSCURRENT back to it, all unseen by the cache
    world.move_current(clone_user, clone_user.password)
    world.set_password(world.user, NEW_PASSWORD)
    world.move_current(world.user, NEW_PASSWORD)

    # Then the next connection is refused once and logs in with AWSCURRENT's new password
    assert world.logs_in_as(service, world.user)
    assert service.stats().api_calls == 2


def test_inside_an_alternating_rotation_window_the_app_moves_to_the_other_user(
    world: World, service: SecretService, clone_user: DatabaseUser
) -> None:
    # Given the app cached the user's login; AWSCURRENT has since moved to the clone
    world.move_current(clone_user, clone_user.password)

    # When the next rotation has changed the user's password (setSecret) but not yet
    # moved AWSCURRENT (finishSecret)
    world.open_rotation_window()

    # Then the refused login is retried as AWSCURRENT's user, the clone
    assert world.logs_in_as(service, clone_user)


def test_later_connections_in_a_single_user_window_reuse_the_login_that_worked(
    world: World, service: SecretService, layer_logs: LineCapture
) -> None:
    # Given a single-user rotation stuck between setSecret and finishSecret
    world.open_rotation_window()
    assert world.logs_in_as(service, world.user)  # refused once, then AWSPENDING logs in
    calls_after_recovery = service.stats().api_calls

    # When the app opens five more connections inside the window
    logins = [world.logs_in_as(service, world.user) for _ in range(5)]

    # Then each logs in at once: no refused login, no further API call
    assert logins == [True] * 5
    assert service.stats().api_calls == calls_after_recovery
    refused = [line for line in layer_logs.lines if "database login refused" in line]
    assert len(refused) == 1


def test_when_finish_secret_lands_the_pending_login_keeps_working(
    world: World, service: SecretService
) -> None:
    # Given the app recovered through AWSPENDING inside a single-user window
    pending_version = world.open_rotation_window()
    assert world.logs_in_as(service, world.user)

    # When finishSecret moves AWSCURRENT to the pending version and the cache refreshes
    stages = world.sm.describe_secret(SecretId=world.secret_id)["VersionIdsToStages"]
    current_version = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
    world.sm.update_secret_version_stage(
        SecretId=world.secret_id,
        VersionStage="AWSCURRENT",
        MoveToVersionId=pending_version,
        RemoveFromVersionId=current_version,
    )
    service.invalidate(world.secret_id)

    # Then connections log in with AWSCURRENT, which is now the new password
    assert world.logs_in_as(service, world.user)
    assert_same_secret(
        service.get_database_credentials(world.secret_id).password, NEW_PASSWORD, what="password"
    )


def test_when_a_stuck_rotation_is_rolled_back_the_app_returns_to_awscurrent(
    world: World, service: SecretService
) -> None:
    # Given the app logging in with AWSPENDING inside a stuck single-user window
    pending_version = world.open_rotation_window()
    assert world.logs_in_as(service, world.user)

    # When an operator rolls back: the database gets AWSCURRENT's password again and
    # the AWSPENDING label is removed
    world.set_password(world.user, world.user.password)
    world.sm.update_secret_version_stage(
        SecretId=world.secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=pending_version
    )

    # Then the refused pending login is dropped and AWSCURRENT logs in again
    assert world.logs_in_as(service, world.user)
    assert world.logs_in_as(service, world.user)


def test_a_dbname_the_user_may_not_use_is_named_not_blamed_on_the_password(
    world: World,
) -> None:
    # Given a secret whose login is right but whose dbname the user has no grant on
    world.sm.update_secret(
        SecretId=world.secret_id,
        SecretString=json.dumps(
            json.loads(world.secret_for(world.user, world.user.password))
            | {"dbname": "not_granted_db"}
        ),
    )
    service = SecretService(world.sm, ca_bundle_path=world.mariadb.ca_path)

    # When the app connects
    with pytest.raises(DatabaseAuthError) as caught:
        current_user(service, world.secret_id)

    # Then the error names the database and the grant to check, not the password
    assert caught.value.code == "1044"
    assert "'not_granted_db'" in str(caught.value)
    assert "dbname" in str(caught.value)
    assert "password" not in str(caught.value)


def test_an_unknown_dbname_is_a_database_error_naming_it(world: World) -> None:
    # Given the admin login (it may see every database) with a dbname that does not exist
    admin = world.mariadb
    remember(admin.admin_password)
    world.sm.update_secret(
        SecretId=world.secret_id,
        SecretString=json.dumps(
            {
                "host": admin.host,
                "port": admin.port,
                "username": admin.admin_user,
                "password": admin.admin_password,
                "dbname": "no_such_db",
            }
        ),
    )
    service = SecretService(world.sm, ca_bundle_path=admin.ca_path)

    # When the app connects, Then the error names the dbname to fix
    with pytest.raises(DatabaseError) as caught:
        current_user(service, world.secret_id)
    assert caught.value.code == "1049"
    assert "'no_such_db'" in str(caught.value)
    assert "dbname" in str(caught.value)
    assert admin.admin_password not in str(caught.value)


def test_a_locked_account_is_named_as_locked_not_blamed_on_the_password(world: World) -> None:
    # Given the application's account locked by an operator (ALTER USER ... ACCOUNT LOCK)
    service = SecretService(world.sm, ca_bundle_path=world.mariadb.ca_path)
    with world.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' ACCOUNT LOCK", (world.user.username,))
    try:
        # When the app connects
        with pytest.raises(DatabaseAuthError) as caught:
            current_user(service, world.secret_id)
    finally:
        with world.mariadb.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("ALTER USER %s@'%%' ACCOUNT UNLOCK", (world.user.username,))

    # Then the error says the account is locked and how to unlock it
    assert caught.value.code == "4151"
    assert "the account is locked" in str(caught.value)
    assert "ACCOUNT UNLOCK" in str(caught.value)
