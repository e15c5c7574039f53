"""Adapter: prove a database secret still logs in, with ``SELECT 1``.

The connection is opened by the layer (:func:`secret_service.mysql.connect`): verified
TLS exactly as the rotation function and the application use it, and the layer's typed
errors (:class:`DatabaseAuthError`, :class:`DatabaseUnreachableError`,
:class:`DatabaseTlsError`). Both the connect and every read carry a timeout, so a
database that accepts the TCP connection and then never answers (a frozen instance, a
half-open route) costs at most about twice ``timeout_s``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pymysql

from secret_service.errors import DatabaseError, DatabaseUnreachableError
from secret_service.mysql import connect

if TYPE_CHECKING:
    from pymysql.connections import Connection

    from secret_service.models import DatabaseCredentials

__all__ = ["MySqlLogin"]

_LOST_CONNECTION_CODES = frozenset({2006, 2013, 2055})


class MySqlLogin:
    """Logs in over TLS and runs ``SELECT 1``; one fresh connection per check."""

    def __init__(self, *, ca_bundle_path: str | None, timeout_s: float) -> None:
        self._ca_bundle_path = ca_bundle_path
        self._timeout_s = timeout_s

    def login(self, credentials: DatabaseCredentials, *, secret_id: str) -> None:
        conn = connect(
            credentials,
            ca_bundle_path=self._ca_bundle_path,
            connect_timeout_s=self._timeout_s,
            read_timeout_s=self._timeout_s,
            secret_id=secret_id,
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
                row = cursor.fetchone()
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            error = DatabaseUnreachableError if code in _LOST_CONNECTION_CODES else DatabaseError
            raise error(
                f"SELECT 1 as {credentials.username!r} at {credentials.host}:{credentials.port} "
                f"failed after login (MySQL {code}); check the database's health",
                code=str(code) if code else None,
                host=credentials.host,
                port=credentials.port,
                username=credentials.username,
                secret_id=secret_id,
            ) from exc
        finally:
            _close_quietly(conn)
        if row is None or row[0] != 1:
            raise DatabaseError(
                f"SELECT 1 as {credentials.username!r} returned no 1; check the database",
                host=credentials.host,
                port=credentials.port,
                username=credentials.username,
                secret_id=secret_id,
            )


def _close_quietly(conn: Connection[Any]) -> None:
    with contextlib.suppress(pymysql.err.Error):  # already closed, or the socket died
        conn.close()
