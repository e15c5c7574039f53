"""The canary's domain: each secret checked on its own, within one deadline."""

from __future__ import annotations

import concurrent.futures
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from canary_targets import SecretKind, SecretTarget
from harness.secret_checks import assert_no_secret_in
from probe import (
    ProbeDependencies,
    ProbeSettings,
    RotationMetadata,
    assess_rotation,
    probe_secret,
    run_canary,
    run_probes,
)
from secret_service.errors import (
    DatabaseAuthError,
    SecretNotFoundError,
    SecretThrottledError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from concurrent.futures import Future

    from probe import SecretReport
    from secret_service.models import DatabaseCredentials

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DB_PASSWORD = "db-Passw0rd-unit!"
JWT_KEY = "j" * 48
DB = SecretTarget(
    "goal-mandala-dev-secret-database", "goal-mandala-dev-secret-database", SecretKind.DATABASE
)
JWT = SecretTarget("goal-mandala-dev-secret-jwt", "goal-mandala-dev-secret-jwt", SecretKind.JWT)
API = SecretTarget(
    "goal-mandala-dev-secret-external-apis",
    "goal-mandala-dev-secret-external-apis",
    SecretKind.EXTERNAL_API,
)
SETTINGS = ProbeSettings(rotation_period_days=30, rotation_grace_days=1, max_concurrency=4)

DB_VALUE = json.dumps(
    {
        "engine": "mysql",
        "host": "db.internal",
        "port": 3306,
        "username": "app",
        "password": DB_PASSWORD,
        "dbname": "app",
    }
)
JWT_VALUE = json.dumps({"signingKey": JWT_KEY, "algorithm": "HS256"})
API_VALUE = json.dumps({"provider": "stripe", "apiKey": "sk-unit-123"})


class StepClock:
    """A clock that moves ``step_s`` each time it is read (thread-safe)."""

    def __init__(self, step_s: float = 0.004) -> None:
        self._lock = threading.Lock()
        self._t = 0.0
        self._step_s = step_s

    def __call__(self) -> float:
        with self._lock:
            value = self._t
            self._t += self._step_s
            return value


class FakeReader:
    def __init__(self, values: dict[str, str | Exception]) -> None:
        self.values = values
        self.calls: list[tuple[str, bool]] = []
        self.blocked: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}

    def hold(self, secret_id: str) -> threading.Event:
        """Reads of ``secret_id`` block until the returned gate is set."""
        self.entered[secret_id] = threading.Event()
        gate = self.blocked[secret_id] = threading.Event()
        return gate

    def get_secret_string(self, secret_id: str, *, force_refresh: bool) -> str:
        self.calls.append((secret_id, force_refresh))
        gate = self.blocked.get(secret_id)
        if gate is not None:
            self.entered[secret_id].set()
            gate.wait(10)
        value = (
            self.values[secret_id]
            if secret_id in self.values
            else SecretNotFoundError(f"secret {secret_id} does not exist", secret_id=secret_id)
        )
        if isinstance(value, Exception):
            raise value
        return value


class FakeRotation:
    def __init__(self, metadata: RotationMetadata | Exception | None = None) -> None:
        self.metadata = metadata or RotationMetadata(
            enabled=True,
            last_rotated=NOW - timedelta(days=3),
            next_rotation=NOW + timedelta(days=27),
        )

    def describe_rotation(self, secret_id: str) -> RotationMetadata:
        if isinstance(self.metadata, Exception):
            raise self.metadata
        return self.metadata


class FakeLogin:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.logins: list[tuple[str, str]] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def login(self, credentials: DatabaseCredentials, *, secret_id: str) -> None:
        self.logins.append((credentials.username, secret_id))
        if self.gate is not None:
            self.entered.set()
            self.gate.wait(10)
        if self.error is not None:
            raise self.error


@pytest.fixture
def reader() -> Iterator[FakeReader]:
    fake = FakeReader({DB.secret_id: DB_VALUE, JWT.secret_id: JWT_VALUE, API.secret_id: API_VALUE})
    yield fake
    for gate in fake.blocked.values():  # never leave a worker thread blocked
        gate.set()


@pytest.fixture
def login() -> Iterator[FakeLogin]:
    fake = FakeLogin()
    yield fake
    if fake.gate is not None:
        fake.gate.set()


def probe(
    target: SecretTarget,
    reader: FakeReader,
    login: FakeLogin | None = None,
    rotation: FakeRotation | None = None,
) -> SecretReport:
    deps = ProbeDependencies(
        reader=reader, rotation=rotation or FakeRotation(), login=login or FakeLogin()
    )
    return probe_secret(target, deps=deps, settings=SETTINGS, clock=StepClock(), now=lambda: NOW)


