"""Adapter: the SQL of the rotation protocol, for MySQL 8.0 / Aurora MySQL 3 and MariaDB.

Every login goes through :func:`secret_service.mysql.connect` (verified TLS, no
plaintext fallback, typed login errors). This module adds the statements:

* the server is detected with ``SELECT VERSION()``;
* a user changes **its own** password with ``ALTER USER <self> IDENTIFIED BY %s`` on
  MySQL (``... REPLACE %s`` with the old password from 8.0.13, so
  ``PASSWORD REQUIRE CURRENT`` accounts work). MariaDB refuses ``ALTER USER`` without
  the CREATE USER privilege even for one's own account, so there the user runs
  ``SET PASSWORD = %s`` with the ``mysql_native_password`` hash computed here.
  ``PASSWORD()`` is never used (MySQL 8 removed it): a MariaDB whose validation plugin
  must see the password refuses the hash, and that is a typed error saying to use the
  alternating-users strategy;
* an admin (the master user) changes another account with
  ``ALTER USER %s@%s IDENTIFIED BY %s``, and clones a user for the alternating-users
  strategy by replaying ``SHOW GRANTS`` with the grantee renamed and the ``REQUIRE``
  clause, resource limits and password lifetime of ``SHOW CREATE USER`` kept; an
  existing clone is reset first (privileges, roles, default role, account lock);
* a user whose password expired (the server's sandbox, 1820) renews it itself.

Account names are always bound parameters (``%s@%s``) or backtick-quoted identifiers,
so user names with quotes, backticks or spaces work. Statements that carry a password
never chain the driver's error (it could quote the statement): they raise ``from None``
with the MySQL error code.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pymysql
from pymysql.constants import CLIENT

from rotation_errors import RotationDatabaseError
from rotation_model import Account, UserProfile
from secret_service.errors import DatabaseAuthError, DatabaseUnreachableError
from secret_service.mysql import connect as layer_connect
from secret_service.mysql import make_tls_context

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator, Sequence

    from pymysql.connections import Connection
    from pymysql.cursors import Cursor

    from secret_service.models import DatabaseCredentials

__all__ = [
    "MySQLDatabase",
    "ServerInfo",
    "account_options",
    "mysql_native_password_hash",
    "normalize_grants",
    "parse_require",
    "parse_server_version",
    "password_change_sql",
    "quote_identifier",
    "rename_grant",
]

_LOST_CONNECTION_CODES = frozenset({2006, 2013, 2055})
_MUST_CHANGE_PASSWORD = 1820  # ER_MUST_CHANGE_PASSWORD: the login's password has expired
_STRICT_PASSWORD_VALIDATION = 1290  # ER_OPTION_PREVENTS_STATEMENT: a hash cannot be validated
_PASSWORD_POLICY = 1819  # ER_NOT_VALID_PASSWORD: the server's password policy refused it
_GRANTEE_PLACEHOLDER = "<grantee>"
_IDENTIFIED = re.compile(r" IDENTIFIED (?:BY PASSWORD '[^']*'|VIA .*?)(?= REQUIRE | WITH |$)")
_REQUIRE_IN_GRANT = re.compile(r" REQUIRE .*?(?= WITH |$)")
_REQUIRE_SIMPLE = re.compile(r"^(SSL|X509|NONE)\b")
_REQUIRE_PART = re.compile(r"(?:ISSUER|SUBJECT|CIPHER) '(?:[^'\\]|\\.|'')*'")
_REQUIRE_PARTS = re.compile(rf"^(?:(?:AND )?{_REQUIRE_PART.pattern} ?)+")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'")
_LIMIT_NAMES = (
    "MAX_QUERIES_PER_HOUR",
    "MAX_UPDATES_PER_HOUR",
    "MAX_CONNECTIONS_PER_HOUR",
    "MAX_USER_CONNECTIONS",
)
_LIMIT = re.compile(r"\b(MAX_[A-Z_]+) (\d+(?:\.\d+)?)\b")
_LIFETIME = re.compile(r" PASSWORD EXPIRE (NEVER|DEFAULT|INTERVAL \d+ DAY)\b")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_MYSQL_REPLACE_SINCE = (8, 0, 13)
_AURORA_MYSQL_3_BASE = (8, 0, 23)  # every Aurora MySQL 3 release is 8.0.23-compatible or newer


class ConnectFn(Protocol):
    def __call__(
        self,
        credentials: DatabaseCredentials,
        *,
        ca_bundle_path: str | None = ...,
        connect_timeout_s: float = ...,
        read_timeout_s: float | None = ...,
        secret_id: str | None = ...,
        tls_context: ssl.SSLContext | None = ...,
        **options: Any,
    ) -> Connection[Any]: ...


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """``SELECT VERSION()`` parsed: the flavour and the numeric version."""

    flavor: str  # "mysql" | "mariadb"
    version: tuple[int, int, int]


def parse_server_version(version: str) -> ServerInfo:
    """``'10.11.6-MariaDB-0+deb12u1'`` -> mariadb (10, 11, 6); ``'8.0.mysql_aurora.3.05.2'``."""
    flavor = "mariadb" if "mariadb" in version.lower() else "mysql"
    match = _VERSION.match(version)
    if match:
        numbers = (int(match[1]), int(match[2]), int(match[3]))
    elif "mysql_aurora" in version and version.startswith("8.0."):
        numbers = _AURORA_MYSQL_3_BASE  # '8.0.mysql_aurora.3.05.2': Aurora MySQL 3
    else:
        parts = re.findall(r"\d+", version)[:2]  # '5.7.mysql_aurora.2.11.2': 5.7.x
        numbers = (int(parts[0]), int(parts[1]), 0) if len(parts) == 2 else (0, 0, 0)
    return ServerInfo(flavor=flavor, version=numbers)


def password_change_sql(server: ServerInfo, *, own_account: bool) -> str:
    """The statement that sets a password, for this server and this kind of change.

    Parameters, in order: own MySQL account -> user, host, new, old (from 8.0.13);
    own MariaDB account -> native hash; someone else's account -> user, host, new.
    """
    if not own_account:
        return "ALTER USER %s@%s IDENTIFIED BY %s"
    if server.flavor == "mariadb":
        return "SET PASSWORD = %s"
    if server.version >= _MYSQL_REPLACE_SINCE:
        return "ALTER USER %s@%s IDENTIFIED BY %s REPLACE %s"
    return "ALTER USER %s@%s IDENTIFIED BY %s"


def mysql_native_password_hash(password: str) -> str:
    """The ``mysql_native_password`` auth string: ``*`` + hex(SHA1(SHA1(password)))."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 - the protocol's hash
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324


