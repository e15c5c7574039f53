"""``make local`` end to end: the verdict, the strategies, the template as the source of
its secrets, the rehearsal against "your own" MySQL, and that everything it starts is
stopped - on success, on a failing step and on Ctrl-C - and no secret value is shown."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import signal
import socket
import string
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from scripts.local_run import cli
from scripts.local_run.config import ADMIN_PASSWORD_VARIABLE, LocalConfig
from scripts.local_run.world import LocalWorld

from harness.secret_checks import assert_no_secret_in

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.mariadb import MariaDBServer

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.mariadb


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ports_in(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", text)]


@dataclass
class Run:
    """One whole ``make local`` run: what it printed, logged and exited with."""

    status: int
    out: str
    err: str
    logs: str
    secret_values: set[str] = field(default_factory=set)

    def step_result(self, number: int) -> str:
        """The summary table's result for step ``number``."""
        summary = self.out.split("[5/5] summary", 1)[1]
        match = re.search(rf"^\s+{number}\s+.*?\s(PASS|FAIL|SKIP)\s", summary, re.MULTILINE)
        assert match, f"no summary row for step {number}:\n{self.out}"
        return match.group(1)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps(record.__dict__, default=str))


def run_make_local(args: list[str]) -> Run:
    """``make local`` in-process; every secret value it had is recorded as it checks them."""
    seen: set[str] = set()
    original = LocalWorld.every_secret_value

    def spy(self: LocalWorld) -> set[str]:
        values = original(self)
        seen.update(values)
        return values

    out, err, records = io.StringIO(), io.StringIO(), _Records()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        with (
            pytest.MonkeyPatch.context() as patch,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            patch.setattr(LocalWorld, "every_secret_value", spy)
            status = cli.main(args)
    finally:
        root.removeHandler(records)
    return Run(status, out.getvalue(), err.getvalue(), "\n".join(records.lines), seen)


def assert_no_secret_in_run(values: set[str], *texts: str) -> None:
    assert values, "the run must have checked some secret values"
    assert_no_secret_in(texts, secrets=values)  # fails quoting the texts masked, never a value


@pytest.fixture(scope="module")
def default_run() -> Run:
    """``make local`` with no options, once for the tests that read its output."""
    return run_make_local([])


def test_every_step_runs_and_shows_progress(default_run: Run) -> None:
    # Then
    for number in range(1, 6):
        assert f"[{number}/5]" in default_run.out
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        assert step in default_run.out
    assert "RetrievalLatency" not in default_run.err


def test_the_application_rotation_drill_and_leak_check_hold(default_run: Run) -> None:
    # Then (step 3, the canary, is judged by the verdict test below)
    assert [default_run.step_result(n) for n in (1, 2, 4, 5)] == ["PASS"] * 4
    assert "the application worked after every step" in default_run.out
    assert "setSecret failed (DatabaseUnreachableError)" in default_run.out


def test_no_secret_value_is_printed_or_logged(default_run: Run) -> None:
    # Then: every version of every secret, and the admin password, checked everywhere
    assert len(default_run.secret_values) >= 7
    assert_no_secret_in_run(
        default_run.secret_values, default_run.out, default_run.err, default_run.logs
    )


def test_everything_started_is_stopped(default_run: Run) -> None:
    # Then
    ports = ports_in(default_run.out)
    assert len(ports) >= 2
    assert not any(port_open(p) for p in ports)


def test_the_whole_local_flow_holds(default_run: Run) -> None:
    # Then
    assert default_run.status == 0, default_run.out
    assert "VERDICT: every step held" in default_run.out


def test_alternating_users_keep_the_application_working() -> None:
    # When
    run = run_make_local(["--strategy", "alternating-users"])
    # Then
    assert run.step_result(2) == "PASS", run.out
    assert "users alternated (app_user -> app_user_clone)" in run.out
    assert "refused 1045" not in run.out.split("[2/5]")[1].split("[3/5]")[0]
    assert run.step_result(4) == "PASS", run.out
    assert_no_secret_in_run(run.secret_values, run.out, run.err, run.logs)


def test_the_world_is_made_as_the_template_defines_and_fully_undone() -> None:
    # Given
    environ_before = dict(os.environ)
    world = LocalWorld(config=LocalConfig(environment="stg"), progress=lambda *_: None)
    # When
    with world:
        names = {kind: h.name for kind, h in world.secrets.items()}
        database = world.secret_document("database")
        jwt = world.secret_document("jwt")
        assert world.db is not None
        logs_in = world.db.logs_in(database["username"], database["password"])
        described = world.client.describe_secret(SecretId=names["database"])
        endpoint_port = int(world.endpoint_url.rsplit(":", 1)[1])
        db_port = world.db.port
    # Then
    assert names == {
        "database": "goal-mandala-stg-secret-database",
        "jwt": "goal-mandala-stg-secret-jwt",
        "external-apis": "goal-mandala-stg-secret-external-apis",
    }
    assert described["KmsKeyId"] == "alias/goal-mandala-stg-secrets-key"
    # (the generated values are described by their shape: a failed assert quotes its operands)
    password, signing_key = database["password"], jwt["signingKey"]
    shape = (
        len(password),
        bool(set(password) & set("/@\"'\\ ")),
        len(signing_key),
        set(signing_key) <= set(string.ascii_letters + string.digits),
    )
    assert shape == (32, False, 64, True)
    assert (database["username"], database["dbname"], database["ssl"]) == ("app_user", "app", True)
    assert logs_in
    assert not port_open(endpoint_port)
    assert not port_open(db_port)
    assert dict(os.environ) == environ_before


def test_a_failing_step_fails_the_verdict_and_stops_everything(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a canary that breaks
    from scripts.local_run.flow import Flow

    def broken(self: Flow, outcome: Any) -> None:
        raise RuntimeError("canary exploded")

    monkeypatch.setattr(Flow, "canary", broken)
    # When
    status = cli.main([])
    # Then
    out = capsys.readouterr().out
    assert status == 1
    assert "RuntimeError: canary exploded" in out
    assert "VERDICT: FAILED at step 3" in out
    ports = ports_in(out)
    assert len(ports) >= 2  # the database's and the moto server's, or the check proves nothing
    assert not any(port_open(p) for p in ports)


@pytest.mark.parametrize(
    ("sig", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["ctrl-c", "sigterm", "terminal-closed"],
)
def test_ctrl_c_stops_everything_it_started(sig: signal.Signals, status: int) -> None:
    # Given make local running in its own process
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.local_run"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if "setup  app user" in line:
                break
        # When Ctrl-C (or a kill, or the terminal closing) arrives mid-run
        process.send_signal(sig)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    # Then (128 + the signal's number, as a shell reports a process the signal ended)
    out = "".join(seen) + rest
    assert process.returncode == status, out
    assert "interrupted: everything started was stopped." in out
    ports = ports_in(out)
    assert ports
    assert not any(port_open(p) for p in ports)


def test_a_rehearsal_against_your_own_mysql_leaves_nothing_behind(
    mariadb: MariaDBServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "your" MySQL (the session's server standing in for it) and its admin password
    monkeypatch.setenv(ADMIN_PASSWORD_VARIABLE, mariadb.admin_password)
    args = ["--db-host", mariadb.host, "--db-port", str(mariadb.port),
            "--db-admin-user", mariadb.admin_user, "--db-ca", mariadb.ca_path]  # fmt: skip
    # When
    run = run_make_local(args)
    # Then the rehearsal ran, the drill was not done to your server, nothing is left
    assert [run.step_result(n) for n in (1, 2, 4, 5)] == ["PASS", "PASS", "SKIP", "PASS"], run.out
    assert "skipped: the drill freezes the database server" in run.out
    assert "stopping the database" not in run.out  # yours is never stopped
    assert "dropping the rehearsal user" in run.out
    assert mariadb.running
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'sg\\_rehearsal\\_%'")
        assert cur.fetchone() == (0,)
    admin_password_checked = mariadb.admin_password in run.secret_values  # not quoted on failure
    assert admin_password_checked, "the leak check must cover your admin password"
    assert_no_secret_in_run(run.secret_values, run.out, run.err, run.logs)


def test_your_mysql_needs_the_password_in_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    monkeypatch.delenv(ADMIN_PASSWORD_VARIABLE, raising=False)
    # When
    status = cli.main(["--db-host", "127.0.0.1"])
    # Then
    assert status == 2
    assert ADMIN_PASSWORD_VARIABLE in capsys.readouterr().err


def test_your_mysql_refusing_the_admin_login_is_one_line_naming_what_to_check(
    mariadb: MariaDBServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "your" MySQL and a wrong admin password in the environment
    wrong_password = "not-the-admin-password-7Qx"
    monkeypatch.setenv(ADMIN_PASSWORD_VARIABLE, wrong_password)
    args = ["--db-host", mariadb.host, "--db-port", str(mariadb.port),
            "--db-admin-user", mariadb.admin_user, "--db-ca", mariadb.ca_path]  # fmt: skip
    # When
    run = run_make_local(args)
    # Then a typed, one-line error says where and what to check; no traceback, no password
    assert run.status == 1
    assert f"{mariadb.host}:{mariadb.port}: DatabaseAuthError" in run.err
    assert ADMIN_PASSWORD_VARIABLE in run.err
    assert "Traceback" not in run.err
    assert_no_secret_in_run({wrong_password, mariadb.admin_password}, run.out, run.err, run.logs)


def test_an_admin_without_the_privileges_is_a_typed_error_and_leaves_nothing(
    mariadb: MariaDBServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "your" MySQL and an admin user who owns one database and may create nothing
    weak, weak_password = f"weak_{os.getpid()}", "weak-Admin-Passw0rd-3"
    mariadb.create_database_user(database=f"{weak}_db", username=weak, password=weak_password)
    monkeypatch.setenv(ADMIN_PASSWORD_VARIABLE, weak_password)
    args = ["--db-host", mariadb.host, "--db-port", str(mariadb.port),
            "--db-admin-user", weak, "--db-ca", mariadb.ca_path]  # fmt: skip
    try:
        # When
        run = run_make_local(args)
    finally:
        mariadb.drop_database_user(database=f"{weak}_db", username=weak)
    # Then a one-line typed error names the missing privileges; nothing was left behind
    assert run.status == 1
    assert "DatabaseError" in run.err
    assert "CREATE USER" in run.err
    assert "Traceback" not in run.err
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'sg\\_rehearsal\\_%'")
        assert cur.fetchone() == (0,)
        cur.execute("SHOW DATABASES LIKE 'sg\\_rehearsal\\_%'")
        assert cur.fetchall() == ()
    assert_no_secret_in_run({weak_password}, run.out, run.err, run.logs)


def rehearsal_leftovers(mariadb: MariaDBServer) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The rehearsal users and databases on the server, then dropped (so no test inherits)."""
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT user FROM mysql.user WHERE user LIKE 'sg\\_rehearsal\\_%'")
        users = cur.fetchall()
        cur.execute("SHOW DATABASES LIKE 'sg\\_rehearsal\\_%'")
        databases = cur.fetchall()
        for (user,) in users:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
        for (database,) in databases:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    return users, databases


@contextlib.contextmanager
def admin_with(mariadb: MariaDBServer, *grants: str) -> Iterator[tuple[str, str]]:
    """A login on "your" MySQL holding ``grants`` (``{user}`` stands for it), dropped after."""
    user, password = f"dba_{os.getpid()}", "dba-Admin-Passw0rd-4"
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        for grant in grants:
            cur.execute(grant.format(user=f"`{user}`@'%'"))
    try:
        yield user, password
    finally:
        with mariadb.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))


def test_an_admin_that_can_create_but_not_drop_is_told_what_it_needs_and_leaves_nothing(
    mariadb: MariaDBServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "your" MySQL and an admin with CREATE, CREATE USER and GRANT OPTION, no DROP
    with admin_with(mariadb, "GRANT CREATE, CREATE USER ON *.* TO {user} WITH GRANT OPTION") as (
        user,
        password,
    ):
        monkeypatch.setenv(ADMIN_PASSWORD_VARIABLE, password)
        args = ["--db-host", mariadb.host, "--db-port", str(mariadb.port),
                "--db-admin-user", user, "--db-ca", mariadb.ca_path]  # fmt: skip
        # When
        run = run_make_local(args)
        left = rehearsal_leftovers(mariadb)
    # Then the error names the privileges really needed; no user, no database is left
    assert run.status == 1, run.out
    assert "CREATE USER and ALL PRIVILEGES" in run.err
    assert "WITH GRANT OPTION" in run.err
    assert left == ((), ())
    assert_no_secret_in_run({password}, run.out, run.err, run.logs)


def test_an_admin_with_the_privileges_the_error_names_can_rehearse(
    mariadb: MariaDBServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an admin holding what docs/operations.md asks for (not the cluster's master)
    with admin_with(
        mariadb,
        "GRANT CREATE USER ON *.* TO {user}",
        "GRANT ALL PRIVILEGES ON `sg%`.* TO {user} WITH GRANT OPTION",
    ) as (user, password):
        monkeypatch.setenv(ADMIN_PASSWORD_VARIABLE, password)
        args = ["--db-host", mariadb.host, "--db-port", str(mariadb.port),
                "--db-admin-user", user, "--db-ca", mariadb.ca_path]  # fmt: skip
        # When
        run = run_make_local(args)
        left = rehearsal_leftovers(mariadb)
    # Then
    assert run.status == 0, run.out + run.err
    assert left == ((), ())


def test_an_undo_the_admin_cannot_finish_names_what_is_left_and_how_to_drop_it(
    mariadb: MariaDBServer,
) -> None:
    # Given a rehearsal user and database, and an admin who may drop users but not databases
    from scripts.local_run.db_admin import DatabaseAdmin

    from secret_service.errors import DatabaseError

    name = f"sg_rehearsal_undo{os.getpid()}"
    mariadb.create_database_user(database=name, username=name, password="undo-Passw0rd-5x")
    with admin_with(mariadb, "GRANT CREATE USER ON *.* TO {user}") as (user, password):
        admin = DatabaseAdmin(mariadb.host, mariadb.port, user, password, mariadb.ca_path)
        # When
        with pytest.raises(DatabaseError) as caught:
            admin.drop_app_user(username=name, database=name)
    left = rehearsal_leftovers(mariadb)
    # Then the user went; the database is named with the statement that drops it
    assert f"DROP DATABASE IF EXISTS `{name}`" in str(caught.value)
    assert left == ((), ((name,),))


def test_proxies_and_endpoint_settings_in_your_environment_do_not_redirect_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a shell set up for a corporate proxy and for another AWS emulator: each of
    # these would send the run's AWS calls somewhere other than its own moto server
    # (dead ports on 127.0.0.1, so nothing leaves this machine whatever happens)
    dead = "http://127.0.0.1:9"
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(variable, dead)
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", dead)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", dead)
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    environ_before = dict(os.environ)
    # When
    run = run_make_local([])
    # Then every step held against the run's own servers; your environment is as it was
    assert run.status == 0, run.out + run.err
    assert dict(os.environ) == environ_before


def test_powertools_debug_switches_in_your_shell_do_not_reach_the_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a shell left in Powertools' debugging mode (the canary refuses it: it would
    # silence the metrics every alarm reads), which no deployed function would have
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    environ_before = dict(os.environ)
    # When
    run = run_make_local([])
    # Then the functions ran with the template's variables only; the shell is as it was
    assert run.status == 0, run.out + run.err
    assert "CanaryConfigError" not in run.out + run.err
    assert dict(os.environ) == environ_before


def test_a_reader_that_goes_away_ends_the_run_quietly_with_everything_stopped() -> None:
    # Given make local piped into a reader that stops after two lines (`| head -2`)
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.local_run"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        head = [process.stdout.readline() for _ in range(2)]
        # When the reader closes the pipe
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
    # Then it ends as a process SIGPIPE ended would, without a traceback, servers stopped
    assert process.returncode == 128 + signal.SIGPIPE, err
    assert "Traceback" not in err
    ports = ports_in("".join(head))
    assert ports, head
    assert not any(port_open(p) for p in ports)


def test_the_clean_up_reset_does_not_wait_on_the_moto_server_threads() -> None:
    # Given moto's backend lock held by this (the main) thread, as a Ctrl-C landing in
    # moto code can leave it, so that the server's request threads would wait on it
    from moto.core.base_backend import backend_lock
    from scripts.local_run.world import _reset_moto

    backend_lock.acquire()
    try:
        # When the clean-up resets moto, then it returns (over HTTP, through a server
        # thread, it waited 10 s and raised TimeoutError, failing the clean-up)
        _reset_moto()
    finally:
        backend_lock.release()