# -- one secret ------------------------------------------------------------------------


def test_a_healthy_secret_is_read_bypassing_the_cache_and_timed(reader: FakeReader) -> None:
    report = probe(JWT, reader)

    assert reader.calls == [(JWT.secret_id, True)]
    assert report.ok is True
    assert report.retrieval.latency_ms == pytest.approx(4.0)
    assert report.login is None
    assert report.error is None


def test_a_missing_secret_fails_its_retrieval_by_type_name(reader: FakeReader) -> None:
    missing = SecretTarget("gone", "gone", SecretKind.OPAQUE)

    report = probe(missing, reader)

    assert report.ok is False
    assert report.retrieval.latency_ms is None
    assert report.error is not None
    assert report.error.error_type == "SecretNotFoundError"


def test_a_malformed_value_fails_retrieval_naming_the_field_not_the_value(
    reader: FakeReader,
) -> None:
    reader.values[JWT.secret_id] = json.dumps({"signingKey": "too-short-key"})

    report = probe(JWT, reader)

    assert report.ok is False
    assert report.retrieval.latency_ms is not None  # the read itself answered
    assert report.error is not None
    assert report.error.error_type == "SecretFormatError"
    assert "signingKey" in report.error.message
    assert_no_secret_in([report.error.message], secrets=["too-short-key"])


def test_the_templates_named_bundle_of_external_apis_is_accepted(reader: FakeReader) -> None:
    # Given the shape template.yaml stores: one entry per API, by name
    reader.values[API.secret_id] = json.dumps(
        {
            "bedrock": {"provider": "bedrock", "apiKey": "br-unit-key", "region": "us-east-1"},
            "ses": {"username": "AKIAUNIT", "password": "ses-unit-pw", "region": "us-east-1"},
        }
    )

    report = probe(API, reader)

    assert report.ok is True
    assert report.error is None


def test_an_unfilled_external_api_entry_is_malformed_naming_the_entry(reader: FakeReader) -> None:
    # Given the placeholder the stack deploys before an operator fills the key in
    reader.values[API.secret_id] = json.dumps(
        {"bedrock": {"provider": "bedrock", "apiKey": "", "region": "us-east-1"}}
    )

    report = probe(API, reader)

    assert report.error is not None
    assert report.error.error_type == "SecretFormatError"
    assert "bedrock" in report.error.message


def test_a_value_that_is_not_json_fails_a_typed_kind(reader: FakeReader) -> None:
    reader.values[API.secret_id] = "sk-not-json-value"

    report = probe(API, reader)

    assert report.error is not None
    assert report.error.error_type == "SecretFormatError"
    assert_no_secret_in([report.error.message], secrets=["sk-not-json-value"])


def test_an_empty_opaque_secret_is_malformed(reader: FakeReader) -> None:
    target = SecretTarget("plain", "plain", SecretKind.OPAQUE)
    reader.values["plain"] = "   "

    report = probe(target, reader)

    assert report.error is not None
    assert report.error.error_type == "SecretFormatError"


def test_an_unexpected_exception_is_reported_by_type_with_its_message_withheld(
    reader: FakeReader,
) -> None:
    reader.values[JWT.secret_id] = RuntimeError(f"boom {JWT_KEY}")

    report = probe(JWT, reader)

    assert report.error is not None
    assert report.error.error_type == "RuntimeError"
    assert_no_secret_in([report.error.message], secrets=[JWT_KEY])


def test_a_database_secret_logs_in_with_its_credentials(
    reader: FakeReader, login: FakeLogin
) -> None:
    report = probe(DB, reader, login)

    assert login.logins == [("app", DB.name)]
    assert report.login is not None
    assert report.login.ok is True
    assert report.login.latency_ms == pytest.approx(4.0)
    assert report.ok is True


def test_a_refused_login_fails_the_secret_but_not_its_retrieval(reader: FakeReader) -> None:
    refused = FakeLogin(DatabaseAuthError("refused (MySQL 1045)", code="1045"))

    report = probe(DB, reader, refused)

    assert report.retrieval.ok is True
    assert report.login is not None
    assert report.login.ok is False
    assert report.ok is False
    assert report.error is not None
    assert report.error.error_type == "DatabaseAuthError"


