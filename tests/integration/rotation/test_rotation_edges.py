"""Edges a new user hits: a stale clone user, an unreadable master secret, the exact JSON
shape, the single-user window seen by the application's layer, the JWT previous key."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from tests.integration.rotation.conftest import (
    grants_of,
    logs_in,
    require_of,
    revoke_database,
    start,
)
from tests.integration.rotation.test_rotation_recovery import InjectedCrash, crash_after_call

from harness.rotation import (
    ROTATION_STEPS,
    begin_rotation,
    rotate,
    rotation_event,
    staging_labels,
)
from harness.secret_checks import assert_no_secret_in
from rotation_errors import (
    RotationDatabaseError,
    RotationSecretsManagerError,
    RotationStateError,
    RotationTestFailedError,
)
from secret_service import SecretService
from secret_service.errors import DatabaseAuthError, SecretFormatError, SecretNotFoundError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.rotation.conftest import Rig, SecretUnderTest

    from harness.mariadb import MariaDBServer

pytestmark = pytest.mark.mariadb


# -- alternating users: the clone already exists -----------------------------------------


@pytest.fixture
def stale_role(mariadb: MariaDBServer) -> Iterator[str]:
    role = f"stale_role_{uuid.uuid4().hex[:8]}"
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE `{role}`")
        cur.execute(f"GRANT SELECT ON mysql.* TO `{role}`")
    yield role
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"DROP ROLE IF EXISTS `{role}`")


STALE_CLONES = {
    "an extra global privilege": ["GRANT PROCESS ON *.* TO %(clone)s"],
    "an extra database privilege": ["GRANT SELECT ON mysql.* TO %(clone)s"],
    "a role and a default role": [
        "GRANT `%(role)s` TO %(clone)s",
        "SET DEFAULT ROLE `%(role)s` FOR %(clone)s",
    ],
    "no REQUIRE SSL": ["ALTER USER %(clone)s REQUIRE NONE"],
    "a locked account": ["ALTER USER %(clone)s ACCOUNT LOCK"],
    "a connection limit": ["ALTER USER %(clone)s WITH MAX_USER_CONNECTIONS 5"],
    "a one-day password lifetime": ["ALTER USER %(clone)s PASSWORD EXPIRE INTERVAL 1 DAY"],
}


def account_options_of(mariadb: MariaDBServer, username: str) -> str:
    """SHOW CREATE USER of ``username``@'%' past its credentials: REQUIRE, limits, expiry."""
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW CREATE USER %s@'%%'", (username,))
        row = cur.fetchone()
    assert row is not None
    return re.sub(r"^CREATE USER .*? IDENTIFIED BY PASSWORD '[^']*'", "", str(row[0]))


@pytest.mark.parametrize("statements", list(STALE_CLONES.values()), ids=list(STALE_CLONES))
def test_alternating_users_overwrites_a_stale_clone_user(
    statements: list[str], rig: Rig, stale_role: str
) -> None:
    # Given app_clone already exists (an earlier setup, a restored snapshot) with stale state
    secret = rig.alternating_secret()
    clone = secret.username + "_clone"
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY 'stale-clone-Passw0rd'", (clone,))
        for statement in statements:
            cur.execute(statement % {"clone": f"'{clone}'@'%'", "role": stale_role})

    # When the alternating-users rotation runs
    token = rotate(rig.invoke, rig.sm, secret.arn)

    # Then the clone is an exact copy of app, logs in as AWSCURRENT, and app still works
    assert staging_labels(rig.sm, secret.arn)[token] == ["AWSCURRENT"]
    assert rig.doc(secret.arn)["username"] == clone
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert grants_of(rig.mariadb, clone) == grants_of(rig.mariadb, secret.username)
    assert require_of(rig.mariadb, clone) == "SSL"
    assert account_options_of(rig.mariadb, clone) == account_options_of(
        rig.mariadb, secret.username
    )
    assert not rig.logs_in(clone, "stale-clone-Passw0rd")
    assert rig.logs_in(secret.username, secret.password)


def test_alternating_users_copies_the_sources_limits_and_password_lifetime(rig: Rig) -> None:
    # Given app has a connection limit and never-expiring password
    secret = rig.alternating_secret()
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' WITH MAX_USER_CONNECTIONS 7 MAX_QUERIES_PER_HOUR 900",
                    (secret.username,))  # fmt: skip
        cur.execute("ALTER USER %s@'%%' PASSWORD EXPIRE NEVER", (secret.username,))

    # When the alternating-users rotation creates app_clone
    rotate(rig.invoke, rig.sm, secret.arn)

    # Then app_clone has the same account options
    clone = secret.username + "_clone"
    options = account_options_of(rig.mariadb, clone)
    assert options == account_options_of(rig.mariadb, secret.username)
    assert "MAX_USER_CONNECTIONS 7" in options
    assert "PASSWORD EXPIRE NEVER" in options


# -- alternating users: the master secret ------------------------------------------------


def _clone_exists(mariadb: MariaDBServer, username: str) -> bool:
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM mysql.user WHERE User = %s", (username + "_clone",))
        row = cur.fetchone()
    return bool(row and row[0])


def test_an_unreadable_master_secret_fails_set_secret_naming_masterarn_and_changes_nothing(
    rig: Rig,
) -> None:
    # Given the master secret named by masterarn was deleted
    secret = rig.alternating_secret()
    rig.sm.delete_secret(SecretId=rig.master_arn, ForceDeleteWithoutRecovery=True)
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))

    # When setSecret runs
    with pytest.raises(SecretNotFoundError) as caught:
        rig.invoke(event("setSecret"))

    # Then the error says which field to check, and nothing changed
    assert "masterarn" in str(caught.value)
    assert caught.value.secret_id == rig.master_arn
    assert not _clone_exists(rig.mariadb, secret.username)
    assert staging_labels(rig.sm, secret.arn)[token] == ["AWSPENDING"]
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")


def test_a_master_secret_scheduled_for_deletion_fails_set_secret_naming_masterarn(
    rig: Rig,
) -> None:
    # Given the master secret named by masterarn was scheduled for deletion
    secret = rig.alternating_secret()
    rig.sm.delete_secret(SecretId=rig.master_arn, RecoveryWindowInDays=7)
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))

    # When setSecret runs
    with pytest.raises(RotationSecretsManagerError) as caught:
        rig.invoke(event("setSecret"))

    # Then the error names the master secret and says how to restore it; nothing changed
    assert caught.value.secret_id == rig.master_arn
    assert "masterarn" in str(caught.value)
    assert "RestoreSecret" in str(caught.value)
    assert not _clone_exists(rig.mariadb, secret.username)
    assert staging_labels(rig.sm, secret.arn)[token] == ["AWSPENDING"]


def test_a_master_secret_with_a_wrong_password_fails_set_secret_naming_masterarn(
    rig: Rig,
) -> None:
    # Given the master secret holds a password the database no longer accepts
    secret = rig.alternating_secret()
    wrong = "wrong-Master-Passw0rd"
    master = rig.doc(rig.master_arn) | {"password": wrong}
    rig.sm.put_secret_value(SecretId=rig.master_arn, SecretString=json.dumps(master))
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))

    # When setSecret runs
    with pytest.raises(DatabaseAuthError) as caught:
        rig.invoke(event("setSecret"))

    # Then the error names the master secret (not the application's) and nothing changed
    assert caught.value.secret_id == rig.master_arn
    assert "masterarn" in str(caught.value)
    assert_no_secret_in([str(caught.value)], secrets=[wrong, rig.mariadb.admin_password])
    assert not _clone_exists(rig.mariadb, secret.username)
    assert staging_labels(rig.sm, secret.arn)[token] == ["AWSPENDING"]
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")


def test_a_master_secret_without_host_is_refused_naming_the_field(rig: Rig) -> None:
    # Given masterarn names an RDS-managed master secret: {"username", "password"} only
    secret = rig.alternating_secret()
    rig.sm.put_secret_value(SecretId=rig.master_arn, SecretString=json.dumps(
        {"username": rig.mariadb.admin_user, "password": rig.mariadb.admin_password}))  # fmt: skip
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))

    with pytest.raises(SecretFormatError) as caught:
        rig.invoke(event("setSecret"))

    assert (caught.value.field, caught.value.secret_id) == ("host", rig.master_arn)
    assert_no_secret_in([str(caught.value)], secrets=[rig.mariadb.admin_password])
    assert not _clone_exists(rig.mariadb, secret.username)
    assert staging_labels(rig.sm, secret.arn)[token] == ["AWSPENDING"]


def test_test_and_finish_do_not_need_the_master_secret(rig: Rig) -> None:
    # Given setSecret ran, then the master secret became unreadable
    secret = rig.alternating_secret()
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))
    rig.sm.delete_secret(SecretId=rig.master_arn, ForceDeleteWithoutRecovery=True)

    # When testSecret and finishSecret run
    rig.invoke(event("testSecret"))
    rig.invoke(event("finishSecret"))

    # Then the rotation completed: they only log in as the application's users
    assert staging_labels(rig.sm, secret.arn)[token] == ["AWSCURRENT"]
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert rig.stage_logs_in(secret.arn, "AWSPREVIOUS")


def test_an_alternate_user_that_is_the_master_is_refused(rig: Rig) -> None:
    # Given a secret for '<master>_clone' (so the alternate would be the master user)
    master_user = rig.mariadb.admin_user
    secret = rig.make_db_secret(
        username=f"{master_user}_clone",
        extra={"masterarn": rig.master_arn, "rotationStrategy": "alternating-users"},
    )
    _token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))

    with pytest.raises(RotationStateError, match="master user itself"):
        rig.invoke(event("setSecret"))

    assert rig.logs_in(master_user, rig.mariadb.admin_password)


# -- the secret's JSON is kept ------------------------------------------------------------


def test_a_rotation_changes_only_the_password_in_the_secret_document(
    rig: Rig, mariadb: MariaDBServer
) -> None:
    # Given a secret written by another tool: string port and ssl, no engine, its key order
    username, database = f"shape_{uuid.uuid4().hex[:8]}", f"shapedb_{uuid.uuid4().hex[:8]}"
    mariadb.create_database_user(database=database, username=username, password="shape-Passw0rd")
    doc = {"username": username, "password": "shape-Passw0rd", "host": mariadb.host,
           "port": str(mariadb.port), "ssl": "true", "dbname": database,
           "tags": {"team": "a"}}  # fmt: skip
    arn = rig.sm.create_secret(Name="app-test-shape", SecretString=json.dumps(doc))["ARN"]
    try:
        # When it rotates
        rotate(rig.invoke, rig.sm, arn)

        # Then the document is the same but for the password
        after = rig.doc(arn)
        assert list(after) == list(doc)
        assert {k: v for k, v in after.items() if k != "password"} == {
            k: v for k, v in doc.items() if k != "password"
        }
        assert rig.logs_in(username, after["password"])
    finally:
        mariadb.drop_database_user(database=database, username=username)


# -- JWT: the previous key keeps verifying -------------------------------------------------


def test_a_rotated_signing_key_keeps_the_shape_and_the_old_key_verifies_as_awsprevious(
    rig: Rig,
) -> None:
    # Given a JWT secret with the application's own extra key, and a warm layer cache
    doc = {"signingKey": "o" * 64, "kid": "2026-11", "rotationStrategy": "random-key"}
    arn = rig.sm.create_secret(Name="app-test-secret-jwt", SecretString=json.dumps(doc))["ARN"]
    service = SecretService(rig.sm)
    assert [k.signing_key for k in service.get_jwt_verification_keys(arn)] == ["o" * 64]

    # When the key rotates
    rotate(rig.invoke, rig.sm, arn)

    # Then the shape is kept, AWSPREVIOUS holds the old key, and both verify
    current, previous = rig.doc(arn), rig.doc(arn, "AWSPREVIOUS")
    assert list(current) == list(doc)
    assert current["kid"] == "2026-11"
    assert previous == doc
    service.invalidate(arn)
    keys = [k.signing_key for k in service.get_jwt_verification_keys(arn)]
    assert keys == [current["signingKey"], "o" * 64]


# -- single user: the window between setSecret and finishSecret ---------------------------


def _current_user(service: SecretService, arn: str, ca_path: str) -> str:
    with service.database_connection(arn, ca_bundle_path=ca_path) as conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        row: Any = cur.fetchone()
    return str(row[0])


def test_a_crash_between_set_and_test_keeps_the_application_connected_until_the_retry(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given the application's layer with AWSCURRENT cached, and setSecret done
    service = SecretService(rig.sm)
    ca_path = rig.mariadb.ca_path
    assert _current_user(service, db_secret.arn, ca_path).startswith(db_secret.username + "@")
    token, event = start(rig.sm, db_secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))

    # When the function dies in testSecret (after its first Secrets Manager call)
    disarm = crash_after_call(rig.app, "DescribeSecret", 1)
    try:
        with pytest.raises(InjectedCrash):
            rig.invoke(event("testSecret"))
    finally:
        disarm()

    # Then AWSCURRENT alone no longer logs in (the documented single-user window) ...
    assert not rig.stage_logs_in(db_secret.arn, "AWSCURRENT")
    # ... but the application still connects: the layer falls back to AWSPENDING
    assert _current_user(service, db_secret.arn, ca_path).startswith(db_secret.username + "@")

    # When Secrets Manager retries the rotation with the same token
    for step in ROTATION_STEPS:
        rig.invoke(event(step))

    # Then it completed and the application connects with the new AWSCURRENT
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSCURRENT"]
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")
    assert _current_user(service, db_secret.arn, ca_path).startswith(db_secret.username + "@")
    assert not logs_in(rig.mariadb, db_secret.username, db_secret.password)


# -- a password set by hand that is not ASCII ---------------------------------------------

NON_ASCII_PASSWORD = "Pässwörd-€-日本-1"


@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_a_non_ascii_current_password_rotates(strategy: str, rig: Rig) -> None:
    extra = {"masterarn": rig.master_arn} if strategy == "alternating-users" else {}
    secret = rig.make_db_secret(
        password=NON_ASCII_PASSWORD, extra=extra | {"rotationStrategy": strategy}
    )
    assert rig.logs_in(secret.username, NON_ASCII_PASSWORD)

    rotate(rig.invoke, rig.sm, secret.arn)

    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")


def test_a_rollback_restores_a_non_ascii_current_password(rig: Rig) -> None:
    # Given AWSCURRENT's password is not ASCII, setSecret ran, then the user lost its database
    secret = rig.make_db_secret(password=NON_ASCII_PASSWORD)
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))
    revoke_database(rig.mariadb, secret)

    with pytest.raises(RotationTestFailedError):
        rig.invoke(event("testSecret"))

    # Then the database accepts the non-ASCII AWSCURRENT password again
    assert rig.logs_in(secret.username, NON_ASCII_PASSWORD)
    assert token not in staging_labels(rig.sm, secret.arn)


def test_a_master_without_create_user_fails_set_secret_with_a_hint_and_no_driver_text(
    rig: Rig,
) -> None:
    # Given masterarn names a user that may read the grant tables but not create users
    weak, weak_password = f"weak_{uuid.uuid4().hex[:8]}", "weak-Master-Passw0rd"
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s REQUIRE SSL", (weak, weak_password))
        cur.execute("GRANT SELECT ON mysql.* TO %s@'%%'", (weak,))
    try:
        master = {"host": rig.mariadb.host, "port": rig.mariadb.port, "username": weak,
                  "password": weak_password, "ssl": True}  # fmt: skip
        master_arn = rig.sm.create_secret(Name="app-test-weak-master",
                                          SecretString=json.dumps(master))["ARN"]  # fmt: skip
        secret = rig.make_db_secret(
            extra={"masterarn": master_arn, "rotationStrategy": "alternating-users"}
        )
        token, event = start(rig.sm, secret.arn)
        rig.invoke(event("createSecret"))
        pending_password = rig.doc(secret.arn, "AWSPENDING")["password"]

        # When setSecret runs
        with pytest.raises(RotationDatabaseError) as caught:
            rig.invoke(event("setSecret"))

        # Then the error says what to check, carries no statement or password, and
        # nothing changed
        assert "CREATE USER" in str(caught.value)
        assert caught.value.code == 1227
        assert caught.value.__cause__ is None
        assert_no_secret_in([str(caught.value)], secrets=[pending_password])
        assert not _clone_exists(rig.mariadb, secret.username)
        assert staging_labels(rig.sm, secret.arn)[token] == ["AWSPENDING"]
        assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    finally:
        with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (weak,))


# -- accounts with a REQUIRE clause the alternate user cannot copy -----------------------


def _negotiated_cipher(mariadb: MariaDBServer, username: str, password: str) -> str:
    with mariadb.connect(username, password) as conn, conn.cursor() as cur:
        cur.execute("SHOW STATUS LIKE 'Ssl_cipher'")
        row = cur.fetchone()
    assert row is not None
    return str(row[1])


def test_a_single_user_account_with_require_cipher_rotates(rig: Rig) -> None:
    # Given the application's user must use the very TLS cipher the function negotiates
    secret = rig.make_db_secret()
    cipher = _negotiated_cipher(rig.mariadb, secret.username, secret.password)
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"ALTER USER %s@'%%' REQUIRE CIPHER '{cipher}'", (secret.username,))

    # When it is rotated with the single-user strategy
    rotate(rig.invoke, rig.sm, secret.arn)

    # Then the new password logs in and the old one no longer does
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert not rig.logs_in(secret.username, secret.password)


class _ProfileRefused:
    """The real adapter, but the statements testSecret runs after its login are refused."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def profile(self, creds: Any) -> Any:
        raise RotationDatabaseError("SHOW GRANTS for the session failed (MySQL 1142)", code=1142)


