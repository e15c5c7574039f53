"""Crashes, an unreachable database, and rollbacks: the application is never locked out.

Crashes are injected after a Secrets Manager call has taken effect (a botocore
``after-call`` hook on the function's own client) and after the SQL password change (a
wrapper around the database adapter) - never by mocking PyMySQL. Then the step is
delivered again, as Secrets Manager retries, and the rotation carries on.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest
from tests.integration.rotation.conftest import (
    logs_in,
    revoke_database,
    secret_doc,
    stage_logs_in,
    start,
)

from harness.mariadb import free_port
from harness.rotation import ROTATION_STEPS, rotate, staging_labels, sync_default_version
from rotation_errors import (
    RotationAbortedError,
    RotationFinishFailedError,
    RotationStateError,
    RotationTestFailedError,
)
from secret_service.errors import DatabaseUnreachableError, SecretFormatError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.integration.rotation.conftest import Rig, SecretUnderTest

    from harness.mariadb import MariaDBServer
    from secret_service.models import DatabaseCredentials

pytestmark = pytest.mark.mariadb


class InjectedCrash(Exception):
    """The function 'died' right after the call before it took effect."""


def crash_after_call(app: ModuleType, operation: str, nth: int) -> Callable[[], None]:
    """Raise after the nth ``operation`` response; returns the function that disarms it."""
    client = app.runtime().store.client
    calls = {"n": 0}
    event_name = f"after-call.secrets-manager.{operation}"

    def _crash(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == nth:
            raise InjectedCrash(f"{operation} #{nth}")

    client.meta.events.register(event_name, _crash)
    return lambda: client.meta.events.unregister(event_name, _crash)


class CrashAfterPasswordChange:
    """The real adapter, but the process 'dies' right after the password change committed."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _after(self) -> None:
        if self.armed:
            self.armed = False
            raise InjectedCrash("after the SQL password change")

    def change_own_password(self, creds: DatabaseCredentials, *, new_password: str) -> Any:
        account = self._inner.change_own_password(creds, new_password=new_password)
        self._after()
        return account

    def sync_clone(self, admin: DatabaseCredentials, **kwargs: Any) -> None:
        self._inner.sync_clone(admin, **kwargs)
        self._after()


def crash_after_sql(app: ModuleType) -> None:
    """The function's next password change or clone sync 'dies' once it committed."""
    rt = app.runtime()
    app.install_runtime(dataclasses.replace(rt, db=CrashAfterPasswordChange(rt.db)))


# Every Secrets Manager call of a single-user rotation, by step (nth call of that name).
SM_CALLS = [
    ("createSecret", "DescribeSecret", 1),
    ("createSecret", "GetSecretValue", 1),  # AWSCURRENT
    ("createSecret", "GetSecretValue", 2),  # AWSPENDING (not found yet)
    ("createSecret", "GetRandomPassword", 1),
    ("createSecret", "PutSecretValue", 1),
    ("setSecret", "DescribeSecret", 1),
    ("setSecret", "GetSecretValue", 1),
    ("setSecret", "GetSecretValue", 2),
    ("testSecret", "DescribeSecret", 1),
    ("testSecret", "GetSecretValue", 2),
    ("finishSecret", "DescribeSecret", 1),
    ("finishSecret", "GetSecretValue", 2),
    ("finishSecret", "UpdateSecretVersionStage", 1),  # AWSCURRENT moved
    ("finishSecret", "UpdateSecretVersionStage", 2),  # AWSPENDING removed
]


def _app_can_log_in(
    mariadb: MariaDBServer, client: SecretsManagerClient, arn: str, *, window: bool
) -> bool:
    """AWSCURRENT logs in; in single-user's set->finish window, AWSPENDING does instead."""
    if stage_logs_in(mariadb, client, arn, "AWSCURRENT"):
        return True
    return window and stage_logs_in(mariadb, client, arn, "AWSPENDING")