def test_no_login_is_attempted_when_the_database_secret_cannot_be_read(
    reader: FakeReader, login: FakeLogin
) -> None:
    reader.values[DB.secret_id] = SecretThrottledError("throttled")

    report = probe(DB, reader, login)

    assert login.logins == []
    assert report.login is None
    assert report.error is not None
    assert report.error.error_type == "SecretThrottledError"


def test_a_rotation_metadata_failure_is_reported_without_failing_the_secret(
    reader: FakeReader,
) -> None:
    report = probe(JWT, reader, rotation=FakeRotation(SecretThrottledError("throttled")))

    assert report.ok is True
    assert report.rotation is not None
    assert report.rotation.error is not None
    assert report.rotation.error.error_type == "SecretThrottledError"
    assert report.rotation.overdue is None


# -- rotation arithmetic ---------------------------------------------------------------


def assess(kind: SecretKind = SecretKind.JWT, **metadata: object) -> tuple[float | None, bool]:
    result = assess_rotation(
        RotationMetadata(**metadata),  # type: ignore[arg-type]
        kind=kind,
        now=NOW,
        period_days=30,
        grace_days=1,
    )
    assert result.overdue is not None
    return result.days_since_last_rotation, result.overdue


def test_a_recent_rotation_is_not_overdue() -> None:
    days, overdue = assess(
        enabled=True, last_rotated=NOW - timedelta(days=3), next_rotation=NOW + timedelta(days=27)
    )

    assert days == pytest.approx(3.0)
    assert overdue is False


def test_a_next_rotation_date_more_than_the_grace_past_is_overdue() -> None:
    _, overdue = assess(
        enabled=True,
        last_rotated=NOW - timedelta(days=10),
        next_rotation=NOW - timedelta(days=1, hours=1),
    )

    assert overdue is True


def test_a_next_rotation_date_within_the_grace_is_not_overdue_yet() -> None:
    _, overdue = assess(
        enabled=True, last_rotated=NOW - timedelta(days=10), next_rotation=NOW - timedelta(hours=5)
    )

    assert overdue is False


def test_a_last_rotation_older_than_period_plus_grace_is_overdue() -> None:
    days, overdue = assess(enabled=True, last_rotated=NOW - timedelta(days=31, hours=1))

    assert days == pytest.approx(31 + 1 / 24)
    assert overdue is True


def test_the_secrets_own_schedule_sets_the_period_not_the_environments() -> None:
    # Given a JWT key rotated 60 days ago on its own 90-day schedule (the canary's is 30)
    _, overdue = assess(enabled=True, last_rotated=NOW - timedelta(days=60), period_days=90)
    # Then it is on time; and 92 days without rotation is late on that same schedule
    assert overdue is False
    _, late = assess(enabled=True, last_rotated=NOW - timedelta(days=92), period_days=90)
    assert late is True


def test_a_never_rotated_secret_counts_from_its_creation() -> None:
    days, overdue = assess(enabled=True, created=NOW - timedelta(days=40))

    assert days == pytest.approx(40.0)
    assert overdue is True


def test_a_secret_without_rotation_is_never_overdue() -> None:
    days, overdue = assess(enabled=False, created=NOW - timedelta(days=400))

    assert days == pytest.approx(400.0)
    assert overdue is False


def test_the_database_secret_with_rotation_turned_off_is_overdue_once_old() -> None:
    _, overdue = assess(SecretKind.DATABASE, enabled=False, last_rotated=NOW - timedelta(days=45))

    assert overdue is True


def test_a_rotation_date_in_the_future_counts_as_zero_days() -> None:
    days, _ = assess(enabled=True, last_rotated=NOW + timedelta(minutes=5))

    assert days == 0.0


# -- many secrets, one deadline ----------------------------------------------------------


def deps(reader: FakeReader, login: FakeLogin | None = None) -> ProbeDependencies:
    return ProbeDependencies(reader=reader, rotation=FakeRotation(), login=login or FakeLogin())


class Deadline:
    """run_probes' ``wait``: the deadline comes at a chosen point, never on wall-clock time.

    It comes once ``held`` is set (a check is inside its blocked call) and every other
    check has finished, so what the report says never depends on how fast threads run.
    """

    SAFETY_S = 10.0  # only a safety net: every wait below ends on an event

    def __init__(self, held: threading.Event, *, unfinished: int = 1) -> None:
        self.held = held
        self.unfinished = unfinished
        self.timeouts: list[float] = []

    def __call__(
        self, futures: list[Future[SecretReport]], timeout: float
    ) -> tuple[set[Future[SecretReport]], set[Future[SecretReport]]]:
        self.timeouts.append(timeout)
        assert self.held.wait(self.SAFETY_S), "the held check never began"
        pending = set(futures)
        while len(pending) > self.unfinished:
            done, pending = concurrent.futures.wait(
                pending, timeout=self.SAFETY_S, return_when=concurrent.futures.FIRST_COMPLETED
            )
            assert done, "no check finished"
        return concurrent.futures.wait(futures, timeout=0)


