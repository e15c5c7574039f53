"""Fixtures for the rotation function: moto Secrets Manager, the session MariaDB, the handler.

Each test gets fresh moto state and uniquely named database users; the MariaDB server
is the session's. The handler runs in-process, its runtime rebuilt for every test.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pymysql
import pytest
from tests.conftest import unique_name

from harness.lambda_runtime import FakeLambdaContext, load_handler
from harness.rotation import begin_rotation, rotation_event
from harness.secret_checks import HiddenSecret, hide_secret_values

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

    from mypy_boto3_secretsmanager import SecretsManagerClient

    from harness.mariadb import MariaDBServer


@pytest.fixture
def rotation_env(monkeypatch: pytest.MonkeyPatch, mariadb: MariaDBServer) -> dict[str, str]:
    env = {
        "RDS_CA_BUNDLE": mariadb.ca_path,
        "DB_CONNECT_TIMEOUT_S": "5",  # generous: a loaded CI machine; hang tests set their own
        "ENVIRONMENT": "test",
        "POWERTOOLS_SERVICE_NAME": "rotation",
        "POWERTOOLS_METRICS_NAMESPACE": "SecretsGuardTest",
        "ROTATION_STRATEGY": "single-user",
    }
    for name in ("PASSWORD_LENGTH", "EXCLUDE_CHARACTERS", "SECRETS_MANAGER_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def rotation_app(rotation_env: dict[str, str]) -> Iterator[ModuleType]:
    app = load_handler("rotation")
    app.install_runtime(None)
    yield app
    app.install_runtime(None)


@pytest.fixture
def invoke(
    rotation_app: ModuleType, secretsmanager: SecretsManagerClient
) -> Callable[[dict[str, Any]], None]:
    def _invoke(event: dict[str, Any]) -> None:
        rotation_app.lambda_handler(event, FakeLambdaContext(function_name="rotation"))

    return _invoke


INITIAL_PASSWORD = "app-Passw0rd!initial"


@dataclass(frozen=True)
class SecretUnderTest:
    arn: str
    name: str
    username: str
    password: str
    database: str


def db_document(
    mariadb: MariaDBServer, username: str, password: str, database: str
) -> dict[str, Any]:
    return {
        "engine": "mysql",
        "host": mariadb.host,
        "port": mariadb.port,
        "username": username,
        "password": password,
        "dbname": database,
        "ssl": True,
        "dbClusterIdentifier": "app-test-cluster",
        "appOwner": "team-a",  # an unknown key: must survive rotation
    }


@pytest.fixture
def make_db_secret(
    mariadb: MariaDBServer, secretsmanager: SecretsManagerClient
) -> Iterator[Callable[..., SecretUnderTest]]:
    """Create a database user (REQUIRE SSL) and a secret for it; both removed afterwards."""
    created: list[tuple[str, str]] = []

    def _make(
        *,
        username: str | None = None,
        password: str = INITIAL_PASSWORD,
        extra: dict[str, Any] | None = None,
        create_user: bool = True,
    ) -> SecretUnderTest:
        username = username or unique_name("app")
        database = unique_name("appdb")
        if create_user:
            mariadb.create_database_user(database=database, username=username, password=password)
        created.append((database, username))
        doc = db_document(mariadb, username, password, database) | (extra or {})
        name = f"app-test-secret-db-{uuid.uuid4().hex[:8]}"
        arn = secretsmanager.create_secret(Name=name, SecretString=json.dumps(doc))["ARN"]
        return SecretUnderTest(
            arn=arn,
            name=name,
            username=username,
            password=HiddenSecret(password),
            database=database,
        )

    yield _make
    for database, username in created:
        mariadb.drop_database_user(database=database, username=username)
        mariadb.drop_database_user(database=database, username=username + "_clone")


@pytest.fixture
def db_secret(make_db_secret: Callable[..., SecretUnderTest]) -> SecretUnderTest:
    return make_db_secret()


@pytest.fixture
def master_secret(mariadb: MariaDBServer, secretsmanager: SecretsManagerClient) -> str:
    doc = {
        "engine": "mysql",
        "host": mariadb.host,
        "port": mariadb.port,
        "username": mariadb.admin_user,
        "password": mariadb.admin_password,
        "ssl": True,
    }
    name = f"app-test-secret-master-{uuid.uuid4().hex[:8]}"
    return secretsmanager.create_secret(Name=name, SecretString=json.dumps(doc))["ARN"]


def secret_doc(
    client: SecretsManagerClient, secret_id: str, stage: str = "AWSCURRENT"
) -> dict[str, Any]:
    """The stage's JSON document; its password/signingKey never show in a failed assert."""
    value = client.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]
    return hide_secret_values(json.loads(value))