def quote_identifier(name: str) -> str:
    """Backtick-quote an identifier as SHOW GRANTS prints it (backticks doubled)."""
    return "`" + name.replace("`", "``") + "`"


def _grantee(account: Account) -> str:
    return f"{quote_identifier(account.user)}@{quote_identifier(account.host)}"


def rename_grant(line: str, source: Account, target: Account | None) -> str:
    """A SHOW GRANTS line for ``source`` rewritten for ``target`` (None: a placeholder).

    Credentials (``IDENTIFIED BY PASSWORD '*…'`` / ``IDENTIFIED VIA …``) and the
    ``REQUIRE`` clause MariaDB prints on the USAGE line are removed: the password is set
    separately and REQUIRE comes from SHOW CREATE USER.
    """
    old = _grantee(source)
    new = _GRANTEE_PLACEHOLDER if target is None else _grantee(target)
    for keyword in (" TO ", " FOR "):
        marker = keyword + old
        if line.count(marker) == 1:
            renamed = line.replace(marker, keyword + new)
            break
    else:
        raise RotationDatabaseError(
            f"cannot find the grantee {source} in a SHOW GRANTS line; the grant was not copied",
            account=str(source),
        )
    renamed = _IDENTIFIED.sub("", renamed)
    if renamed.startswith("GRANT "):
        renamed = _REQUIRE_IN_GRANT.sub("", renamed)
    return renamed