def test_one_failing_secret_does_not_stop_the_others(reader: FakeReader) -> None:
    reader.values[JWT.secret_id] = SecretThrottledError("throttled")

    report = run_probes(
        [DB, JWT, API],
        deps=deps(reader),
        settings=SETTINGS,
        deadline_s=30,
        clock=StepClock(),
        now=lambda: NOW,
    )

    assert [(r.target.name, r.ok) for r in report.reports] == [
        (DB.name, True),
        (JWT.name, False),
        (API.name, True),
    ]
    assert report.deadline_exceeded is False
    assert [r.target.name for r in report.failed] == [JWT.name]


def test_a_read_still_hanging_at_the_deadline_is_reported_and_the_rest_complete(
    reader: FakeReader,
) -> None:
    # Given the JWT read hangs
    reader.hold(JWT.secret_id)
    deadline = Deadline(reader.entered[JWT.secret_id])

    # When the deadline comes while it hangs and the others have finished
    report = run_probes(
        [DB, JWT, API],
        deps=deps(reader),
        settings=SETTINGS,
        deadline_s=0.2,
        clock=StepClock(),
        now=lambda: NOW,
        wait=deadline,
    )

    # Then the run waited its deadline, and the hanging read alone is cut
    assert deadline.timeouts == [0.2]
    by_name = {r.target.name: r for r in report.reports}
    assert report.deadline_exceeded is True
    assert by_name[DB.name].ok
    assert by_name[API.name].ok
    hung = by_name[JWT.name]
    assert hung.error is not None
    assert hung.error.error_type == "ProbeDeadlineExceededError"
    assert "retrieval" in hung.error.message
    assert hung.rotation is None


def test_a_login_hanging_at_the_deadline_keeps_the_retrieval_result(
    reader: FakeReader, login: FakeLogin
) -> None:
    # Given the login hangs, the deadline coming while it does
    login.gate = threading.Event()

    report = run_probes(
        [DB],
        deps=deps(reader, login),
        settings=SETTINGS,
        deadline_s=0.2,
        clock=StepClock(),
        now=lambda: NOW,
        wait=Deadline(login.entered),
    )

    # Then the read that finished is kept, and the login is the stage cut

    (db,) = report.reports
    assert db.retrieval.ok is True
    assert db.rotation is None  # after the login: never started
    assert db.login is not None
    assert db.login.error is not None
    assert db.login.error.error_type == "ProbeDeadlineExceededError"


def test_a_secret_never_started_before_the_deadline_is_reported_as_such(
    reader: FakeReader,
) -> None:
    # Given one worker, held by the database read, and the JWT check queued behind it
    reader.hold(DB.secret_id)
    one_worker = ProbeSettings(rotation_period_days=30, rotation_grace_days=1, max_concurrency=1)

    report = run_probes(
        [DB, JWT],
        deps=deps(reader),
        settings=one_worker,
        deadline_s=0.2,
        clock=StepClock(),
        now=lambda: NOW,
        wait=Deadline(reader.entered[DB.secret_id], unfinished=2),
    )

    # Then the queued one is reported as never started, and it never read

    queued = report.reports[1]
    assert queued.error is not None
    assert queued.error.error_type == "ProbeDeadlineExceededError"
    assert "never started" in queued.error.message
    assert (JWT.secret_id, True) not in reader.calls


def test_results_arriving_after_the_deadline_do_not_change_the_report(
    reader: FakeReader,
) -> None:
    # Given a report returned while the JWT read hung
    gate = reader.hold(JWT.secret_id)
    report = run_probes(
        [JWT],
        deps=deps(reader),
        settings=SETTINGS,
        deadline_s=0.1,
        clock=StepClock(),
        now=lambda: NOW,
        wait=Deadline(reader.entered[JWT.secret_id]),
    )
    before = report.reports[0]

    # When the hung read now answers
    gate.set()
    for thread in threading.enumerate():
        if thread.name.startswith("canary-probe"):
            thread.join(5)

    # Then the report still says what it said at the deadline
    assert report.reports[0] is before
    assert before.retrieval.ok is False