def test_a_statement_refused_in_test_secret_rolls_back_so_awscurrent_logs_in(rig: Rig) -> None:
    # Given setSecret changed the password, then testSecret's queries are refused for good
    secret = rig.make_db_secret()
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))
    runtime = rig.app.runtime()
    rig.app.install_runtime(dataclasses.replace(runtime, db=_ProfileRefused(runtime.db)))

    # When testSecret runs
    with pytest.raises(RotationTestFailedError) as caught:
        rig.invoke(event("testSecret"))

    # Then the rotation was rolled back: AWSCURRENT logs in again and AWSPENDING is gone
    assert caught.value.rolled_back
    assert "RotationDatabaseError" in str(caught.value)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert token not in staging_labels(rig.sm, secret.arn)


# -- an expired password ------------------------------------------------------------------


def test_a_single_user_rotation_renews_an_expired_password(rig: Rig) -> None:
    # Given the application's password expired (a PASSWORD EXPIRE policy): its logins land
    # in the server's sandbox, where every statement but a password change is refused
    secret = rig.make_db_secret()
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' PASSWORD EXPIRE", (secret.username,))

    # When it is rotated with the single-user strategy
    rotate(rig.invoke, rig.sm, secret.arn)

    # Then AWSCURRENT logs in out of the sandbox: it can query again
    doc = rig.doc(secret.arn)
    with rig.mariadb.connect(doc["username"], doc["password"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        row = cur.fetchone()
    assert row == (f"{secret.username}@%",)
    assert not rig.logs_in(secret.username, secret.password)


def test_an_expired_awscurrent_password_fails_alternating_set_secret_saying_so(rig: Rig) -> None:
    # Given an alternating-users secret whose AWSCURRENT user's password expired
    secret = rig.alternating_secret()
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' PASSWORD EXPIRE", (secret.username,))
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))

    # When setSecret runs
    with pytest.raises(RotationDatabaseError) as caught:
        rig.invoke(event("setSecret"))

    # Then the error says the password expired and how to renew it; nothing changed
    assert caught.value.code == 1820
    assert "expired" in str(caught.value)
    assert "PASSWORD EXPIRE NEVER" in str(caught.value)
    assert not _clone_exists(rig.mariadb, secret.username)
    assert staging_labels(rig.sm, secret.arn)[token] == ["AWSPENDING"]