@pytest.mark.parametrize(("crash_step", "operation", "nth"), SM_CALLS)
def test_a_crash_after_any_secrets_manager_call_recovers_on_retry(
    crash_step: str,
    operation: str,
    nth: int,
    db_secret: SecretUnderTest,
    rig: Rig,
) -> None:
    rotation_app = rig.app
    invoke = rig.invoke
    secretsmanager = rig.sm
    mariadb = rig.mariadb
    token, event = start(secretsmanager, db_secret.arn)
    in_window = False
    for step in ROTATION_STEPS:
        if step == crash_step:
            disarm = crash_after_call(rotation_app, operation, nth)
            try:
                with pytest.raises(InjectedCrash):
                    invoke(event(step))
            finally:
                disarm()
            assert _app_can_log_in(mariadb, secretsmanager, db_secret.arn, window=in_window)
        invoke(event(step))  # Secrets Manager's retry (or the normal delivery)
        in_window = step in ("setSecret", "testSecret")
        assert _app_can_log_in(mariadb, secretsmanager, db_secret.arn, window=in_window)

    assert staging_labels(secretsmanager, db_secret.arn)[token][0] == "AWSCURRENT"
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")
    assert not logs_in(mariadb, db_secret.username, db_secret.password)


def test_a_crash_right_after_the_password_change_recovers_on_retry(
    rotation_app: ModuleType,
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    db_secret: SecretUnderTest,
    mariadb: MariaDBServer,
) -> None:
    # Given the function dies right after ALTER/SET PASSWORD committed
    crash_after_sql(rotation_app)
    token, event = start(secretsmanager, db_secret.arn)
    invoke(event("createSecret"))
    with pytest.raises(InjectedCrash):
        invoke(event("setSecret"))

    # Then the database holds AWSPENDING's password (no stage-less password)
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSPENDING")

    # When Secrets Manager retries setSecret and carries on
    for step in ("setSecret", "testSecret", "finishSecret"):
        invoke(event(step))

    # Then the rotation completed and AWSCURRENT logs in
    assert staging_labels(secretsmanager, db_secret.arn)[token] == ["AWSCURRENT"]
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")


def test_alternating_users_a_crash_after_the_clone_sync_keeps_awscurrent_working(
    rig: Rig,
) -> None:
    rotation_app = rig.app
    invoke = rig.invoke
    secretsmanager = rig.sm
    mariadb = rig.mariadb
    secret = rig.alternating_secret()
    crash_after_sql(rotation_app)
    token, event = start(secretsmanager, secret.arn)
    invoke(event("createSecret"))
    with pytest.raises(InjectedCrash):
        invoke(event("setSecret"))
    assert stage_logs_in(mariadb, secretsmanager, secret.arn, "AWSCURRENT")

    for step in ("setSecret", "testSecret", "finishSecret"):
        invoke(event(step))
        assert stage_logs_in(mariadb, secretsmanager, secret.arn, "AWSCURRENT")

    assert staging_labels(secretsmanager, secret.arn)[token] == ["AWSCURRENT"]


# -- database unreachable ---------------------------------------------------------------


@pytest.fixture
def paused(
    mariadb: MariaDBServer, rotation_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], None]]:
    """Freeze the server on demand (always thawed at the end); short timeouts meanwhile."""
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_S", "0.5")  # statements time out after 1 s
    rotation_app.install_runtime(None)
    yield mariadb.pause
    mariadb.resume()


@pytest.mark.parametrize("step", ["createSecret", "finishSecret"])
def test_steps_without_sql_do_not_need_the_database_while_it_hangs(
    step: str,
    db_secret: SecretUnderTest,
    paused: Callable[[], None],
    rig: Rig,
) -> None:
    invoke = rig.invoke
    secretsmanager = rig.sm
    mariadb = rig.mariadb
    token, event = start(secretsmanager, db_secret.arn)
    steps = ROTATION_STEPS[: ROTATION_STEPS.index(step)]
    for earlier in steps:
        invoke(event(earlier))

    if step == "createSecret":
        paused()
        invoke(event(step))
        mariadb.resume()
        assert secret_doc(secretsmanager, db_secret.arn, "AWSPENDING")["password"]
    else:
        # finishSecret proves the database holds the pending password before moving
        # AWSCURRENT: with the server frozen it refuses, and AWSCURRENT stays put.
        paused()
        with pytest.raises(DatabaseUnreachableError):
            invoke(event(step))
        mariadb.resume()
        assert staging_labels(secretsmanager, db_secret.arn)[token] == ["AWSPENDING"]
        invoke(event(step))
        assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")