def test_no_targets_is_an_empty_report(reader: FakeReader) -> None:
    report = run_probes(
        [], deps=deps(reader), settings=SETTINGS, deadline_s=1, clock=StepClock(), now=lambda: NOW
    )

    assert report.reports == ()
    assert report.ok is True


# -- discovery ---------------------------------------------------------------------------

ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:"


def test_discovered_secrets_join_the_configured_ones_once_each(reader: FakeReader) -> None:
    jwt_arn = f"{ARN}{JWT.name}-AbC123"
    api_arn = f"{ARN}{API.name}-XyZ789"
    reader.values[jwt_arn] = JWT_VALUE
    reader.values[api_arn] = API_VALUE

    run = run_canary(
        secret_ids=[JWT.secret_id],
        database_secret_id=DB.secret_id,
        discover=lambda: [jwt_arn, api_arn],
        deps=deps(reader),
        settings=SETTINGS,
        deadline_s=30,
        clock=StepClock(),
        now=lambda: NOW,
    )

    assert [(r.target.name, r.target.secret_id) for r in run.report.reports] == [
        (DB.name, DB.secret_id),
        (JWT.name, JWT.secret_id),
        (API.name, api_arn),
    ]
    assert run.discovery.found == (jwt_arn, api_arn)
    assert run.report.ok is True


def test_a_failed_discovery_is_reported_and_the_configured_secrets_still_checked(
    reader: FakeReader,
) -> None:
    def discover() -> list[str]:
        raise SecretThrottledError("ListSecrets throttled")

    run = run_canary(
        secret_ids=[JWT.secret_id],
        database_secret_id=None,
        discover=discover,
        deps=deps(reader),
        settings=SETTINGS,
        deadline_s=30,
        clock=StepClock(),
        now=lambda: NOW,
    )

    assert run.discovery.error is not None
    assert run.discovery.error.error_type == "SecretThrottledError"
    assert [r.target.name for r in run.report.reports] == [JWT.name]
    assert run.report.ok is True


def test_a_never_rotated_database_secret_is_not_overdue_where_rotation_is_not_required() -> None:
    # Given a database secret created 40 days ago, rotation never enabled on it (dev)
    metadata = RotationMetadata(enabled=False, created=NOW - timedelta(days=40))

    required = assess_rotation(
        metadata, kind=SecretKind.DATABASE, now=NOW, period_days=30, grace_days=1
    )
    not_required = assess_rotation(
        metadata,
        kind=SecretKind.DATABASE,
        now=NOW,
        period_days=30,
        grace_days=1,
        require_database_rotation=False,
    )

    # Then it is overdue only where the environment requires rotation; its age is kept
    assert required.overdue is True
    assert not_required.overdue is False
    assert not_required.days_since_last_rotation == pytest.approx(40.0)


def test_a_secret_with_rotation_enabled_is_judged_even_where_not_required() -> None:
    metadata = RotationMetadata(
        enabled=True, last_rotated=NOW - timedelta(days=40), next_rotation=NOW - timedelta(days=9)
    )

    result = assess_rotation(
        metadata,
        kind=SecretKind.DATABASE,
        now=NOW,
        period_days=30,
        grace_days=1,
        require_database_rotation=False,
    )

    assert result.overdue is True


class HangingRotation(FakeRotation):
    """DescribeSecret that blocks until released (a hanging endpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def describe_rotation(self, secret_id: str) -> RotationMetadata:
        self.entered.set()
        self.gate.wait(10)
        return super().describe_rotation(secret_id)


def test_a_hanging_describe_secret_does_not_keep_the_login_from_proving_the_credentials(
    reader: FakeReader, login: FakeLogin
) -> None:
    # Given the database secret reads fine but DescribeSecret hangs past the deadline
    rotation = HangingRotation()
    try:
        report = run_probes(
            [DB],
            deps=ProbeDependencies(reader=reader, rotation=rotation, login=login),
            settings=SETTINGS,
            deadline_s=0.2,
            clock=StepClock(),
            now=lambda: NOW,
            wait=Deadline(rotation.entered),
        )
    finally:
        rotation.gate.set()

    # Then the login ran first and proved the credentials; the rotation check is the one cut
    (db,) = report.reports
    assert db.retrieval.ok is True
    assert len(login.logins) == 1
    assert db.login is not None
    assert db.login.ok is True
    assert db.rotation is not None
    assert db.rotation.error is not None
    assert db.rotation.error.error_type == "ProbeDeadlineExceededError"