def test_a_clone_shadowed_by_an_account_on_a_narrower_host_is_rolled_back_saying_so(
    rig: Rig,
) -> None:
    # Given app_clone also exists on the function's own address, with another password:
    # the server picks that account for the login before app_clone@'%'
    secret = rig.alternating_secret()
    clone = secret.username + "_clone"
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY 'Shadow-Passw0rd-1'", (clone,))
    try:
        token, event = start(rig.sm, secret.arn)
        rig.invoke(event("createSecret"))
        rig.invoke(event("setSecret"))

        # When testSecret runs
        with pytest.raises(RotationTestFailedError) as caught:
            rig.invoke(event("testSecret"))
    finally:
        with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'127.0.0.1'", (clone,))

    # Then it is rolled back, and the error points at the other accounts of that user
    assert caught.value.rolled_back
    assert f"{clone}@%" in str(caught.value)
    assert "mysql.user" in str(caught.value)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert token not in staging_labels(rig.sm, secret.arn)


# -- a server that validates passwords ------------------------------------------------------


@pytest.fixture
def password_validation(mariadb: MariaDBServer) -> Iterator[None]:
    """MariaDB's simple_password_check: with strict_password_validation (the default) the
    server refuses a password given as a hash, which it cannot check."""
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("INSTALL SONAME 'simple_password_check'")
    yield
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("UNINSTALL SONAME 'simple_password_check'")