def _is_usage_only(line: str) -> bool:
    return line.startswith("GRANT USAGE ON *.* TO ") and " WITH " not in line


def normalize_grants(lines: Sequence[str], account: Account) -> tuple[str, ...]:
    """Grants without the grantee, credentials or a bare USAGE line: comparable across users."""
    renamed = (rename_grant(line, account, None) for line in lines)
    return tuple(sorted(line for line in renamed if not _is_usage_only(line)))


def parse_require(show_create_user: str, *, copyable_only: bool = True) -> str:
    """``SSL`` / ``X509`` / ``NONE`` from a SHOW CREATE USER line (NONE if absent).

    An ``ISSUER`` / ``SUBJECT`` / ``CIPHER`` clause cannot be copied to the alternate user:
    refused when ``copyable_only``; else returned as its parts, sorted and joined by
    ``AND`` (MySQL and MariaDB print them differently), to be compared, not replayed.
    """
    position = show_create_user.rfind(" REQUIRE ")
    if position < 0:
        return "NONE"
    clause = show_create_user[position + len(" REQUIRE ") :]
    match = _REQUIRE_SIMPLE.match(clause)
    if match is not None:
        return match[1]
    parts = _REQUIRE_PARTS.match(clause)
    if copyable_only or parts is None:
        raise RotationDatabaseError(
            "the account has a REQUIRE ISSUER/SUBJECT/CIPHER clause; only REQUIRE SSL, X509 "
            "or NONE can be copied to the alternate user"
        )
    return " AND ".join(sorted(_REQUIRE_PART.findall(parts[0])))


def account_options(show_create_user: str, server: ServerInfo) -> tuple[str, str]:
    """A SHOW CREATE USER line's resource limits and password lifetime, as ALTER USER clauses.

    Every limit is named (absent: ``0``, no limit) so that applying them also clears
    another account's stale ones; the lifetime is ``DEFAULT`` when none is printed.
    Quoted strings are ignored (a REQUIRE SUBJECT could hold any text).
    """
    text = _QUOTED.sub("''", show_create_user)
    names = _LIMIT_NAMES + (("MAX_STATEMENT_TIME",) if server.flavor == "mariadb" else ())
    limits = dict.fromkeys(names, "0")
    for name, value in _LIMIT.findall(text):
        if name in limits:
            limits[name] = value
    lifetime = _LIFETIME.search(text)
    return (
        "WITH " + " ".join(f"{name} {value}" for name, value in limits.items()),
        f"PASSWORD EXPIRE {lifetime[1] if lifetime else 'DEFAULT'}",
    )


