"""``make local``'s settings, read once from the command line (and one variable)."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "ADMIN_PASSWORD_VARIABLE",
    "APP_NAME_PATTERN",
    "DB_HOST_PATTERN",
    "STRATEGIES",
    "LocalConfig",
    "LocalConfigError",
]

ADMIN_PASSWORD_VARIABLE = "LOCAL_DB_ADMIN_PASSWORD"  # noqa: S105 - a variable name
STRATEGIES = ("single-user", "alternating-users")
ENVIRONMENTS = ("dev", "stg", "prod")
# template.yaml's AppName AllowedPattern
APP_NAME_PATTERN = "^(?=.{2,31}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$"
DB_HOST_PATTERN = "^[A-Za-z0-9.-]{0,253}$"  # template.yaml's DatabaseHost AllowedPattern


class LocalConfigError(ValueError):
    """A bad option; the message says which and how to fix it."""


@dataclass(frozen=True)
class LocalConfig:
    environment: str = "dev"
    app_name: str | None = None
    strategy: str = "single-user"
    db_host: str | None = None
    """None: start a throwaway MariaDB. Otherwise the user's own MySQL / Aurora MySQL."""
    db_port: int = 3306
    db_admin_user: str = "admin"
    db_admin_password: str = field(default="", repr=False)
    db_ca_path: str | None = None
    verbose: bool = False

    @classmethod
    def from_args(
        cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> LocalConfig:
        env = os.environ if environ is None else environ
        args = _parser().parse_args(argv)
        password = ""
        given = [
            option
            for option, value in (
                ("--db-port", args.db_port),
                ("--db-admin-user", args.db_admin_user),
                ("--db-ca", args.db_ca),
            )
            if value is not None
        ]
        if args.db_host is None and given:
            raise LocalConfigError(
                f"{', '.join(given)}: for your own MySQL only; add --db-host HOST, or leave "
                f"{'it' if len(given) == 1 else 'them'} out to use the throwaway MariaDB"
            )
        if args.db_host is not None:
            password = env.get(ADMIN_PASSWORD_VARIABLE, "")
            if not password:
                raise LocalConfigError(
                    f"--db-host needs the admin password in the environment variable "
                    f"{ADMIN_PASSWORD_VARIABLE} (never on the command line), e.g. "
                    f"read -rs {ADMIN_PASSWORD_VARIABLE} && export {ADMIN_PASSWORD_VARIABLE}"
                )
            if args.db_ca is not None and not os.path.isfile(args.db_ca):
                what = "a directory" if os.path.isdir(args.db_ca) else "no such file"
                raise LocalConfigError(f"--db-ca {args.db_ca}: {what}; give a PEM CA bundle file")
        return cls(
            environment=args.env,
            app_name=args.app,
            strategy=args.strategy,
            db_host=args.db_host,
            db_port=args.db_port if args.db_port is not None else 3306,
            db_admin_user=args.db_admin_user if args.db_admin_user is not None else "admin",
            db_admin_password=password,
            db_ca_path=args.db_ca,
            verbose=args.verbose,
        )


def _app_name(text: str) -> str:
    if not re.fullmatch(APP_NAME_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an AppName template.yaml accepts ({APP_NAME_PATTERN}: "
            "2-31 lower-case letters, digits and single dashes, starting with a letter, not "
            "ending with a dash)"
        )
    return text


def _db_host(text: str) -> str:
    """A bare host name or address, as the database secret's ``host`` must be."""
    bare = "give the bare host name or address, e.g. db.example.internal"
    if not text or any(ch.isspace() for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r} is empty or has spaces: {bare}")
    if "://" in text or "/" in text:
        raise argparse.ArgumentTypeError(f"{text!r} is a URL or a path: {bare}")
    if text.count(":") == 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} has a ':port' suffix: give the port with --db-port"
        )
    if not re.match(DB_HOST_PATTERN, text):  # the secret's host, as the stack writes it
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a DatabaseHost template.yaml accepts ({DB_HOST_PATTERN}: "
            "letters, digits, dots and dashes; the cluster endpoint's DNS name or an IPv4)"
        )
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make local",
        description=(
            "Run the whole system on this machine: a TLS MariaDB (or your MySQL) and "
            "moto on 127.0.0.1, the secrets as template.yaml defines them, an application "
            "read, a rotation, the canary and a fault drill."
        ),
        epilog=(
            f"Rehearse against your own MySQL before enabling the schedule: --db-host HOST "
            f"--db-port PORT --db-admin-user USER --db-ca CA.pem, with the admin password in "
            f"{ADMIN_PASSWORD_VARIABLE}. A unique rehearsal user and database are created "
            "and dropped; nothing else is touched."
        ),
    )
    parser.add_argument("--env", choices=ENVIRONMENTS, default="dev", help="names as this env")
    parser.add_argument(
        "--app", type=_app_name, help="AppName (default: samconfig.toml / template.yaml)"
    )
    parser.add_argument("--strategy", choices=STRATEGIES, default="single-user")
    parser.add_argument(
        "--db-host", type=_db_host, help="your MySQL host (default: a throwaway MariaDB)"
    )
    parser.add_argument("--db-port", type=_port, help="your MySQL port (default: 3306)")
    parser.add_argument(
        "--db-admin-user",
        help=(
            "a user with CREATE USER and ALL PRIVILEGES WITH GRANT OPTION on new databases, "
            "e.g. the master user; alternating-users: also SELECT on mysql.* (default: admin)"
        ),
    )
    parser.add_argument("--db-ca", help="PEM bundle that verifies your server's certificate")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the functions' logs")
    return parser