@pytest.mark.parametrize("step", ["setSecret", "testSecret"])
def test_a_hanging_database_fails_the_step_changes_nothing_and_the_retry_completes(
    step: str,
    db_secret: SecretUnderTest,
    paused: Callable[[], None],
    rig: Rig,
) -> None:
    invoke = rig.invoke
    secretsmanager = rig.sm
    mariadb = rig.mariadb
    token, event = start(secretsmanager, db_secret.arn)
    for earlier in ROTATION_STEPS[: ROTATION_STEPS.index(step)]:
        invoke(event(earlier))
    labels_before = staging_labels(secretsmanager, db_secret.arn)

    paused()
    with pytest.raises(DatabaseUnreachableError) as caught:
        invoke(event(step))
    mariadb.resume()

    assert "VPC" in str(caught.value) or "security group" in str(caught.value)
    assert staging_labels(secretsmanager, db_secret.arn) == labels_before  # no rollback
    for rest in ROTATION_STEPS[ROTATION_STEPS.index(step) :]:
        invoke(event(rest))
    assert staging_labels(secretsmanager, db_secret.arn)[token] == ["AWSCURRENT"]
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")


def test_a_closed_port_is_reported_as_unreachable_not_as_a_bad_password(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    make_db_secret: Callable[..., SecretUnderTest],
    mariadb: MariaDBServer,
) -> None:
    secret = make_db_secret(extra={"port": free_port()})
    _token, event = start(secretsmanager, secret.arn)
    invoke(event("createSecret"))

    with pytest.raises(DatabaseUnreachableError) as caught:
        invoke(event("setSecret"))

    assert "security group" in str(caught.value)
    assert logs_in(mariadb, secret.username, secret.password)


# -- rollback ---------------------------------------------------------------------------


