"""The rotation protocol: four idempotent steps over two small interfaces.

``run_step`` checks the secret's state the way Secrets Manager's own rotation functions
do (rotation enabled, token is a version of the secret, already-AWSCURRENT short-circuit,
token is AWSPENDING), then runs one entry of ``STEPS``. Each step reads what it needs
from Secrets Manager (:class:`SecretStore`) and the database (:class:`Database`) and is
safe to run again after a crash at any point:

* createSecret - if the token already has a value, nothing; else a new value as AWSPENDING.
* setSecret    - if the pending login already works, nothing; else change the password.
* testSecret   - log in with the pending value and prove it can work; on a definite
                 failure, roll back (database and AWSPENDING label) and raise.
* finishSecret - prove the database holds the pending password, move AWSCURRENT to the
                 token (AWSPREVIOUS follows), then drop AWSPENDING. If Secrets Manager
                 refuses the move for good (access denied, invalid request), roll back.

Invariant: the database password is always the one AWSCURRENT or AWSPENDING holds, and
AWSCURRENT never moves to a password the database does not accept.

What differs per strategy (single-user, alternating-users, random-key) is a small
:class:`StrategyOps` object; the protocol above is written once.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rotation_errors import (
    RotationAbortedError,
    RotationDatabaseError,
    RotationFinishFailedError,
    RotationSecretsManagerError,
    RotationStateError,
    RotationTestFailedError,
)
from rotation_model import (
    AWSCURRENT,
    AWSPENDING,
    AWSPREVIOUS,
    Account,
    RotationRequest,
    SecretMetadata,
    Step,
    Strategy,
    UserProfile,
)
from secret_service.errors import (
    DatabaseAuthError,
    DatabaseError,
    DatabaseTlsError,
    DatabaseUnreachableError,
    SecretAccessDeniedError,
    SecretDecryptionError,
    SecretFormatError,
    SecretNotFoundError,
    SecretThrottledError,
    SecretUnavailableError,
)
from secret_service.models import DatabaseCredentials, JwtConfig, parse_secret_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from aws_lambda_powertools import Logger

    from rotation_config import RotationConfig

__all__ = [
    "CLONE_SUFFIX",
    "JWT_KEY_LENGTH",
    "STEPS",
    "Database",
    "RotationContext",
    "SecretStore",
    "StepResult",
    "alternate_username",
    "resolve_strategy",
    "run_step",
]

CLONE_SUFFIX = "_clone"
MAX_USERNAME_LENGTH = 32  # MySQL 8.0's limit (MariaDB allows 80)
JWT_KEY_LENGTH = 64


class SecretStore(Protocol):
    """The Secrets Manager calls rotation makes (``secrets_store.SecretsManagerStore``)."""

    def describe(self, secret_id: str) -> SecretMetadata: ...

    def get_value(
        self,
        secret_id: str,
        *,
        stage: str,
        version_id: str | None = None,
        missing_ok: bool = False,
    ) -> str | None: ...

    def put_pending(
        self, secret_id: str, *, token: str, secret_string: str, rotation_token: str | None = None
    ) -> None: ...

    def random_password(
        self, *, length: int, exclude_characters: str, exclude_punctuation: bool = False
    ) -> str: ...

    def move_stage(
        self,
        secret_id: str,
        *,
        stage: str,
        to_version_id: str | None,
        from_version_id: str | None,
    ) -> None: ...


class Database(Protocol):
    """The database operations rotation needs (``mysql.MySQLDatabase``)."""

    def can_log_in(self, creds: DatabaseCredentials) -> bool: ...

    def account_of(self, creds: DatabaseCredentials) -> Account: ...

    def change_own_password(self, creds: DatabaseCredentials, *, new_password: str) -> Account: ...

    def set_password(
        self, admin: DatabaseCredentials, *, account: Account, new_password: str
    ) -> None: ...

    def sync_clone(
        self, admin: DatabaseCredentials, *, source: Account, target: Account, password: str
    ) -> None: ...

    def profile(self, creds: DatabaseCredentials) -> UserProfile: ...


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a step did: ``outcome`` is a short fixed word, for logs and metrics."""

    step: Step
    outcome: str
    secret_name: str
    strategy: Strategy | None = None

    @property
    def finished_rotation(self) -> bool:
        return self.step is Step.FINISH and self.outcome == "finished"


