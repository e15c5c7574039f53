"""The canary's domain: check every secret, each on its own, inside one deadline.

For each :class:`~canary_targets.SecretTarget`, in this order:

1. **retrieval** - read the value through the layer with the cache bypassed, time the
   call, and validate the value's format by the secret's kind;
2. **login** - for a database secret whose value is valid, log in with it and run
   ``SELECT 1`` (before the rotation check: under deadline pressure, the proof that
   rotation has not locked the application out comes first);
3. **rotation** - read the rotation metadata and work out the days since the last
   rotation and whether rotation is overdue.

Secrets are checked concurrently. A secret that fails fails alone: every exception is
caught and reported as that secret's failure by type name. Each call carries its own
timeout (set on the clients by the adapters); on top of that the run has a deadline
derived from the Lambda's remaining time. A check still running at the deadline is
reported as :class:`ProbeDeadlineExceededError` for the stage it was in, and results
that arrive later are ignored, so the report never changes once returned.

Nothing here imports boto3 or PyMySQL: the three dependencies are small protocols.
"""

from __future__ import annotations

import concurrent.futures
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from canary_errors import ProbeDeadlineExceededError
from canary_targets import SecretKind, SecretTarget, build_targets
from secret_service.errors import SecretFormatError, SecretServiceError
from secret_service.models import (
    DatabaseCredentials,
    ExternalApis,
    JwtConfig,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    # concurrent.futures.wait's shape: (futures, timeout=seconds) -> (done, not done)
    WaitForChecks = Callable[..., tuple[set[Any], set[Any]]]

__all__ = [
    "CanaryReport",
    "CanaryRun",
    "CheckFailure",
    "DatabaseLogin",
    "DiscoveryResult",
    "LoginResult",
    "ProbeDependencies",
    "ProbeSettings",
    "RetrievalResult",
    "RotationMetadata",
    "RotationMetadataSource",
    "RotationResult",
    "SecretReader",
    "SecretReport",
    "assess_rotation",
    "failure_of",
    "probe_secret",
    "run_canary",
    "run_probes",
    "validate_value",
]

SECONDS_PER_DAY = 86_400.0


# -- the ports ---------------------------------------------------------------------------


class SecretReader(Protocol):
    """Reads a secret's current value; ``secret_service.SecretService`` is one."""

    def get_secret_string(self, secret_id: str, *, force_refresh: bool) -> str: ...


@dataclass(frozen=True, slots=True)
class RotationMetadata:
    """What DescribeSecret says about a secret's rotation (datetimes are timezone-aware)."""

    enabled: bool
    last_rotated: datetime | None = None
    next_rotation: datetime | None = None
    created: datetime | None = None
    # RotationRules.AutomaticallyAfterDays: the secret's own schedule, when it has one
    period_days: float | None = None


class RotationMetadataSource(Protocol):
    def describe_rotation(self, secret_id: str) -> RotationMetadata: ...


class DatabaseLogin(Protocol):
    """Logs in with the credentials and runs ``SELECT 1``; raises a DatabaseError."""

    def login(self, credentials: DatabaseCredentials, *, secret_id: str) -> None: ...


# -- results -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """Why a check failed: the error's type name and a message that holds no value."""

    error_type: str
    message: str


def failure_of(exc: BaseException) -> CheckFailure:
    """Describe ``exc`` without risking a secret value.

    The layer's and the canary's own messages are written never to contain a value, so
    they are kept; any other exception is reported by its type name only.
    """
    if isinstance(exc, SecretServiceError | ProbeDeadlineExceededError):
        return CheckFailure(type(exc).__name__, str(exc))
    return CheckFailure(type(exc).__name__, "unexpected error (message withheld)")


@dataclass(frozen=True, slots=True)
class RetrievalResult:
    """Reading the value: ``latency_ms`` is set whenever the read call returned."""

    ok: bool
    latency_ms: float | None = None
    error: CheckFailure | None = None


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    latency_ms: float | None = None
    error: CheckFailure | None = None


@dataclass(frozen=True, slots=True)
class RotationResult:
    """Rotation health. ``overdue`` is None when the metadata could not be read."""

    enabled: bool | None = None
    days_since_last_rotation: float | None = None
    overdue: bool | None = None
    next_rotation: datetime | None = None
    error: CheckFailure | None = None


@dataclass(frozen=True, slots=True)
class SecretReport:
    """Everything one run learned about one secret.

    ``login`` is None when no login was attempted (not a database secret, or its value
    could not be read); ``rotation`` is None when the check never got that far.
    """

    target: SecretTarget
    retrieval: RetrievalResult
    rotation: RotationResult | None = None
    login: LoginResult | None = None

    @property
    def ok(self) -> bool:
        """Readable, well-formed and (for a database secret) still logs in."""
        return self.retrieval.ok and (self.login is None or self.login.ok)

    @property
    def error(self) -> CheckFailure | None:
        """The first failure that makes the secret not ok."""
        if self.retrieval.error is not None:
            return self.retrieval.error
        if self.login is not None and self.login.error is not None:
            return self.login.error
        return None


@dataclass(frozen=True, slots=True)
class CanaryReport:
    reports: tuple[SecretReport, ...]
    duration_ms: float
    deadline_exceeded: bool = False

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.reports)

    @property
    def failed(self) -> tuple[SecretReport, ...]:
        return tuple(report for report in self.reports if not report.ok)


