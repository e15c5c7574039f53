"""Adapter: the admin's connection to the database ``make local`` runs against.

Creates and drops the application's user the way a DBA would (a database, a user that
owns it, REQUIRE SSL), over verified TLS through ``secret_service.mysql.connect`` so a
failure is a typed error that says what to check.
"""

from __future__ import annotations

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
        """Create the user and its database; on a refusal, undo what was made and raise.

        The database comes last: an admin refused the GRANT has then made only a user,
        which ``CREATE USER`` also lets it drop. Raises :class:`DatabaseError` naming the
        MySQL error number and the privileges the admin needs (the server's text is left
        out: it can quote the statement), and anything the undo could not drop.
        """
        import pymysql

        from secret_service.errors import DatabaseError

        made: list[str] = []
        try:
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute(
                    "CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (username, password)
                )
                made.append("user")
                cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (username, password))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@'%%'", (username,))
                cur.execute("ALTER USER %s@'%%' REQUIRE SSL", (username,))
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
                made.append("database")
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else "?"
            message = (
                f"the admin user {self.user!r} could not create the user {username!r} and the "
                f"database {database!r} (MySQL {code}); the admin needs CREATE USER and ALL "
                f"PRIVILEGES on {database!r} WITH GRANT OPTION (the cluster's master user has "
                "them; see docs/operations.md, Rehearse first)"
            )
            try:
                if made:
                    self.drop_app_user(
                        username=username,
                        database=database,
                        drop_database="database" in made,
                        drop_clone=False,
                    )
            except DatabaseError as undo:
                message += f"; {undo}"
            raise DatabaseError(message, code=str(code)) from None  # no statement quoted

    def drop_app_user(
        self,
        *,
        username: str,
        database: str,
        drop_database: bool = True,
        drop_clone: bool = True,
    ) -> None:
        """Drop the user, its alternating-users clone and its database.

        Each is tried even if another fails; raises :class:`DatabaseError` naming what
        is left and the statements that drop it.
        """
        import pymysql

        from secret_service.errors import DatabaseError

        users = [username, f"{username}_clone"] if drop_clone else [username]
        statements: list[tuple[str, str, tuple[str, ...] | None]] = [
            (f"DROP USER IF EXISTS '{user}'@'%'", "DROP USER IF EXISTS %s@'%%'", (user,))
            for user in users
        ]
        if drop_database:
            statements.append(
                (
                    f"DROP DATABASE IF EXISTS `{database}`",
                    f"DROP DATABASE IF EXISTS `{database}`",
                    None,
                )
            )
        left: list[str] = []
        code = "?"
        try:
            with self.connect() as conn, conn.cursor() as cur:
                for shown, sql, args in statements:
                    try:
                        cur.execute(sql, args)
                    except pymysql.err.MySQLError as exc:  # its text is not kept
                        code = str(exc.args[0] if exc.args else "?")
                        left.append(shown)
        except DatabaseError as exc:  # the admin could not log in again
            code = exc.code or "?"
            left = [shown for shown, _, _ in statements]
        if left:
            raise DatabaseError(
                f"left behind on {self.host}:{self.port} (MySQL {code}): drop it as a user "
                f"who may: {'; '.join(left)}",
                code=code,
            )
