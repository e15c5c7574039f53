"""Adapter: open a MySQL / Aurora MySQL connection from :class:`DatabaseCredentials`.

The one place the layer talks to PyMySQL (imported lazily: it is an optional
dependency). Used by ``database_connection``, the rotation function and the canary, so
all three connect the same way:

* TLS unless the secret says ``"ssl": false``; the server certificate is verified
  against ``ca_bundle_path`` (or the system CAs) and its host name checked. A server
  that does not offer TLS is refused, never silently used in plaintext.
* Errors become the typed :class:`DatabaseError` tree: authentication (1045) is not
  confused with an unreachable host (2003) nor with a TLS failure, and PyMySQL's
  ``RuntimeError`` on a malformed auth packet (PyMySQL#1168) is mapped, not leaked.
"""

from __future__ import annotations

import functools
import inspect
import logging
import ssl
from typing import TYPE_CHECKING, Any

from secret_service.config import check_range
from secret_service.errors import (
    DatabaseAuthError,
    DatabaseError,
    DatabaseTlsError,
    DatabaseUnreachableError,
    SecretConfigError,
)

if TYPE_CHECKING:
    from pymysql.connections import Connection

    from secret_service.models import DatabaseCredentials

__all__ = ["connect", "make_tls_context"]

logger = logging.getLogger(__name__)

AUTH_ERROR_CODES = frozenset({1044, 1045, 1698, 1862, 1820})
UNREACHABLE_ERROR_CODES = frozenset({2002, 2003, 2005, 2006, 2013, 2055})
TLS_ERROR_CODES = frozenset({2026})
_LOCKED = (
    "refused {user!r}: the account is locked (MySQL {code}); the password is not the cause. "
    "Unlock it as the master user: ALTER USER ... ACCOUNT UNLOCK"
)
# Refusals whose cause is not the password, by MySQL code: the error type and what to
# say after "<host>:<port> ".
_NOT_THE_PASSWORD: dict[int, tuple[type[DatabaseError], str]] = {
    1044: (  # the login is right; the database it asked for is not its own
        DatabaseAuthError,
        "refused {user!r} access to database {dbname!r} (MySQL {code}); check the secret's "
        "dbname and that the user is granted that database",
    ),
    1049: (DatabaseError, "has no database {dbname!r} (MySQL {code}); check the secret's dbname"),
    3118: (DatabaseAuthError, _LOCKED),  # MySQL's ACCOUNT LOCK
    4151: (DatabaseAuthError, _LOCKED),  # MariaDB's ACCOUNT LOCK
    3955: (  # MySQL 8's FAILED_LOGIN_ATTEMPTS reached
        DatabaseAuthError,
        "refused {user!r}: the account is blocked after too many failed logins (MySQL "
        "{code}, FAILED_LOGIN_ATTEMPTS); find who logs in with an old password, then unblock "
        "it as the master user: ALTER USER ... ACCOUNT UNLOCK",
    ),
}


# PyMySQL options a caller may not pass: the secret, this function's own timeouts and
# its TLS set-up decide them. PyMySQL's ssl_* options would replace the verified
# context (ssl_verify_cert=False) or drop TLS (ssl_disabled=True) without a word.
_FROM_THE_SECRET = frozenset({"host", "port", "user", "password", "passwd", "database", "db"})
_RENAMED = {
    "connect_timeout": "connect_timeout_s",
    "read_timeout": "read_timeout_s",
    "write_timeout": "read_timeout_s",
}
_TLS_OPTIONS = frozenset(
    {"ssl", "ssl_disabled", "ssl_ca", "ssl_cert", "ssl_key", "ssl_key_password",
     "ssl_verify_cert", "ssl_verify_identity"}
)  # fmt: skip


def _check_options(options: dict[str, Any]) -> None:
    for name in sorted(options):
        if name in _FROM_THE_SECRET:
            raise SecretConfigError(
                f"connection option {name!r} comes from the secret; do not pass it"
            )
        if name in _RENAMED:
            raise SecretConfigError(
                f"connection option {name!r} is {_RENAMED[name]!r} here (seconds)"
            )
        if name in _TLS_OPTIONS:
            raise SecretConfigError(
                f"connection option {name!r} is not accepted: TLS is verified unless the "
                'secret says "ssl": false; pass ca_bundle_path to choose the CA bundle'
            )


@functools.cache
def _pymysql_options(pymysql: Any) -> frozenset[str]:
    """The keyword arguments PyMySQL's ``Connection`` accepts (read once)."""
    parameters = inspect.signature(pymysql.connections.Connection.__init__).parameters
    return frozenset(name for name in parameters if name != "self")