@pytest.mark.usefixtures("password_validation")
def test_a_server_validating_passwords_rotates_alternating_users(rig: Rig) -> None:
    # Given a MariaDB whose password validation plugin checks every password it is given
    secret = rig.make_db_secret(
        password="Initial-Passw0rd-1!",
        extra={"masterarn": rig.master_arn, "rotationStrategy": "alternating-users"},
    )

    # When the secret is rotated twice (the second resets the first user)
    rotate(rig.invoke, rig.sm, secret.arn)
    rotate(rig.invoke, rig.sm, secret.arn)

    # Then the new password logs in
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")


@pytest.mark.usefixtures("password_validation")
def test_a_server_validating_passwords_refuses_single_user_saying_what_to_use(rig: Rig) -> None:
    # Given a single-user secret on a MariaDB that refuses passwords given as hashes, the
    # only form in which an account changes its own password without PASSWORD()
    secret = rig.make_db_secret(password="Initial-Passw0rd-1!")
    token = begin_rotation(rig.sm, secret.arn)
    rig.invoke(rotation_event(secret.arn, token, "createSecret"))

    # When setSecret runs, then it is refused, naming the way out, before any change
    with pytest.raises(RotationDatabaseError, match="alternating-users strategy") as caught:
        rig.invoke(rotation_event(secret.arn, token, "setSecret"))
    assert caught.value.code == 1290
    assert "PASSWORD(" not in str(caught.value)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")