class MySQLDatabase:
    """The database side of rotation, for one container (TLS context built once)."""

    def __init__(
        self,
        *,
        ca_bundle_path: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float | None = 10.0,
        connect: ConnectFn = layer_connect,
    ) -> None:
        self._ca_bundle_path = ca_bundle_path
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._connect = connect
        self._tls_context: ssl.SSLContext | None = None

    # -- the Database protocol of steps.py ---------------------------------------------

    def can_log_in(self, creds: DatabaseCredentials) -> bool:
        """True if the password is accepted; False on an auth refusal; other errors raise."""
        try:
            with self._session(creds, use_database=False):
                return True
        except DatabaseAuthError as exc:
            if exc.code in (None, "1045"):
                return False
            raise

    def account_of(self, creds: DatabaseCredentials) -> Account:
        with self._session(creds, use_database=False) as cur:
            return _current_account(cur)

    def change_own_password(self, creds: DatabaseCredentials, *, new_password: str) -> Account:
        """Log in as ``creds`` and set the account's password to ``new_password``."""
        with self._session(creds, use_database=False, expired_password_ok=True) as cur:
            try:
                server = _server(cur)
            except RotationDatabaseError as exc:
                if exc.code != _MUST_CHANGE_PASSWORD:
                    raise
                return _renew_expired_password(cur, creds, new_password=new_password)
            account = _current_account(cur)
            if server.flavor == "mariadb":
                _require_native_plugin(cur, account)
                _set_own_mariadb_password(cur, server, new_password, account=account)
                return account
            sql = password_change_sql(server, own_account=True)
            args: tuple[str, ...]
            if "REPLACE" in sql:
                args = (account.user, account.host, new_password, creds.password)
            else:
                args = (account.user, account.host, new_password)
            _execute_secret(cur, sql, args, what="password change", account=account)
            return account

    def set_password(
        self, admin: DatabaseCredentials, *, account: Account, new_password: str
    ) -> None:
        """As ``admin``, set ``account``'s password."""
        with self._session(admin, use_database=False) as cur:
            server = _server(cur)
            sql = password_change_sql(server, own_account=False)
            _execute_secret(
                cur, sql, (account.user, account.host, new_password),
                what="password change", account=account,
            )  # fmt: skip

    def sync_clone(
        self,
        admin: DatabaseCredentials,
        *,
        source: Account,
        target: Account,
        password: str,
    ) -> None:
        """As ``admin``, make ``target`` a copy of ``source``: grants, REQUIRE, limits, lifetime."""
        with self._session(admin, use_database=False) as cur:
            server = _server(cur)
            source_user = _show_create_user(cur, source)
            require = parse_require(source_user)
            limits, lifetime = account_options(source_user, server)
            source_grants = _grants_of(cur, source)
            _execute(
                cur, "SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = %s",
                (target.user, target.host), what="user lookup", account=target,
            )  # fmt: skip
            row = cur.fetchone()
            exists = bool(row and row[0])
            if exists:
                _execute_secret(
                    cur, "ALTER USER %s@%s IDENTIFIED BY %s",
                    (target.user, target.host, password), what="password change", account=target,
                )  # fmt: skip
                _execute(
                    cur, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s",
                    (target.user, target.host), what="grant reset", account=target,
                )  # fmt: skip
                _reset_roles(cur, server, target)
            else:
                _execute_secret(
                    cur, "CREATE USER %s@%s IDENTIFIED BY %s",
                    (target.user, target.host, password), what="user creation", account=target,
                )  # fmt: skip
            # REQUIRE takes a keyword, not a parameter: it comes from a fixed allow-list.
            # ACCOUNT UNLOCK: the source logs in, so its copy must too (a stale lock stays).
            _execute(
                cur, f"ALTER USER %s@%s REQUIRE {require} ACCOUNT UNLOCK",
                (target.user, target.host), what="REQUIRE clause", account=target,
            )  # fmt: skip
            # Resource limits and password lifetime are not privileges: REVOKE ALL keeps a
            # stale clone's (a 1-day lifetime would expire the next AWSCURRENT). Copied.
            for clause, what in ((limits, "resource limits"), (lifetime, "password lifetime")):
                _execute(cur, f"ALTER USER %s@%s {clause}", (target.user, target.host),
                         what=what, account=target)  # fmt: skip
            for line in source_grants:
                statement = rename_grant(line, source, target)
                if not _is_usage_only(statement):
                    _execute(cur, statement, None, what="grant copy", account=target)

    def profile(self, creds: DatabaseCredentials) -> UserProfile:
        """Log in (with the secret's database), query it, and read the account's grants."""
        with self._session(creds, use_database=True) as cur:
            account = _current_account(cur)
            if creds.dbname:
                _execute(
                    cur,
                    "SELECT COUNT(*) FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = DATABASE()",
                    None,
                    what="database query",
                    account=account,
                )
                cur.fetchone()
            return UserProfile(
                account=account,
                grants=normalize_grants(_grants_of(cur, account, current=True), account),
                # Compared (alternating-users), never copied: any REQUIRE clause will do.
                require=parse_require(_show_create_user(cur, account), copyable_only=False),
            )

    # -- internals ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _session(
        self, creds: DatabaseCredentials, *, use_database: bool, expired_password_ok: bool = False
    ) -> Iterator[Cursor]:
        login = creds if use_database else creds.with_changes(dbname=None)
        tls_context = None
        if creds.ssl:
            if self._tls_context is None:
                self._tls_context = make_tls_context(self._ca_bundle_path)
            tls_context = self._tls_context
        options: dict[str, Any] = {}
        if expired_password_ok:
            # MySQL refuses an expired password at login (1862) unless the client says it
            # can renew it; MariaDB lets it in either way. Only for the password change.
            options["client_flag"] = CLIENT.HANDLE_EXPIRED_PASSWORDS
        conn = self._connect(
            login,
            ca_bundle_path=self._ca_bundle_path,
            connect_timeout_s=self._connect_timeout_s,
            read_timeout_s=self._read_timeout_s,
            tls_context=tls_context,
            **options,
        )
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            with contextlib.suppress(Exception):
                conn.close()


