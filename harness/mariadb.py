"""A throwaway MariaDB server with TLS on, for tests, benchmarks and ``make local``.

The server is started from the installed ``mariadbd`` in a fresh data directory on a
free 127.0.0.1 port, with a test CA and a server certificate made by trustme at start.
It never reads the machine's MariaDB configuration (``--no-defaults``) and never
touches a server the machine already runs. ``stop()`` kills it and removes every file;
the context manager calls it on every exit path.

Why not pytest-mysql: the same server must run outside pytest (``make local`` and the
benchmarks), and its TLS files must exist before the server starts.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pymysql
import trustme

if TYPE_CHECKING:
    from types import TracebackType

    from pymysql.connections import Connection

__all__ = ["MariaDBNotInstalledError", "MariaDBServer", "TlsFiles", "find_binaries"]

_SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/libexec")
INSTALL_HINT = (
    "MariaDB server binaries not found (mariadbd, mariadb-install-db). "
    "Install them with: sudo apt-get update && sudo apt-get install -y mariadb-server "
    "(or run `make test` as root, which installs them)."
)


class MariaDBNotInstalledError(RuntimeError):
    """The machine has no MariaDB server binaries."""


class MariaDBStartError(RuntimeError):
    """The throwaway server did not come up; the message carries its error log."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of the test CA and the server's certificate and key."""

    ca_path: str
    cert_path: str
    key_path: str


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SEARCH_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_binaries() -> tuple[str, str]:
    """Return the paths of ``mariadbd`` and ``mariadb-install-db`` or raise with a fix."""
    server = _which("mariadbd") or _which("mysqld")
    install_db = _which("mariadb-install-db") or _which("mysql_install_db")
    if not server or not install_db:
        raise MariaDBNotInstalledError(INSTALL_HINT)
    return server, install_db


# The server's unix socket lives in its work dir, and a socket path is limited to 107
# bytes: "<tempdir>/mdb-XXXXXXXX/s.sock" must fit with room to spare.
MAX_TEMPDIR_CHARS = 80
FALLBACK_TEMPDIR = "/tmp"  # noqa: S108 - only mkdtemp's private (0700) directory goes there