def logs_in(mariadb: MariaDBServer, username: str, password: str) -> bool:
    """True if the server accepts the password (over verified TLS).

    The password goes as UTF-8 bytes, as the layer sends it (PyMySQL would send a str as
    latin-1 and fail on other characters).
    """
    try:
        conn = mariadb.connect(username, password.encode("utf-8"))  # type: ignore[arg-type]
    except pymysql.err.OperationalError as exc:
        if exc.args[0] == 1045:
            return False
        raise
    conn.close()
    return True


def revoke_database(mariadb: MariaDBServer, secret: SecretUnderTest) -> None:
    """Take the user's privileges on its database away: its testSecret will then fail."""
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"REVOKE ALL PRIVILEGES ON `{secret.database}`.* FROM %s@'%%'",
                    (secret.username,))  # fmt: skip


def grants_of(mariadb: MariaDBServer, username: str) -> list[str]:
    """SHOW GRANTS for ``username``@'%' with the grantee and credentials neutralised."""
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@'%%'", (username,))
        return sorted(
            str(row[0]).replace(f"`{username}`", "`U`").split(" IDENTIFIED BY PASSWORD")[0]
            for row in cur.fetchall()
        )


def require_of(mariadb: MariaDBServer, username: str) -> str:
    """``SSL`` if ``username``@'%' must use TLS, else ``NONE``."""
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW CREATE USER %s@'%%'", (username,))
        row = cur.fetchone()
    assert row is not None
    return "SSL" if " REQUIRE SSL" in str(row[0]) else "NONE"


def stage_logs_in(
    mariadb: MariaDBServer, client: SecretsManagerClient, arn: str, stage: str
) -> bool:
    doc = secret_doc(client, arn, stage)
    return logs_in(mariadb, doc["username"], doc["password"])


def start(
    client: SecretsManagerClient, arn: str, **kwargs: Any
) -> tuple[str, Callable[[str], dict[str, str]]]:
    """Begin a rotation; return the token and a builder of that rotation's step events."""
    token = begin_rotation(client, arn, **kwargs)
    return token, lambda step: rotation_event(arn, token, step)


@dataclass(frozen=True)
class Rig:
    """One test's rotation world: the handler, moto Secrets Manager and the MariaDB."""

    app: ModuleType
    invoke: Callable[[dict[str, Any]], None]
    sm: SecretsManagerClient
    mariadb: MariaDBServer
    make_db_secret: Callable[..., SecretUnderTest]
    master_arn: str

    def alternating_secret(self) -> SecretUnderTest:
        return self.make_db_secret(
            extra={"masterarn": self.master_arn, "rotationStrategy": "alternating-users"}
        )

    def doc(self, arn: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
        return secret_doc(self.sm, arn, stage)

    def logs_in(self, username: str, password: str) -> bool:
        return logs_in(self.mariadb, username, password)

    def stage_logs_in(self, arn: str, stage: str) -> bool:
        return stage_logs_in(self.mariadb, self.sm, arn, stage)


@pytest.fixture
def rig(
    rotation_app: ModuleType,
    invoke: Callable[[dict[str, Any]], None],
    *,
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    make_db_secret: Callable[..., SecretUnderTest],
    master_secret: str,
) -> Rig:
    return Rig(rotation_app, invoke, secretsmanager, mariadb, make_db_secret, master_secret)