# -- the checks --------------------------------------------------------------------------


def validate_value(
    kind: SecretKind, secret_string: str, *, secret_id: str
) -> DatabaseCredentials | None:
    """Check the value has its kind's format; return the credentials of a database secret.

    Raises :class:`SecretFormatError` naming the field, never the value.
    """
    if kind is SecretKind.DATABASE:
        return DatabaseCredentials.from_secret_string(secret_string, secret_id=secret_id)
    if kind is SecretKind.JWT:
        JwtConfig.from_secret_string(secret_string, secret_id=secret_id)
    elif kind is SecretKind.EXTERNAL_API:
        ExternalApis.from_secret_string(secret_string, secret_id=secret_id)
    elif not secret_string.strip():
        raise SecretFormatError(
            f"secret {secret_id} is empty; store its value", secret_id=secret_id
        )
    return None


def assess_rotation(
    metadata: RotationMetadata,
    *,
    kind: SecretKind,
    now: datetime,
    period_days: float,
    grace_days: float,
    require_database_rotation: bool = True,
) -> RotationResult:
    """Days since the last rotation (or creation, if never rotated) and overdue-ness.

    A secret is expected to rotate when rotation is enabled on it, and, with
    ``require_database_rotation`` (every environment that schedules rotation), always
    when it is the database secret: a database password that never rotates is overdue
    too. Such a secret is overdue when its NextRotationDate is more than ``grace_days``
    past, or when the last rotation is more than ``period_days + grace_days`` ago. The
    period is the secret's own (``RotationRules.AutomaticallyAfterDays``) when it has one,
    so a JWT key on a longer schedule than the database is not called overdue;
    ``period_days`` is the fallback for a secret without a schedule.
    """
    if metadata.period_days is not None:
        period_days = metadata.period_days
    reference = metadata.last_rotated or metadata.created
    days = None
    if reference is not None:
        days = max(0.0, (now - reference).total_seconds() / SECONDS_PER_DAY)
    overdue = False
    if metadata.enabled or (require_database_rotation and kind is SecretKind.DATABASE):
        if metadata.next_rotation is not None:
            late_s = (now - metadata.next_rotation).total_seconds()
            overdue = late_s > grace_days * SECONDS_PER_DAY
        if days is not None and days > period_days + grace_days:
            overdue = True
    return RotationResult(
        enabled=metadata.enabled,
        days_since_last_rotation=days,
        overdue=overdue,
        next_rotation=metadata.next_rotation,
    )


@dataclass(frozen=True, slots=True)
class ProbeDependencies:
    reader: SecretReader
    rotation: RotationMetadataSource
    login: DatabaseLogin


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeSettings:
    rotation_period_days: float
    rotation_grace_days: float
    max_concurrency: int = 10
    require_database_rotation: bool = True


class _Progress:
    """One secret's results so far; the deadline can close it from another thread."""

    _STAGES = ("retrieval", "login", "rotation")

    def __init__(self, target: SecretTarget) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self.target = target
        self.stage = "queued"
        self.results: dict[str, Any] = {}
        self._report: SecretReport | None = None

    def start(self, stage: str) -> bool:
        with self._lock:
            if self._closed:
                return False
            self.stage = stage
            return True

    def record(self, stage: str, result: Any) -> None:
        with self._lock:
            if not self._closed:
                self.results[stage] = result

    def close(self) -> SecretReport:
        """Freeze the results; a stage still running becomes a deadline failure.

        The first close decides: later calls return the same report.
        """
        with self._lock:
            if self._report is not None:
                return self._report
            self._closed = True
            results = dict(self.results)
            stage = self.stage
        in_flight = stage not in results and stage in ("queued", *self._STAGES)
        if in_flight:
            where = "never started" if stage == "queued" else f"still running its {stage} check"
            failure = CheckFailure(
                ProbeDeadlineExceededError.__name__,
                f"secret {self.target.name} was {where} at the run's deadline; raise the "
                "function's timeout or lower PROBE_TIMEOUT_MS / DB_CONNECT_TIMEOUT_S",
            )
            if stage in ("queued", "retrieval"):
                results["retrieval"] = RetrievalResult(ok=False, error=failure)
            elif stage == "rotation":
                results["rotation"] = RotationResult(error=failure)
            else:
                results["login"] = LoginResult(ok=False, error=failure)
        retrieved = results["retrieval"].ok
        if retrieved and self.target.kind is SecretKind.DATABASE and "login" not in results:
            # A readable database secret is always logged in with; the deadline came first,
            # so nothing proves the credentials still work.
            results["login"] = LoginResult(
                ok=False,
                error=CheckFailure(
                    ProbeDeadlineExceededError.__name__,
                    f"secret {self.target.name} never started its login check before the "
                    "run's deadline; raise the function's timeout or lower PROBE_TIMEOUT_MS",
                ),
            )
        report = SecretReport(
            target=self.target,
            retrieval=results["retrieval"],
            rotation=results.get("rotation"),
            login=results.get("login"),
        )
        with self._lock:
            self._report = self._report or report
            return self._report