def test_a_master_that_cannot_read_other_accounts_is_told_the_privilege_it_lacks(
    rig: Rig,
) -> None:
    # Given a master user with CREATE USER and the app's database, but no SELECT on mysql.*
    master_password = "Master-Limited-pw-42"
    master = f"lim_{uuid.uuid4().hex[:8]}"
    secret = rig.alternating_secret()
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s REQUIRE SSL", (master, master_password))
        cur.execute("GRANT CREATE USER ON *.* TO %s@'%%' WITH GRANT OPTION", (master,))
        cur.execute(f"GRANT ALL ON `{secret.database}`.* TO %s@'%%' WITH GRANT OPTION", (master,))
    master_doc = rig.doc(rig.master_arn) | {"username": master, "password": master_password}
    limited_arn = rig.sm.create_secret(
        Name=f"app-test-secret-master-{master}", SecretString=json.dumps(master_doc)
    )["ARN"]
    rig.sm.update_secret(
        SecretId=secret.arn,
        SecretString=json.dumps(rig.doc(secret.arn) | {"masterarn": limited_arn}),
    )
    token = begin_rotation(rig.sm, secret.arn)
    rig.invoke(rotation_event(secret.arn, token, "createSecret"))
    try:
        # When setSecret reads the application user's account as that master
        with pytest.raises(RotationDatabaseError) as caught:
            rig.invoke(rotation_event(secret.arn, token, "setSecret"))
    finally:
        with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (master,))

    # Then the error names the privilege to grant, and the application still logs in
    assert "SELECT on mysql.*" in str(caught.value)
    assert master_password not in str(caught.value)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