def test_test_secret_failing_rolls_the_password_and_the_label_back(
    invoke: Callable[[dict[str, Any]], None],
    secretsmanager: SecretsManagerClient,
    db_secret: SecretUnderTest,
    mariadb: MariaDBServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given setSecret changed the password, then the user lost its database privileges
    token, event = start(secretsmanager, db_secret.arn)
    invoke(event("createSecret"))
    invoke(event("setSecret"))
    pending = secret_doc(secretsmanager, db_secret.arn, "AWSPENDING")
    revoke_database(mariadb, db_secret)
    capsys.readouterr()

    # When testSecret runs
    with pytest.raises(RotationTestFailedError) as caught:
        invoke(event("testSecret"))

    # Then the database is back on AWSCURRENT's password, AWSPENDING is gone
    assert caught.value.rolled_back
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")
    assert not logs_in(mariadb, pending["username"], pending["password"])
    labels = staging_labels(secretsmanager, db_secret.arn)
    assert token not in labels
    assert "AWSPENDING" not in {stage for stages in labels.values() for stage in stages}
    out = capsys.readouterr().out
    assert '"RotationRolledBack":[1.0]' in out
    assert '"RotationFailed":[1.0]' in out
    assert '"message":"rotation rolled back"' in out
    # And Secrets Manager's retry is refused: the token is no longer AWSPENDING
    with pytest.raises(RotationStateError, match="not AWSPENDING"):
        invoke(event("testSecret"))


def test_alternating_users_test_failure_restores_the_previous_password(rig: Rig) -> None:
    invoke, secretsmanager, mariadb = rig.invoke, rig.sm, rig.mariadb
    # Given a first rotation (app -> app_clone), and a second one whose setSecret ran
    secret = rig.alternating_secret()

    rotate(invoke, secretsmanager, secret.arn)
    _token, event = start(secretsmanager, secret.arn)
    invoke(event("createSecret"))
    invoke(event("setSecret"))
    # ... after which app_clone (AWSCURRENT's user) gains a privilege app lacks
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("GRANT PROCESS ON *.* TO %s@'%%'", (secret.username + "_clone",))

    with pytest.raises(RotationTestFailedError) as caught:
        invoke(event("testSecret"))

    assert caught.value.rolled_back
    assert "grants" in str(caught.value)
    assert stage_logs_in(mariadb, secretsmanager, secret.arn, "AWSCURRENT")
    assert stage_logs_in(mariadb, secretsmanager, secret.arn, "AWSPREVIOUS")
    assert logs_in(mariadb, secret.username, secret.password)


def deny(app: ModuleType, operation: str, *, once: bool) -> Callable[[], None]:
    """Refuse ``operation`` (AccessDenied): once, or until the returned disarm runs."""
    client = app.runtime().store.client
    event_name = f"before-call.secrets-manager.{operation}"

    class _Http:
        status_code = 400
        headers: dict[str, str] = {}  # noqa: RUF012
        content = b""

    def _deny(**_: Any) -> tuple[Any, dict[str, Any]]:
        if once:
            client.meta.events.unregister(event_name, _deny)
        return _Http(), {
            "Error": {"Code": "AccessDeniedException", "Message": "not allowed"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    client.meta.events.register(event_name, _deny)
    return lambda: client.meta.events.unregister(event_name, _deny)


def test_finish_refused_for_good_rolls_back_so_awscurrent_logs_in(
    db_secret: SecretUnderTest,
    capsys: pytest.CaptureFixture[str],
    rig: Rig,
) -> None:
    rotation_app = rig.app
    invoke = rig.invoke
    secretsmanager = rig.sm
    mariadb = rig.mariadb
    token, event = start(secretsmanager, db_secret.arn)
    for step in ("createSecret", "setSecret", "testSecret"):
        invoke(event(step))
    deny(rotation_app, "UpdateSecretVersionStage", once=True)
    capsys.readouterr()

    with pytest.raises(RotationFinishFailedError) as caught:
        invoke(event("finishSecret"))

    assert caught.value.rolled_back
    assert "UpdateSecretVersionStage" in str(caught.value)
    assert stage_logs_in(mariadb, secretsmanager, db_secret.arn, "AWSCURRENT")
    assert token not in staging_labels(secretsmanager, db_secret.arn)
    assert '"RotationRolledBack":[1.0]' in capsys.readouterr().out


def test_set_secret_recovers_with_awsprevious_when_the_database_went_back(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given a rotation (AWSPREVIOUS = the initial password), after which the database was
    # restored from a snapshot taken before it: it holds AWSPREVIOUS's password again
    rotate(rig.invoke, rig.sm, db_secret.arn)
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (db_secret.username, db_secret.password))
    assert not rig.stage_logs_in(db_secret.arn, "AWSCURRENT")

    # When the next rotation runs
    rotate(rig.invoke, rig.sm, db_secret.arn)

    # Then setSecret logged in with AWSPREVIOUS and the new AWSCURRENT works
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")


def test_set_secret_refuses_when_no_stage_logs_in_and_changes_nothing(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY 'changed-by-hand-1'", (db_secret.username,))
    token, event = start(rig.sm, db_secret.arn)
    rig.invoke(event("createSecret"))

    with pytest.raises(RotationStateError, match="changed outside rotation"):
        rig.invoke(event("setSecret"))

    assert rig.logs_in(db_secret.username, "changed-by-hand-1")
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]


def test_test_secret_with_a_refused_pending_password_rolls_back_only_the_label(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given setSecret ran, then someone put the old password back by hand
    token, event = start(rig.sm, db_secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (db_secret.username, db_secret.password))

    with pytest.raises(RotationTestFailedError) as caught:
        rig.invoke(event("testSecret"))

    assert caught.value.rolled_back
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")
    assert token not in staging_labels(rig.sm, db_secret.arn)


def test_a_rollback_with_no_working_login_says_to_fix_it_by_hand(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    token, event = start(rig.sm, db_secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY 'neither-stage-1'", (db_secret.username,))

    with pytest.raises(RotationStateError, match="by hand"):
        rig.invoke(event("testSecret"))

    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]


def test_a_first_alternating_rotation_failing_its_test_leaves_the_clone_unused(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = rig.alternating_secret()
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("GRANT PROCESS ON *.* TO %s@'%%'", (secret.username,))
    capsys.readouterr()

    with pytest.raises(RotationTestFailedError):
        rig.invoke(event("testSecret"))

    assert '"message":"alternate user left unused"' in capsys.readouterr().out
    assert rig.logs_in(secret.username, secret.password)
    assert token not in staging_labels(rig.sm, secret.arn)


@pytest.mark.parametrize(
    ("pending_key", "reason"), [("short", "signingKey"), ("K" * 64, "equals AWSCURRENT")]
)
def test_a_bad_pending_signing_key_is_rolled_back(pending_key: str, reason: str, rig: Rig) -> None:
    doc = {"signingKey": "K" * 64, "algorithm": "HS256", "rotationStrategy": "random-key"}
    arn = rig.sm.create_secret(Name="app-test-secret-jwt", SecretString=json.dumps(doc))["ARN"]
    token, event = start(rig.sm, arn)
    rig.sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                            SecretString=json.dumps(doc | {"signingKey": pending_key}),
                            VersionStages=["AWSPENDING"])  # fmt: skip

    with pytest.raises(RotationTestFailedError, match=reason) as caught:
        rig.invoke(event("testSecret"))

    assert caught.value.rolled_back
    assert token not in staging_labels(rig.sm, arn)
    assert rig.doc(arn)["signingKey"] == "K" * 64


def test_finish_denied_every_label_move_still_restores_the_database_and_says_so(
    db_secret: SecretUnderTest, capsys: pytest.CaptureFixture[str], rig: Rig
) -> None:
    # Given the role may not UpdateSecretVersionStage at all (a policy mistake)
    token, event = start(rig.sm, db_secret.arn)
    for step in ("createSecret", "setSecret", "testSecret"):
        rig.invoke(event(step))
    disarm = deny(rig.app, "UpdateSecretVersionStage", once=False)
    capsys.readouterr()

    # When finishSecret runs
    try:
        with pytest.raises(RotationFinishFailedError) as caught:
            rig.invoke(event("finishSecret"))
    finally:
        disarm()

    # Then the database is back on AWSCURRENT, and the error says AWSPENDING is still there
    assert caught.value.rolled_back
    assert "AWSPENDING could not be removed" in str(caught.value)
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]
    assert '"RotationRolledBack":[1.0]' in capsys.readouterr().out
    # And a retry of finishSecret never moves AWSCURRENT to the refused password
    with pytest.raises(RotationStateError, match="does not accept the AWSPENDING password"):
        rig.invoke(event("finishSecret"))
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")


def test_a_crash_inside_the_rollback_after_the_password_is_restored_recovers_on_retry(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given setSecret ran and testSecret will fail (the user lost its database) ...
    token, event = start(rig.sm, db_secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))
    revoke_database(rig.mariadb, db_secret)
    # ... and the function dies right after the rollback restored the password
    crash_after_sql(rig.app)
    with pytest.raises(InjectedCrash):
        rig.invoke(event("testSecret"))
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]

    # When Secrets Manager retries testSecret
    with pytest.raises(RotationTestFailedError) as caught:
        rig.invoke(event("testSecret"))

    # Then the rollback completes: AWSCURRENT logs in, AWSPENDING is gone
    assert caught.value.rolled_back
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")
    assert token not in staging_labels(rig.sm, db_secret.arn)


@pytest.mark.parametrize("cancelled_after", ["setSecret", "testSecret"])
def test_rotation_cancelled_mid_way_rolls_back_at_the_next_step_and_a_new_rotation_finishes(
    rig: Rig, cancelled_after: str
) -> None:
    # Given a single-user rotation whose setSecret changed the password, then
    # CancelRotateSecret turned rotation off (the database holds the AWSPENDING password)
    secret = rig.make_db_secret()
    token, event = start(rig.sm, secret.arn)
    for step in ROTATION_STEPS[: ROTATION_STEPS.index(cancelled_after) + 1]:
        rig.invoke(event(step))
    rig.sm.cancel_rotate_secret(SecretId=secret.arn)
    assert not rig.stage_logs_in(secret.arn, "AWSCURRENT")

    # When the next step of that rotation arrives (a retry, or an operator by hand)
    next_step = ROTATION_STEPS[ROTATION_STEPS.index(cancelled_after) + 1]
    with pytest.raises(RotationAbortedError) as caught:
        rig.invoke(event(next_step))

    # Then it is rolled back: AWSCURRENT logs in again and AWSPENDING is gone
    assert caught.value.rolled_back
    assert "RotateSecret" in str(caught.value)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert token not in staging_labels(rig.sm, secret.arn)
    # And once rotation is turned on again, a new rotation finishes
    rotate(rig.invoke, rig.sm, secret.arn)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")


def test_a_rotation_started_over_a_half_done_one_says_where_the_password_went(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given a rotation stopped after setSecret, and its AWSPENDING label dropped by hand
    # for a new rotation: only that now unlabelled version holds the database's password
    old_token, old_event = start(rig.sm, db_secret.arn)
    rig.invoke(old_event("createSecret"))
    rig.invoke(old_event("setSecret"))
    token, event = start(rig.sm, db_secret.arn, replace_pending=True)
    rig.invoke(event("createSecret"))

    # When the new rotation's setSecret runs
    with pytest.raises(RotationStateError) as caught:
        rig.invoke(event("setSecret"))

    # Then it says where to look for the password, and nothing changed
    assert "--include-deprecated" in str(caught.value)
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]
    # And once that version's value is put back as AWSCURRENT, the retries finish
    stranded = rig.sm.get_secret_value(SecretId=db_secret.arn, VersionId=old_token)
    rig.sm.put_secret_value(SecretId=db_secret.arn, SecretString=stranded["SecretString"])
    for step in ("setSecret", "testSecret", "finishSecret"):
        rig.invoke(event(step))
    sync_default_version(rig.sm, db_secret.arn)
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSCURRENT"]
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")


@pytest.mark.parametrize("pending_value", ['{"username": "app"}', "not json"])
@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_a_malformed_pending_value_is_named_and_rolled_back_by_test_secret(
    pending_value: str, strategy: str, rig: Rig
) -> None:
    # Given an AWSPENDING value that this function did not make (put by hand)
    secret = rig.make_db_secret(extra={"masterarn": rig.master_arn, "rotationStrategy": strategy})
    token, event = start(rig.sm, secret.arn)
    rig.sm.put_secret_value(SecretId=secret.arn, ClientRequestToken=token,
                            SecretString=pending_value, VersionStages=["AWSPENDING"])  # fmt: skip
    rig.invoke(event("createSecret"))

    # When setSecret runs, it refuses naming the AWSPENDING version, not AWSCURRENT
    with pytest.raises(SecretFormatError) as refused:
        rig.invoke(event("setSecret"))
    assert f"AWSPENDING value of version {token}" in str(refused.value)

    # And testSecret rolls the rotation back instead of failing the same way for ever
    with pytest.raises(RotationTestFailedError) as caught:
        rig.invoke(event("testSecret"))
    assert caught.value.rolled_back
    assert token not in staging_labels(rig.sm, secret.arn)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    # So the next rotation can start, and finishes
    rotate(rig.invoke, rig.sm, secret.arn)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")


def test_a_dbname_that_does_not_exist_rolls_back_at_test_secret(rig: Rig) -> None:
    # Given the secret's dbname names a database that is gone, and the user has a global
    # privilege, so the server answers 'unknown database' (1049) rather than 'denied'
    secret = rig.make_db_secret(extra={"dbname": "renamed_away_db"})
    with rig.mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("GRANT SELECT ON *.* TO %s@'%%'", (secret.username,))
    token, event = start(rig.sm, secret.arn)
    rig.invoke(event("createSecret"))
    rig.invoke(event("setSecret"))

    # When testSecret logs in with that dbname
    with pytest.raises(RotationTestFailedError) as caught:
        rig.invoke(event("testSecret"))

    # Then the rotation is rolled back: AWSCURRENT logs in again, the error names dbname
    assert caught.value.rolled_back
    assert "renamed_away_db" in str(caught.value)
    assert rig.stage_logs_in(secret.arn, "AWSCURRENT")
    assert token not in staging_labels(rig.sm, secret.arn)