@dataclass(frozen=True, slots=True)
class RotationContext:
    """Everything one step needs. Reads always name the stage (and version)."""

    request: RotationRequest
    metadata: SecretMetadata
    strategy: Strategy
    store: SecretStore
    db: Database
    config: RotationConfig
    log: Logger
    current_value: str = field(repr=False)
    _pending: list[str | None] = field(default_factory=list, repr=False, compare=False)

    @property
    def arn(self) -> str:
        return self.metadata.arn

    @property
    def token(self) -> str:
        return self.request.token

    def current_string(self) -> str:
        return self.current_value

    def pending_string(self) -> str | None:
        """AWSPENDING's value for the token (read once per invocation), or None."""
        if not self._pending:
            self._pending.append(
                self.store.get_value(
                    self.arn, stage=AWSPENDING, version_id=self.token, missing_ok=True
                )
            )
        return self._pending[0]

    def require_pending_string(self) -> str:
        value = self.pending_string()
        if value is None:
            raise RotationStateError(
                f"secret {self.metadata.name} version {self.token} has no AWSPENDING value; "
                "createSecret has not run for this token",
                secret_id=self.arn,
            )
        return value

    def previous_string(self) -> str | None:
        if self.metadata.version_with(AWSPREVIOUS) is None:
            return None
        return self.store.get_value(self.arn, stage=AWSPREVIOUS, missing_ok=True)

    def event(self, message: str, **keys: object) -> None:
        self.log.info(
            message,
            extra={"step": self.request.step.value, "strategy": self.strategy.value, **keys},
            stacklevel=3,
        )


def resolve_strategy(
    document: Mapping[str, object], default: Strategy, *, secret_id: str
) -> Strategy:
    """The secret's ``rotationStrategy`` if present, else the function's default."""
    raw = document.get("rotationStrategy")
    if raw is None:
        return default
    if isinstance(raw, str) and raw in Strategy.__members__.values():
        return Strategy(raw)
    raise SecretFormatError(
        f"secret {secret_id} field 'rotationStrategy' must be one of {[s.value for s in Strategy]}",
        secret_id=secret_id,
        field="rotationStrategy",
    )


