"""Adapter: the admin's connection to the database ``make local`` runs against.

Creates and drops the application's user the way a DBA would (a database, a user that
owns it, REQUIRE SSL), over verified TLS through ``secret_service.mysql.connect`` so a
failure is a typed error that says what to check.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pymysql.connections import Connection

__all__ = ["DatabaseAdmin"]


@dataclass(frozen=True)
class DatabaseAdmin:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    ca_path: str | None = None

    def connect(self, user: str | None = None, password: str | None = None) -> Connection[Any]:
        from secret_service.models import DatabaseCredentials
        from secret_service.mysql import connect

        credentials = DatabaseCredentials(
            host=self.host,
            port=self.port,
            username=user or self.user,
            password=password if password is not None else self.password,
        )
        return connect(credentials, ca_bundle_path=self.ca_path, connect_timeout_s=5.0)

    def check_login(self) -> None:
        self.connect().close()

    def logs_in(self, user: str, password: str) -> bool:
        """True if the server accepts the login (over verified TLS), False on 1045."""
        from secret_service.errors import DatabaseAuthError

        try:
            self.connect(user, password).close()
        except DatabaseAuthError:
            return False
        return True

    def create_app_user(self, *, username: str, password: str, database: str) -> None:
        """Create the database and its user; on a refusal, undo what was made and raise.

        Raises :class:`DatabaseError` naming the MySQL error number and the privileges
        the admin needs (the server's text is left out: it can quote the statement).
        """
        import pymysql

        from secret_service.errors import DatabaseError

        try:
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
                cur.execute(
                    "CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (username, password)
                )
                cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (username, password))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@'%%'", (username,))
                cur.execute("ALTER USER %s@'%%' REQUIRE SSL", (username,))
        except pymysql.err.MySQLError as exc:
            with contextlib.suppress(Exception):  # leave nothing half made behind
                self.drop_app_user(username=username, database=database)
            code = exc.args[0] if exc.args else "?"
            raise DatabaseError(
                f"the admin user {self.user!r} could not create the user {username!r} and the "
                f"database {database!r} (MySQL {code}); the admin needs CREATE, CREATE USER "
                "and GRANT OPTION",
                code=str(code),
            ) from None  # the server's message can quote the statement, password included

    def drop_app_user(self, *, username: str, database: str) -> None:
        """Drop the user, its alternating-users clone and its database."""
        with self.connect() as conn, conn.cursor() as cur:
            for user in (username, f"{username}_clone"):
                cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