def short_tempdir() -> str:
    """The temp dir (``TMPDIR``), or ``/tmp`` when it is too long for a socket path."""
    base = tempfile.gettempdir()
    if len(base) <= MAX_TEMPDIR_CHARS:
        return base
    if os.access(FALLBACK_TEMPDIR, os.W_OK):
        return FALLBACK_TEMPDIR
    raise MariaDBStartError(
        f"TMPDIR is {len(base)} characters long; the server's unix socket path would pass "
        f"the 107-byte limit: set TMPDIR to a directory of at most {MAX_TEMPDIR_CHARS} characters"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_tls_files(folder: Path, *, hostnames: tuple[str, ...]) -> tuple[TlsFiles, trustme.CA]:
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    cert = ca.issue_cert(*hostnames, key_type=trustme.KeyType.RSA)
    files = TlsFiles(
        ca_path=str(folder / "ca.pem"),
        cert_path=str(folder / "server-cert.pem"),
        key_path=str(folder / "server-key.pem"),
    )
    ca.cert_pem.write_to_path(files.ca_path)
    cert.cert_chain_pems[0].write_to_path(files.cert_path)
    cert.private_key_pem.write_to_path(files.key_path)
    return files, ca


def write_foreign_ca(path: str) -> str:
    """Write a CA that did not sign the server's certificate (for 'wrong CA' tests)."""
    trustme.CA(key_type=trustme.KeyType.RSA).cert_pem.write_to_path(path)
    return path


class MariaDBServer:
    """One throwaway MariaDB server. Use as a context manager, or call start/stop.

    ``admin_user``/``admin_password`` name an account with every privilege and GRANT
    OPTION, reachable over TCP with TLS: the stand-in for an Aurora master user.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        admin_user: str = "admin",
        admin_password: str = "admin-Passw0rd-local",
        startup_timeout_s: float = 30.0,
        require_secure_transport: bool = False,
    ) -> None:
        self.admin_user = admin_user
        self.admin_password = admin_password
        self._startup_timeout_s = startup_timeout_s
        self._require_secure_transport = require_secure_transport
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.tls: TlsFiles | None = None
        self.socket_path = ""

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def ca_path(self) -> str:
        if self.tls is None:
            raise RuntimeError("server not started")
        return self.tls.ca_path

    def start(self) -> None:
        server_bin, install_db = find_binaries()
        self._workdir = Path(tempfile.mkdtemp(prefix="mdb-", dir=short_tempdir()))
        try:
            self._initialise(install_db)
            self.tls, _ = make_tls_files(self._workdir, hostnames=("127.0.0.1", "localhost"))
            for _attempt in range(3):
                self.port = free_port()
                if self._launch(server_bin):
                    break
            else:
                raise MariaDBStartError(self._error_log_tail())
            self._bootstrap_admin()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang, as with a dropped route."""
        if self._process is not None:
            self._process.send_signal(19)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(18)

    # -- connections -----------------------------------------------------------------

    def admin_connection(self, **options: Any) -> Connection[Any]:
        """A TLS connection as the admin account (certificate and host verified)."""
        return self.connect(self.admin_user, self.admin_password, **options)

    def connect(self, user: str, password: str, **options: Any) -> Connection[Any]:
        options.setdefault("connect_timeout", 5)
        options.setdefault("ssl_ca", self.ca_path)
        options.setdefault("ssl_verify_cert", True)
        options.setdefault("ssl_verify_identity", True)
        options.setdefault("autocommit", True)
        return pymysql.connect(
            host=self.host, port=self.port, user=user, password=password, **options
        )

    def create_database_user(
        self, *, database: str, username: str, password: str, require_ssl: bool = True
    ) -> None:
        """Create a database and a user owning it, as an application's schema owner."""
        with self.admin_connection() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (username, password))
            cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@'%%'", (username,))
            if require_ssl:
                cur.execute("ALTER USER %s@'%%' REQUIRE SSL", (username,))

    def drop_database_user(self, *, database: str, username: str) -> None:
        with self.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (username,))
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")

    # -- internals -------------------------------------------------------------------

    def _initialise(self, install_db: str) -> None:
        assert self._workdir is not None
        datadir = self._workdir / "data"
        command = [
            install_db,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if os.geteuid() == 0:
            command.append("--user=root")
        result = subprocess.run(
            command, capture_output=True, check=False, timeout=120, env=self._private_tmp_env()
        )
        if result.returncode != 0:
            raise MariaDBStartError(
                "mariadb-install-db failed: " + result.stderr.decode(errors="replace")[-2000:]
            )

    def _launch(self, server_bin: str) -> bool:
        assert self._workdir is not None
        assert self.tls is not None
        self.socket_path = str(self._workdir / "s.sock")
        command = [
            server_bin,
            "--no-defaults",
            f"--datadir={self._workdir / 'data'}",
            f"--socket={self.socket_path}",
            f"--pid-file={self._workdir / 'mariadbd.pid'}",
            f"--log-error={self._workdir / 'error.log'}",
            f"--port={self.port}",
            f"--tmpdir={self._tmpdir()}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
            "--max-connections=500",
            f"--ssl-ca={self.tls.ca_path}",
            f"--ssl-cert={self.tls.cert_path}",
            f"--ssl-key={self.tls.key_path}",
        ]
        if self._require_secure_transport:
            command.append("--require-secure-transport=ON")
        if os.geteuid() == 0:
            command.append("--user=root")
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._private_tmp_env(),
        )
        deadline = time.monotonic() + self._startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False  # most often: the port was taken meanwhile
            if self._accepts_connections():
                return True
            time.sleep(0.05)
        raise MariaDBStartError("server did not answer in time: " + self._error_log_tail())

    def _tmpdir(self) -> Path:
        """A temp folder of this server's own: concurrent servers never share /tmp files."""
        assert self._workdir is not None
        folder = self._workdir / "tmp"
        folder.mkdir(exist_ok=True)
        return folder

    def _private_tmp_env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self._tmpdir())}

    def _accepts_connections(self) -> bool:
        # A raw probe: PyMySQL leaks the socket of a failed unix-socket connect.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.socket_path)
            except OSError:
                return False
            return True

    def _bootstrap_admin(self) -> None:
        conn = pymysql.connect(unix_socket=self.socket_path, user="root", password="")
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "CREATE USER %s@'%%' IDENTIFIED BY %s", (self.admin_user, self.admin_password)
                )
                cur.execute(
                    "GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (self.admin_user,)
                )
        finally:
            conn.close()

    def _error_log_tail(self) -> str:
        if self._workdir is None:
            return ""
        log = self._workdir / "error.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""