def alternate_username(username: str, *, secret_id: str) -> str:
    """``app`` <-> ``app_clone``."""
    if username.endswith(CLONE_SUFFIX) and len(username) > len(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    alternate = username + CLONE_SUFFIX
    if len(alternate) > MAX_USERNAME_LENGTH:
        raise SecretFormatError(
            f"secret {secret_id} field 'username' is {len(username)} characters; the "
            f"alternating-users strategy appends {CLONE_SUFFIX!r} and MySQL allows "
            f"{MAX_USERNAME_LENGTH}: shorten the user name",
            secret_id=secret_id,
            field="username",
        )
    return alternate


def _failed(ctx: RotationContext, reason: str) -> RotationTestFailedError:
    return RotationTestFailedError(
        f"secret {ctx.metadata.name}: {reason}", secret_id=ctx.arn, rolled_back=False
    )


def _require_login(ctx: RotationContext, pending: DatabaseCredentials) -> None:
    if not ctx.db.can_log_in(pending):
        raise RotationStateError(
            f"secret {ctx.metadata.name}: the database does not accept the AWSPENDING password "
            f"of {pending.username!r}; AWSCURRENT was not moved. Run setSecret again (or let "
            "Secrets Manager retry the rotation)",
            secret_id=ctx.arn,
        )


# -- strategies -----------------------------------------------------------------------


class StrategyOps(Protocol):
    def new_pending(self, ctx: RotationContext, current: str) -> str: ...

    def set(self, ctx: RotationContext) -> str: ...

    def ready_to_finish(self, ctx: RotationContext) -> None: ...

    def test(self, ctx: RotationContext) -> None: ...

    def rollback(self, ctx: RotationContext) -> None: ...


def _db_creds(secret_string: str, ctx: RotationContext) -> DatabaseCredentials:
    return DatabaseCredentials.from_secret_string(secret_string, secret_id=ctx.arn)


def _pending_creds(ctx: RotationContext) -> DatabaseCredentials:
    """AWSPENDING's login; a malformed value is named as AWSPENDING's, not the secret's."""
    try:
        return _db_creds(ctx.require_pending_string(), ctx)
    except SecretFormatError as exc:
        raise SecretFormatError(
            f"secret {ctx.metadata.name}: the AWSPENDING value of version {ctx.token} is not "
            f"a database login ({exc}); createSecret did not make it. testSecret rolls it "
            "back (or remove AWSPENDING from that version by hand); AWSCURRENT is untouched",
            secret_id=ctx.arn,
            field=exc.field,
        ) from exc


def _new_password(ctx: RotationContext) -> str:
    return ctx.store.random_password(
        length=ctx.config.password_length, exclude_characters=ctx.config.exclude_characters
    )


def _replaced(secret_string: str, ctx: RotationContext, **changes: str) -> str:
    """The secret's JSON document with only ``changes`` replaced: keys, order, types kept.

    Validation is the typed views' job; this keeps what they would normalise (a port or
    ``ssl`` stored as a string, absent defaults) exactly as other readers expect it.
    """
    document = parse_secret_json(secret_string, secret_id=ctx.arn)
    document.update(changes)
    return json.dumps(document)


def _same_server(
    a: DatabaseCredentials, b: DatabaseCredentials, ctx: RotationContext, what: str
) -> None:
    if (a.host, a.port) != (b.host, b.port):
        raise RotationStateError(
            f"secret {ctx.metadata.name}: {what} points at {b.host}:{b.port} but AWSCURRENT "
            f"at {a.host}:{a.port}; refusing to change a password on another server"
            + (_STALE_PENDING.format(token=ctx.token) if what == "AWSPENDING" else ""),
            secret_id=ctx.arn,
        )


# AWSPENDING no longer matches AWSCURRENT: AWSCURRENT was changed by hand after createSecret.
_STALE_PENDING = (
    ". AWSPENDING was made from an earlier AWSCURRENT (changed since createSecret) and this "
    "rotation cannot go on: remove the label from version {token} (UpdateSecretVersionStage "
    "--remove-from-version-id) and rotate again"
)


class _SingleUser:
    """The user changes its own password. AWSPREVIOUS is the recovery login."""

    def new_pending(self, ctx: RotationContext, current: str) -> str:
        _db_creds(current, ctx)  # validated before anything is generated
        password = _new_password(ctx)
        return _replaced(current, ctx, password=password)

    def _pending_and_current(
        self, ctx: RotationContext
    ) -> tuple[DatabaseCredentials, DatabaseCredentials]:
        pending = _pending_creds(ctx)
        current = _db_creds(ctx.current_string(), ctx)
        _same_server(current, pending, ctx, "AWSPENDING")
        if pending.username != current.username:
            raise RotationStateError(
                f"secret {ctx.metadata.name}: AWSPENDING names another user than AWSCURRENT; "
                "single-user rotation keeps the user name" + _STALE_PENDING.format(token=ctx.token),
                secret_id=ctx.arn,
            )
        return pending, current

    def set(self, ctx: RotationContext) -> str:
        pending, current = self._pending_and_current(ctx)
        if ctx.db.can_log_in(pending):
            return "already-set"
        for stage, creds in self._recovery_logins(ctx, current):
            try:
                account = ctx.db.change_own_password(creds, new_password=pending.password)
            except DatabaseAuthError:
                continue
            ctx.event("database password changed", login_stage=stage, account=str(account),
                      username=pending.username, host=pending.host)  # fmt: skip
            return "password-set"
        raise RotationStateError(
            f"secret {ctx.metadata.name}: neither AWSCURRENT nor AWSPREVIOUS nor AWSPENDING "
            f"logs in as {current.username!r} at {current.host}:{current.port}; the database "
            "password was changed outside rotation, or an earlier rotation's AWSPENDING was "
            "removed by hand after its setSecret (its now unlabelled version holds the "
            "password: list-secret-version-ids --include-deprecated). Put the database's "
            "password into the secret (PutSecretValue as AWSCURRENT), then run this "
            f"rotation's steps again (version {ctx.token})",
            secret_id=ctx.arn,
        )

    @staticmethod
    def _recovery_logins(
        ctx: RotationContext, current: DatabaseCredentials
    ) -> Iterator[tuple[str, DatabaseCredentials]]:
        """AWSCURRENT, then AWSPREVIOUS's password over AWSCURRENT's server, user and TLS.

        Only the password is taken from AWSPREVIOUS (read only if AWSCURRENT is refused):
        an older version may predate TLS (``"ssl": false``) or name another host, and the
        new password must never travel over a weaker connection than AWSCURRENT's.
        """
        yield AWSCURRENT, current
        previous = ctx.previous_string()
        if previous is None:
            return
        try:
            password = _db_creds(previous, ctx).password
        except SecretFormatError:
            return  # not a login: nothing to recover with
        if password != current.password:
            yield AWSPREVIOUS, current.with_changes(password=password)

    def ready_to_finish(self, ctx: RotationContext) -> None:
        pending, _current = self._pending_and_current(ctx)
        _require_login(ctx, pending)

    def test(self, ctx: RotationContext) -> None:
        pending, _current = self._pending_and_current(ctx)
        profile = ctx.db.profile(pending)
        if profile.account.user != pending.username:
            raise _failed(ctx, f"the AWSPENDING login became account {profile.account}")

    def rollback(self, ctx: RotationContext) -> None:
        current = _db_creds(ctx.current_string(), ctx)
        pending: DatabaseCredentials | None
        try:
            pending, current = self._pending_and_current(ctx)
        except SecretFormatError:
            pending = None  # malformed: setSecret refuses it first, so it was never set
        if pending is not None and ctx.db.can_log_in(pending):
            ctx.db.change_own_password(pending, new_password=current.password)
            ctx.event("database password restored", restored_stage=AWSCURRENT,
                      username=current.username, host=current.host)  # fmt: skip
        elif not ctx.db.can_log_in(current):
            raise RotationStateError(
                f"rollback of {ctx.metadata.name}: neither AWSPENDING nor AWSCURRENT logs in "
                f"as {current.username!r}; set the user's password to AWSCURRENT's by hand",
                secret_id=ctx.arn,
            )


@contextlib.contextmanager
def _master_login(
    ctx: RotationContext, master: DatabaseCredentials, current: DatabaseCredentials
) -> Iterator[None]:
    """A refused master login names the master secret, not the application's."""
    try:
        yield
    except DatabaseAuthError as exc:
        raise DatabaseAuthError(
            f"secret {ctx.metadata.name}: the database refused the login of the master user "
            f"{master.username!r} from its master secret (field 'masterarn', MySQL "
            f"{exc.code}); put the master user's current password into that secret. Nothing "
            "was changed",
            host=master.host,
            port=master.port,
            username=master.username,
            code=exc.code,
            secret_id=current.masterarn,
        ) from exc


class _AlternatingUsers:
    """``app`` and ``app_clone`` take turns; the master secret changes the other one."""

    def new_pending(self, ctx: RotationContext, current: str) -> str:
        creds = _db_creds(current, ctx)
        if not creds.masterarn:
            raise SecretFormatError(
                f"secret {ctx.metadata.name} has no 'masterarn' field; the alternating-users "
                "strategy needs the ARN of the master user's secret",
                secret_id=ctx.arn,
                field="masterarn",
            )
        password = _new_password(ctx)
        username = alternate_username(creds.username, secret_id=ctx.arn)
        return _replaced(current, ctx, username=username, password=password)

    def _pair(self, ctx: RotationContext) -> tuple[DatabaseCredentials, DatabaseCredentials]:
        """AWSPENDING and AWSCURRENT, checked to be the two alternating users of one server."""
        pending = _pending_creds(ctx)
        current = _db_creds(ctx.current_string(), ctx)
        _same_server(current, pending, ctx, "AWSPENDING")
        if pending.username != alternate_username(current.username, secret_id=ctx.arn):
            raise RotationStateError(
                f"secret {ctx.metadata.name}: AWSPENDING's user is not the alternate of "
                f"AWSCURRENT's ({current.username!r} <-> {current.username + CLONE_SUFFIX!r})"
                + _STALE_PENDING.format(token=ctx.token),
                secret_id=ctx.arn,
            )
        return pending, current

    def _master(
        self, ctx: RotationContext, current: DatabaseCredentials, pending: DatabaseCredentials
    ) -> DatabaseCredentials:
        """The master login, read only by the steps that change a user (set, rollback)."""
        if not current.masterarn:
            raise SecretFormatError(
                f"secret {ctx.metadata.name} has no 'masterarn' field",
                secret_id=ctx.arn,
                field="masterarn",
            )
        try:
            master_string = ctx.store.get_value(current.masterarn, stage=AWSCURRENT)
        except (SecretNotFoundError, SecretAccessDeniedError, SecretDecryptionError) as exc:
            raise type(exc)(
                f"secret {ctx.metadata.name}: its master secret (field 'masterarn') cannot be "
                f"read: {exc}. Check the ARN in 'masterarn', and that the function role may "
                "read that secret and decrypt it with its KMS key; nothing was changed",
                secret_id=current.masterarn,
                code=exc.code,
            ) from exc
        except RotationSecretsManagerError as exc:  # InvalidRequest: scheduled for deletion
            raise RotationSecretsManagerError(
                f"secret {ctx.metadata.name}: its master secret (field 'masterarn') cannot be "
                f"read: {exc}. If it is scheduled for deletion, restore it (RestoreSecret); "
                "nothing was changed",
                secret_id=current.masterarn,
                code=exc.code,
            ) from exc
        if master_string is None:  # only a store double can say so; the real one raises
            raise SecretNotFoundError(
                f"secret {ctx.metadata.name}: its master secret has no AWSCURRENT value",
                secret_id=current.masterarn,
            )
        master = DatabaseCredentials.from_secret_string(master_string, secret_id=current.masterarn)
        _same_server(current, master, ctx, "the master secret")
        if master.username == pending.username:
            raise RotationStateError(
                f"secret {ctx.metadata.name}: the alternate user {pending.username!r} is the "
                "master user itself; refusing to reset the master's grants and password. Give "
                "the application its own user",
                secret_id=ctx.arn,
            )
        return master

    def set(self, ctx: RotationContext) -> str:
        # Always synchronised (idempotent): a login that works says nothing about grants
        # a crash may have left half-copied.
        pending, current = self._pair(ctx)
        master = self._master(ctx, current, pending)
        source = ctx.db.account_of(current)  # AWSCURRENT must log in (confused deputy)
        target = Account(user=pending.username, host=source.host)
        with _master_login(ctx, master, current):
            ctx.db.sync_clone(master, source=source, target=target, password=pending.password)
        ctx.event("alternate user synchronised", source=str(source), target=str(target),
                  username=pending.username, host=pending.host)  # fmt: skip
        return "user-synchronised"

    def ready_to_finish(self, ctx: RotationContext) -> None:
        pending, _current = self._pair(ctx)
        _require_login(ctx, pending)

    def test(self, ctx: RotationContext) -> None:
        pending, current = self._pair(ctx)
        want = ctx.db.profile(current)
        target = Account(user=pending.username, host=want.account.host)
        try:
            got = ctx.db.profile(pending)
        except DatabaseAuthError as exc:
            if exc.code not in (None, "1045"):
                raise
            raise _failed(
                ctx,
                f"the AWSPENDING password of {target}, set by setSecret, is refused: it was "
                "changed since (an earlier rollback, or by hand), or another account of "
                f"{pending.username!r} with a narrower host matches the function's address "
                "first (list them from mysql.user) and must be dropped",
            ) from exc
        if got.account.user != pending.username:
            raise _failed(ctx, f"the AWSPENDING login became account {got.account}")
        if (got.grants, got.require) != (want.grants, want.require):
            raise _failed(
                ctx,
                f"{got.account} does not have the grants and REQUIRE {want.require} of "
                f"{want.account}",
            )

    def rollback(self, ctx: RotationContext) -> None:
        try:
            pending, current = self._pair(ctx)
        except SecretFormatError:
            return  # a malformed AWSPENDING: setSecret refuses it first, no user was changed
        previous = ctx.previous_string()
        previous_creds = _db_creds(previous, ctx) if previous is not None else None
        if previous_creds is None or previous_creds.username != pending.username:
            ctx.event("alternate user left unused", username=pending.username, host=pending.host)
            return
        master = self._master(ctx, current, pending)
        source = ctx.db.account_of(current)
        with _master_login(ctx, master, current):
            ctx.db.set_password(
                master,
                account=Account(user=pending.username, host=source.host),
                new_password=previous_creds.password,
            )
        ctx.event("database password restored", restored_stage=AWSPREVIOUS,
                  username=pending.username, host=pending.host)  # fmt: skip


class _RandomKey:
    """A new 64-character signing key in the same JSON shape; no database."""

    def new_pending(self, ctx: RotationContext, current: str) -> str:
        JwtConfig.from_secret_string(current, secret_id=ctx.arn)  # validated first
        key = ctx.store.random_password(
            length=JWT_KEY_LENGTH, exclude_characters="", exclude_punctuation=True
        )
        return _replaced(current, ctx, signingKey=key)

    def set(self, ctx: RotationContext) -> str:
        ctx.require_pending_string()  # out of order (no createSecret) is refused, as for a database
        return "nothing-to-set"

    def ready_to_finish(self, ctx: RotationContext) -> None:
        JwtConfig.from_secret_string(ctx.require_pending_string(), secret_id=ctx.arn)

    def test(self, ctx: RotationContext) -> None:
        pending = JwtConfig.from_secret_string(ctx.require_pending_string(), secret_id=ctx.arn)
        current = JwtConfig.from_secret_string(ctx.current_string(), secret_id=ctx.arn)
        if len(pending.signing_key) != JWT_KEY_LENGTH:
            raise SecretFormatError(
                f"secret {ctx.metadata.name} AWSPENDING 'signingKey' has "
                f"{len(pending.signing_key)} characters, not {JWT_KEY_LENGTH}",
                secret_id=ctx.arn,
                field="signingKey",
            )
        if pending.signing_key == current.signing_key:
            raise _failed(ctx, "the AWSPENDING signing key equals AWSCURRENT's")

    def rollback(self, ctx: RotationContext) -> None:
        return None  # nothing outside Secrets Manager changed


STRATEGIES: dict[Strategy, StrategyOps] = {
    Strategy.SINGLE_USER: _SingleUser(),
    Strategy.ALTERNATING_USERS: _AlternatingUsers(),
    Strategy.RANDOM_KEY: _RandomKey(),
}


# -- the four steps -------------------------------------------------------------------


def create_secret(ctx: RotationContext) -> str:
    current = ctx.current_string()
    if ctx.pending_string() is not None:
        return "already-created"
    value = STRATEGIES[ctx.strategy].new_pending(ctx, current)
    ctx.store.put_pending(
        ctx.arn, token=ctx.token, secret_string=value, rotation_token=ctx.request.rotation_token
    )
    ctx.event("pending version created", version_id=ctx.token)
    return "created"


def set_secret(ctx: RotationContext) -> str:
    return STRATEGIES[ctx.strategy].set(ctx)


def test_secret(ctx: RotationContext) -> str:
    ops = STRATEGIES[ctx.strategy]
    ctx.require_pending_string()
    failure: Exception
    try:
        ops.test(ctx)
    except (DatabaseUnreachableError, DatabaseTlsError):
        raise  # transient or configuration: Secrets Manager retries; nothing to undo
    except (
        DatabaseAuthError,
        RotationDatabaseError,  # a statement refused after the login: it will be again
        RotationTestFailedError,
        SecretFormatError,
    ) as exc:
        failure = exc
    except DatabaseError as exc:
        if exc.code != _UNKNOWN_DATABASE:
            raise  # too many connections, a locked account...: not the new password's fault
        failure = exc  # the secret's dbname is gone: every retry would fail the same way
    else:
        return "tested"
    label = _roll_back(ctx, cause=type(failure).__name__)
    raise RotationTestFailedError(
        f"testSecret failed for {ctx.metadata.name} ({type(failure).__name__}: {failure}); "
        f"rolled back: AWSCURRENT is unchanged and logs in, {label}",
        secret_id=ctx.arn,
        rolled_back=True,
    ) from failure


_UNKNOWN_DATABASE = "1049"

_LABEL_ERRORS = (
    SecretAccessDeniedError,
    SecretDecryptionError,
    SecretThrottledError,
    SecretUnavailableError,
    RotationSecretsManagerError,
)


def _roll_back(ctx: RotationContext, *, cause: str) -> str:
    """Put the database back on AWSCURRENT, then drop AWSPENDING; say what became of it.

    The database comes first: it is what keeps the application logged in. If Secrets
    Manager then refuses to drop the label (the same missing permission that failed
    finishSecret, typically), the rollback still stands and the caller's error says so.
    """
    STRATEGIES[ctx.strategy].rollback(ctx)
    try:
        ctx.store.move_stage(
            ctx.arn, stage=AWSPENDING, to_version_id=None, from_version_id=ctx.token
        )
    except _LABEL_ERRORS as exc:
        ctx.event("rotation rolled back", version_id=ctx.token, cause=cause,
                  label_removed=False, label_error=type(exc).__name__)  # fmt: skip
        return (
            f"but AWSPENDING could not be removed ({type(exc).__name__}): remove it from "
            f"version {ctx.token} (UpdateSecretVersionStage) before the next rotation"
        )
    ctx.event("rotation rolled back", version_id=ctx.token, cause=cause,
              label_removed=True)  # fmt: skip
    return "AWSPENDING was removed"


def finish_secret(ctx: RotationContext) -> str:
    STRATEGIES[ctx.strategy].ready_to_finish(ctx)
    current_version = ctx.metadata.version_with(AWSCURRENT)
    try:
        ctx.store.move_stage(
            ctx.arn, stage=AWSCURRENT, to_version_id=ctx.token, from_version_id=current_version
        )
    except (SecretAccessDeniedError, SecretDecryptionError, RotationSecretsManagerError) as exc:
        # Not transient: a retry will be refused too, and the database already holds the
        # pending password that AWSCURRENT does not. Put the database back.
        label = _roll_back(ctx, cause=type(exc).__name__)
        raise RotationFinishFailedError(
            f"finishSecret for {ctx.metadata.name}: Secrets Manager refused to move AWSCURRENT "
            f"({type(exc).__name__}); rolled back: AWSCURRENT is unchanged and logs in, "
            f"{label}. Check the function role may UpdateSecretVersionStage",
            secret_id=ctx.arn,
            rolled_back=True,
        ) from exc
    ctx.event("AWSCURRENT moved", version_id=ctx.token, previous_version_id=current_version)
    ctx.store.move_stage(ctx.arn, stage=AWSPENDING, to_version_id=None, from_version_id=ctx.token)
    return "finished"


def _not_enabled(metadata: SecretMetadata) -> RotationStateError:
    return RotationStateError(
        f"secret {metadata.name} does not have rotation enabled; enable it (RotateSecret with "
        "RotationRules) before invoking the function",
        secret_id=metadata.arn,
    )


def _cancel(ctx: RotationContext) -> None:
    """Rotation was turned off (CancelRotateSecret) while the token is AWSPENDING: undo it.

    A single-user setSecret may already have given the database the AWSPENDING password,
    which AWSCURRENT does not hold; refusing would leave it there with nobody to finish.
    """
    if ctx.pending_string() is None:
        raise _not_enabled(ctx.metadata)  # nothing was created: nothing to undo
    label = _roll_back(ctx, cause="RotationDisabled")
    raise RotationAbortedError(
        f"secret {ctx.metadata.name}: rotation was turned off while version {ctx.token} was "
        f"AWSPENDING; rolled back: AWSCURRENT is unchanged and logs in, {label}. To rotate, "
        "turn rotation on again and start a new rotation (RotateSecret)",
        secret_id=ctx.arn,
        rolled_back=True,
    )


STEPS: dict[Step, Callable[[RotationContext], str]] = {
    Step.CREATE: create_secret,
    Step.SET: set_secret,
    Step.TEST: test_secret,
    Step.FINISH: finish_secret,
}


def run_step(
    request: RotationRequest,
    *,
    store: SecretStore,
    db: Database,
    config: RotationConfig,
    log: Logger,
) -> StepResult:
    """Check the secret's state, then run ``request.step``. Raises on any failure."""
    metadata = store.describe(request.secret_id)
    name = metadata.name
    if metadata.scheduled_for_deletion:
        raise RotationStateError(
            f"secret {name} is scheduled for deletion; restore it (RestoreSecret) to rotate "
            "it, or cancel the rotation (CancelRotateSecret)",
            secret_id=metadata.arn,
        )
    stages = metadata.versions.get(request.token)
    rotation_under_way = stages is not None and AWSPENDING in stages and AWSCURRENT not in stages
    if not metadata.rotation_enabled and not rotation_under_way:
        raise _not_enabled(metadata)
    if stages is None:
        raise RotationStateError(
            f"version {request.token} is not a version of secret {name}; this event belongs "
            "to another rotation",
            secret_id=metadata.arn,
        )
    if AWSCURRENT in stages:
        log.info("version already AWSCURRENT", extra={"step": request.step.value})
        return StepResult(step=request.step, outcome="already-current", secret_name=name)
    if AWSPENDING not in stages:
        raise RotationStateError(
            f"version {request.token} of secret {name} is not AWSPENDING (it is "
            f"{sorted(stages) or 'unlabelled'}); the rotation was cancelled or rolled back",
            secret_id=metadata.arn,
        )
    current = store.get_value(metadata.arn, stage=AWSCURRENT)
    if current is None:  # only a store stub can say so; the real one raises
        raise RotationStateError(f"secret {name} has no AWSCURRENT value", secret_id=metadata.arn)
    strategy = resolve_strategy(
        parse_secret_json(current, secret_id=metadata.arn), config.strategy, secret_id=metadata.arn
    )
    ctx = RotationContext(
        request=request,
        metadata=metadata,
        strategy=strategy,
        store=store,
        db=db,
        config=config,
        log=log,
        current_value=current,
    )
    if not metadata.rotation_enabled:
        _cancel(ctx)
    outcome = STEPS[request.step](ctx)
    if outcome.startswith("already") or outcome == "nothing-to-set":
        ctx.event("step had nothing to do", outcome=outcome)
    return StepResult(step=request.step, outcome=outcome, secret_name=name, strategy=strategy)