def _server(cur: Cursor) -> ServerInfo:
    _execute(cur, "SELECT VERSION()", None, what="server detection", account=None)
    row = cur.fetchone()
    return parse_server_version(str(row[0]) if row else "")


def _current_account(cur: Cursor) -> Account:
    _execute(cur, "SELECT CURRENT_USER()", None, what="account lookup", account=None)
    row = cur.fetchone()
    user, _, host = str(row[0] if row else "").rpartition("@")
    return Account(user=user, host=host)


def _grants_of(cur: Cursor, account: Account, *, current: bool = False) -> list[str]:
    if current:
        _execute(cur, "SHOW GRANTS FOR CURRENT_USER()", None, what="SHOW GRANTS", account=account)
    else:
        _execute(
            cur, "SHOW GRANTS FOR %s@%s", (account.user, account.host),
            what="SHOW GRANTS", account=account,
        )  # fmt: skip
    return [str(row[0]) for row in cur.fetchall()]


def _show_create_user(cur: Cursor, account: Account) -> str:
    _execute(
        cur, "SHOW CREATE USER %s@%s", (account.user, account.host),
        what="SHOW CREATE USER", account=account,
    )  # fmt: skip
    row = cur.fetchone()
    return str(row[0]) if row else ""


def _require_of(cur: Cursor, account: Account) -> str:
    return parse_require(_show_create_user(cur, account))


def _reset_roles(cur: Cursor, server: ServerInfo, account: Account) -> None:
    """Revoke every role ``account`` holds and clear its default role.

    ``REVOKE ALL PRIVILEGES`` leaves MySQL's role grants and MariaDB's ``SET DEFAULT ROLE``
    in place; a stale clone would then never match its source.
    """
    marker = " TO " + _grantee(account)
    for line in _grants_of(cur, account):
        if line.startswith("GRANT ") and " ON " not in line and marker in line:
            roles = line[len("GRANT ") : line.index(marker)]
            _execute(cur, f"REVOKE {roles} FROM %s@%s", (account.user, account.host),
                     what="role reset", account=account)  # fmt: skip
    keyword = "FOR" if server.flavor == "mariadb" else "TO"
    _execute(cur, f"SET DEFAULT ROLE NONE {keyword} %s@%s", (account.user, account.host),
             what="default role reset", account=account)  # fmt: skip


def _renew_expired_password(
    cur: Cursor, creds: DatabaseCredentials, *, new_password: str
) -> Account:
    """Change the password of a login the server holds in its expired-password sandbox.

    There only a password change of the login's own account is accepted: the server is
    known from the handshake, the account as ``USER()`` (MySQL) or implicit (MariaDB's
    ``SET PASSWORD``), and the account is read once the session has left the sandbox.
    """
    handshake_version: str = cur.connection.get_server_info()  # type: ignore[no-untyped-call]
    server = parse_server_version(handshake_version)
    who = Account(user=creds.username, host="(expired password)")
    if server.flavor == "mariadb":
        _set_own_mariadb_password(cur, server, new_password, account=who)
        return _current_account(cur)
    sql = password_change_sql(server, own_account=True).replace("%s@%s", "USER()")
    args: tuple[str, ...] = (new_password, creds.password) if "REPLACE" in sql else (new_password,)
    _execute_secret(cur, sql, args, what="expired password renewal", account=who)
    return _current_account(cur)