def make_tls_context(ca_bundle_path: str | None) -> ssl.SSLContext:
    """A context that verifies the certificate chain and the host name."""
    try:
        context = ssl.create_default_context(cafile=ca_bundle_path)
    except (OSError, ssl.SSLError) as exc:
        raise DatabaseTlsError(
            f"cannot load the CA bundle {ca_bundle_path!r}: {exc.strerror or exc}; "
            "check RDS_CA_BUNDLE points to a readable PEM file"
        ) from exc
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(
    credentials: DatabaseCredentials,
    *,
    ca_bundle_path: str | None = None,
    connect_timeout_s: float = 5.0,
    read_timeout_s: float | None = None,
    secret_id: str | None = None,
    tls_context: ssl.SSLContext | None = None,
    **options: Any,
) -> Connection[Any]:
    """Log in with ``credentials`` and return an open PyMySQL connection.

    ``options`` go to PyMySQL, except what the secret, the timeouts above and the TLS
    set-up decide (host, user, password, ``connect_timeout``, ``ssl*``...): those raise
    :class:`SecretConfigError`.

    Raises :class:`DatabaseAuthError`, :class:`DatabaseUnreachableError`,
    :class:`DatabaseTlsError` or :class:`DatabaseError`; never a PyMySQL exception.
    """
    _check_options(options)
    check_range(
        "connect_timeout_s", connect_timeout_s, low=0.001, high=3600, source="connect_timeout_s"
    )
    if read_timeout_s is not None:
        check_range(
            "read_timeout_s", read_timeout_s, low=0.001, high=86_400, source="read_timeout_s"
        )
    try:
        import pymysql  # optional dependency: only functions that connect need it
    except ImportError as exc:
        raise SecretConfigError(
            "connecting to the database needs PyMySQL, an optional dependency of "
            "secret_service: add pymysql to the function's requirements.txt"
        ) from exc
    unknown = sorted(set(options) - _pymysql_options(pymysql))
    if unknown:
        raise SecretConfigError(
            f"connection option {unknown[0]!r} is not a PyMySQL connection option; see "
            "pymysql.connections.Connection for the ones it accepts"
        )

    where: dict[str, Any] = {
        "host": credentials.host,
        "port": credentials.port,
        "username": credentials.username,
        "secret_id": secret_id,
    }
    if credentials.ssl:
        options["ssl"] = tls_context or make_tls_context(ca_bundle_path)
    else:
        logger.warning(
            "database TLS disabled by the secret's ssl=false",
            extra={"host": credentials.host, "username": credentials.username},
        )
        options.setdefault("ssl_disabled", True)
    options.setdefault("autocommit", True)
    options.setdefault("charset", "utf8mb4")
    try:
        return pymysql.connect(
            host=credentials.host,
            port=credentials.port,
            user=credentials.username,
            # UTF-8 bytes: PyMySQL would encode a str as latin-1 and fail on other
            # characters, while the server hashed the UTF-8 bytes ALTER USER gave it.
            password=credentials.password.encode("utf-8"),
            database=credentials.dbname,
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            write_timeout=read_timeout_s,
            **options,
        )
    except pymysql.err.MySQLError as exc:
        raise _translate(exc, dbname=credentials.dbname, **where) from exc
    except RuntimeError as exc:
        if type(exc) is not RuntimeError:  # a subclass is not PyMySQL's: let it through
            raise
        if "cryptography" in str(exc):
            raise DatabaseError(
                f"login as {credentials.username!r} needs the 'cryptography' package for the "
                "server's auth plugin (caching_sha2_password); add it to the function",
                **where,
            ) from exc
        # PyMySQL#1168: a malformed or unexpected auth packet surfaces as RuntimeError.
        raise DatabaseAuthError(
            f"login as {credentials.username!r} at {credentials.host}:{credentials.port} failed "
            "during authentication (unexpected auth packet); check the user's auth plugin "
            "and password",
            **where,
        ) from exc


def _translate(exc: Exception, *, dbname: str | None, **where: Any) -> DatabaseError:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    target = f"{where['host']}:{where['port']}"
    user = where["username"]
    original = getattr(exc, "original_exception", None)
    if code in TLS_ERROR_CODES or isinstance(original, ssl.SSLError):
        reason = getattr(original, "reason", None) or "handshake failed"
        return DatabaseTlsError(
            f"TLS to {target} failed ({reason}); check the server offers TLS and that "
            "RDS_CA_BUNDLE holds the CA that signed its certificate for this host name",
            code=str(code) if code else None,
            **where,
        )
    if code in _NOT_THE_PASSWORD:
        kind, text = _NOT_THE_PASSWORD[code]
        return kind(
            f"{target} " + text.format(user=user, dbname=dbname, code=code),
            code=str(code),
            **where,
        )
    if code in AUTH_ERROR_CODES:
        return DatabaseAuthError(
            f"{target} refused the login of {user!r} (MySQL {code}); the password in the "
            "secret does not match the database, or the user lacks access",
            code=str(code),
            **where,
        )
    if code in UNREACHABLE_ERROR_CODES or original is not None:
        return DatabaseUnreachableError(
            f"cannot reach the database at {target} (MySQL {code}); check the host, port, "
            "security group and the function's VPC route",
            code=str(code) if code else None,
            **where,
        )
    return DatabaseError(
        f"database error {code} for {user!r} at {target}: {type(exc).__name__}",
        code=str(code) if code else None,
        **where,
    )