def probe_secret(
    target: SecretTarget,
    *,
    deps: ProbeDependencies,
    settings: ProbeSettings,
    clock: Callable[[], float],
    now: Callable[[], datetime],
    progress: _Progress | None = None,
) -> SecretReport:
    """Run the checks on one secret: read, log in (database), rotation metadata.

    Never raises for a failure of the secret.
    """
    progress = progress or _Progress(target)
    credentials: DatabaseCredentials | None = None

    if not progress.start("retrieval"):
        return progress.close()
    started = clock()
    latency_ms: float | None = None
    try:
        value = deps.reader.get_secret_string(target.secret_id, force_refresh=True)
        latency_ms = (clock() - started) * 1000.0
        credentials = validate_value(target.kind, value, secret_id=target.name)
        progress.record("retrieval", RetrievalResult(ok=True, latency_ms=latency_ms))
    except Exception as exc:
        error = failure_of(exc)
        progress.record("retrieval", RetrievalResult(False, latency_ms, error))

    # The login before the rotation metadata: under deadline pressure, the proof that
    # rotation has not locked the application out matters more than its dates.
    if credentials is not None:
        if not progress.start("login"):
            return progress.close()
        started = clock()
        try:
            deps.login.login(credentials, secret_id=target.name)
            result = LoginResult(ok=True, latency_ms=(clock() - started) * 1000.0)
        except Exception as exc:
            result = LoginResult(ok=False, error=failure_of(exc))
        progress.record("login", result)

    if not progress.start("rotation"):
        return progress.close()
    try:
        metadata = deps.rotation.describe_rotation(target.secret_id)
        progress.record(
            "rotation",
            assess_rotation(
                metadata,
                kind=target.kind,
                now=now(),
                period_days=settings.rotation_period_days,
                grace_days=settings.rotation_grace_days,
                require_database_rotation=settings.require_database_rotation,
            ),
        )
    except Exception as exc:
        progress.record("rotation", RotationResult(error=failure_of(exc)))

    progress.start("done")
    return progress.close()


def run_probes(
    targets: Sequence[SecretTarget],
    *,
    deps: ProbeDependencies,
    settings: ProbeSettings,
    deadline_s: float,
    clock: Callable[[], float],
    now: Callable[[], datetime],
    wait: WaitForChecks = concurrent.futures.wait,
) -> CanaryReport:
    """Check every target concurrently; return by ``deadline_s`` whatever happens.

    ``deadline_s`` is the time budget from now (seconds). Threads still blocked at the
    deadline are abandoned; their per-call timeouts end them soon after. ``wait`` waits
    for the checks until the deadline (``concurrent.futures.wait``); tests pass one
    whose deadline comes at a chosen point, so none depends on wall-clock time.
    """
    started = clock()
    progress = [_Progress(target) for target in targets]
    if not targets:
        return CanaryReport(reports=(), duration_ms=0.0)
    workers = max(1, min(settings.max_concurrency, len(targets)))
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="canary-probe"
    )
    try:
        futures = [
            executor.submit(
                probe_secret,
                item.target,
                deps=deps,
                settings=settings,
                clock=clock,
                now=now,
                progress=item,
            )
            for item in progress
        ]
        _done, pending = wait(futures, timeout=max(0.0, deadline_s))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    reports = tuple(item.close() for item in progress)
    return CanaryReport(
        reports=reports,
        duration_ms=(clock() - started) * 1000.0,
        deadline_exceeded=bool(pending),
    )


# -- one whole run -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    """How tag discovery went: ``found`` secret ids, or the error that stopped it."""

    enabled: bool
    found: tuple[str, ...] = ()
    error: CheckFailure | None = None


@dataclass(frozen=True, slots=True)
class CanaryRun:
    report: CanaryReport
    discovery: DiscoveryResult


def run_canary(
    *,
    secret_ids: Sequence[str],
    database_secret_id: str | None,
    discover: Callable[[], Sequence[str]] | None,
    deps: ProbeDependencies,
    settings: ProbeSettings,
    deadline_s: float,
    clock: Callable[[], float],
    now: Callable[[], datetime],
) -> CanaryRun:
    """Find the secrets (configured ones plus tag-discovered ones) and check them all.

    A discovery failure is reported and the configured secrets are still checked.
    """
    started = clock()
    discovery = DiscoveryResult(enabled=discover is not None)
    if discover is not None:
        try:
            discovery = DiscoveryResult(enabled=True, found=tuple(discover()))
        except Exception as exc:
            discovery = DiscoveryResult(enabled=True, error=failure_of(exc))
    targets = build_targets([*secret_ids, *discovery.found], database_secret_id=database_secret_id)
    remaining_s = deadline_s - (clock() - started)
    report = run_probes(
        targets, deps=deps, settings=settings, deadline_s=remaining_s, clock=clock, now=now
    )
    return CanaryRun(report=report, discovery=discovery)