def _set_own_mariadb_password(
    cur: Cursor, server: ServerInfo, new_password: str, *, account: Account
) -> None:
    """``SET PASSWORD`` for the session's own account on MariaDB, as the native hash.

    The only way a MariaDB account may change its own password without ``PASSWORD()``
    (which this function never uses: MySQL 8 removed it) nor the CREATE USER privilege
    (which ``ALTER USER`` needs on MariaDB). A server with a password validation plugin
    and ``strict_password_validation`` (its default) refuses a hash it cannot check
    (1290): that is a typed error naming the two ways out, before anything changed.
    """
    sql = password_change_sql(server, own_account=True)
    try:
        _execute_secret(cur, sql, (mysql_native_password_hash(new_password),),
                        what="password change", account=account)  # fmt: skip
    except RotationDatabaseError as exc:
        if exc.code != _STRICT_PASSWORD_VALIDATION:
            raise
        raise RotationDatabaseError(
            f"password change for {account} refused (MySQL {exc.code}): this MariaDB validates "
            "passwords (a validation plugin with strict_password_validation=ON) and so refuses "
            "the password as a hash, the only form in which an account may change its own "
            "password here; nothing was changed. Use the alternating-users strategy (the "
            "master user sets the password, which the plugin then checks), or set "
            "strict_password_validation=OFF",
            code=exc.code,
            account=str(account),
        ) from None


def _require_native_plugin(cur: Cursor, account: Account) -> None:
    statement = _show_create_user(cur, account)
    if " IDENTIFIED VIA " in statement and "mysql_native_password" not in statement:
        raise RotationDatabaseError(
            f"{account} does not use mysql_native_password; on MariaDB a user without the "
            "CREATE USER privilege can only set its own password as a native hash. Use the "
            "alternating-users strategy (the master user changes the password) instead",
            account=str(account),
        )


def _failure(
    exc: pymysql.err.MySQLError, *, what: str, account: Account | None
) -> RotationDatabaseError | DatabaseUnreachableError:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    who = str(account) if account else "the session"
    if code in _LOST_CONNECTION_CODES:
        return DatabaseUnreachableError(
            f"the database stopped answering during the {what} for {who} (MySQL {code}); "
            "check the instance's health and the function's VPC route",
            code=str(code),
        )
    hint = ""
    if code in (1044, 1142, 1227, 1396, 1410) and what.startswith("SHOW"):
        hint = (
            "; check the privileges of the login (to read another account, the master user "
            "needs SELECT on mysql.*)"
        )
    elif code in (1044, 1142, 1227, 1396, 1410):
        hint = (
            "; check the privileges of the login (the master user needs CREATE USER, and "
            "GRANT OPTION with the privileges it copies)"
        )
    elif code == _PASSWORD_POLICY:
        hint = (
            "; the server's password validation policy refused the password: make "
            "PASSWORD_LENGTH and EXCLUDE_CHARACTERS meet it"
        )
    elif code == _MUST_CHANGE_PASSWORD:
        hint = (
            "; the login's password has expired (a PASSWORD EXPIRE policy): as the master "
            "user, set it again to the secret's value (ALTER USER ... IDENTIFIED BY) or "
            "lift the policy (ALTER USER ... PASSWORD EXPIRE NEVER), then rotate"
        )
    return RotationDatabaseError(
        f"{what} for {who} failed (MySQL {code}){hint}",
        code=code,
        account=str(account) if account else None,
    )


def _execute(
    cur: Cursor,
    sql: str,
    args: tuple[str, ...] | None,
    *,
    what: str,
    account: Account | None,
) -> None:
    try:
        cur.execute(sql, args)
    except pymysql.err.MySQLError as exc:
        raise _failure(exc, what=what, account=account) from exc


def _execute_secret(
    cur: Cursor, sql: str, args: tuple[str, ...], *, what: str, account: Account
) -> None:
    """Execute a statement that carries a password: its error never chains the driver's."""
    try:
        cur.execute(sql, args)
    except pymysql.err.MySQLError as exc:
        failure = _failure(exc, what=what, account=account)
    else:
        return
    raise failure from None  # the driver's message may quote the statement
