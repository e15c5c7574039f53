"""The five steps of ``make local``, run against a :class:`~scripts.local_run.world.LocalWorld`.

1. an application reads the database credentials through ``secret_service`` and queries;
2. a rotation runs through the rotation handler's four steps as Secrets Manager invokes
   them, the application checked after every step;
3. the canary runs; its EMF metrics are shown as a table;
4. a fault drill: the database freezes during setSecret; the step fails, nothing
   changes, AWSCURRENT still logs in; after recovery Secrets Manager's retry completes;
5. the verdict, including proof that no secret value reached the output or any log.

Each step is a list of named checks; a step holds when all of them hold. An error
inside a step fails that step (its type and value-free message are shown) and the run
carries on, so one broken part never hides the state of the others.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.lambda_runtime import FakeLambdaContext, load_handler
from harness.rotation import ROTATION_STEPS, begin_rotation, rotate, rotation_event

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from scripts.local_run.console import Console
    from scripts.local_run.world import LocalWorld

    from secret_service.client import SecretService

__all__ = ["Flow", "StepOutcome"]

EVENTS = Path(__file__).resolve().parents[2] / "events"
RETRY_LOG_MESSAGE = "database login refused, retrying with refetched credentials"


@dataclass
class StepOutcome:
    number: int
    title: str
    checks: list[tuple[str, bool]] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    duration_s: float = 0.0

    @property
    def held(self) -> bool:
        return self.error is None and all(ok for _, ok in self.checks)

    @property
    def status(self) -> str:
        if self.skipped is not None:
            return "SKIP"
        return "PASS" if self.held else "FAIL"


@dataclass(frozen=True)
class AppLogin:
    ok: bool
    user: str = ""
    recovered_via: str | None = None
    """The stage the application fell back to after a 1045, if it had to."""
    error: str | None = None

    def describe(self) -> str:
        if not self.ok:
            return f"FAILED ({self.error})"
        if self.recovered_via:
            return f"{self.user} (refused 1045 -> refetched -> {self.recovered_via})"
        return f"{self.user} (cached credentials)"


class _LogCapture(logging.Handler):
    """Keeps every log record of the run (the layer's and the harness's)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(json.dumps(r.__dict__, default=str) for r in self.records)


class Flow:
    def __init__(self, world: LocalWorld, console: Console, *, verbose: bool = False) -> None:
        self.world = world
        self.console = console
        self.verbose = verbose
        self.function_output: list[str] = []
        self.logs = _LogCapture()
        self._app: SecretService | None = None
        self._step_ms: dict[str, float] = {}

    # -- the run ---------------------------------------------------------------------

    def run(self) -> list[StepOutcome]:
        root = logging.getLogger()
        level = root.level
        root.addHandler(self.logs)
        root.setLevel(logging.INFO)
        try:
            outcomes = [
                self._step(1, "application reads its credentials and queries", self.application),
                self._step(2, f"rotation ({self.world.config.strategy})", self.rotation),
                self._step(3, "canary", self.canary),
                self._step(4, "fault drill: database unreachable during setSecret", self.drill),
            ]
        finally:
            root.removeHandler(self.logs)
            root.setLevel(level)
            self._forget_handler_state()
        return outcomes

    def _forget_handler_state(self) -> None:
        """Drop the runtimes the handlers cached from this run's environment."""
        import sys

        if "rotation_app" in sys.modules:
            sys.modules["rotation_app"].install_runtime(None)
        if "health_check_app" in sys.modules:
            sys.modules["health_check_app"].clear_caches()

    def leaked_values(self) -> list[str]:
        """Kinds of secret values found in the output or any log (never the values)."""
        haystack = "\n".join([*self.console.transcript, *self.function_output, self.logs.text()])
        values = self.world.every_secret_value()
        return [f"value #{i}" for i, v in enumerate(sorted(values)) if v in haystack]

    def _step(self, number: int, title: str, body: Callable[[StepOutcome], None]) -> StepOutcome:
        outcome = StepOutcome(number=number, title=title)
        self.console.step(number, title)
        started = time.perf_counter()
        try:
            body(outcome)
        except Exception as exc:  # a step's failure is a result; the run carries on
            outcome.error = f"{type(exc).__name__}: {exc}"
            self.console.detail(f"FAIL {outcome.error}")
        outcome.duration_s = time.perf_counter() - started
        if outcome.skipped is not None:
            self.console.detail(f"skipped: {outcome.skipped}")
        else:
            self.console.detail(f"-> {outcome.status} ({outcome.duration_s:.1f} s)")
        return outcome

    def _check(self, outcome: StepOutcome, description: str, held: bool) -> None:
        outcome.checks.append((description, held))
        self.console.check(description, held)

    # -- the application ---------------------------------------------------------------

    @property
    def app(self) -> SecretService:
        """One warm application container: a SecretService with the default TTL."""
        if self._app is None:
            from secret_service.client import SecretService

            assert self.world.db is not None
            # No client passed: the layer's own default client (short timeouts, botocore
            # retries off under the layer's), as in an application function; it reaches
            # the moto server through AWS_ENDPOINT_URL.
            self._app = SecretService(ca_bundle_path=self.world.db.ca_path)
        return self._app

    def app_login(self) -> AppLogin:
        """The application connects through ``database_connection`` and queries."""
        from secret_service.errors import SecretServiceError

        before = len(self.logs.records)
        try:
            with (
                self.app.database_connection(
                    self.world.secrets["database"].name, connect_timeout_s=2.0
                ) as conn,
                conn.cursor() as cur,
            ):
                cur.execute("SELECT CURRENT_USER(), DATABASE(), 1")
                row = cur.fetchone()
        except SecretServiceError as exc:
            return AppLogin(ok=False, error=type(exc).__name__)
        retries = [r for r in self.logs.records[before:] if r.msg == RETRY_LOG_MESSAGE]
        stage = getattr(retries[-1], "version_stage", "?") if retries else None
        user = str(row[0]).split("@", 1)[0] if row else "?"
        return AppLogin(ok=row is not None and row[2] == 1, user=user, recovered_via=stage)

    def application(self, outcome: StepOutcome) -> None:
        names = {kind: handle.name for kind, handle in self.world.secrets.items()}
        creds = self.app.get_database_credentials(names["database"])
        self.console.detail(
            f"database secret: {creds.username}@{creds.host}:{creds.port}/{creds.dbname}, "
            f"engine {creds.engine}, ssl={creds.ssl}; the password is never printed"
        )
        login = self.app_login()
        self._check(outcome, f"query through database_connection as {login.describe()}", login.ok)
        jwt = self.app.get_jwt_config(names["jwt"])
        self._check(
            outcome,
            f"JWT config valid ({jwt.algorithm}, issuer {jwt.issuer}, "
            f"{len(jwt.signing_key)}-character key)",
            len(jwt.signing_key) >= 32,
        )
        apis = self.app.get_external_apis(names["external-apis"]).apis
        self._check(
            outcome,
            "external API secret valid ("
            + ", ".join(
                f"{name}: {api.provider}, {api.region}" for name, api in sorted(apis.items())
            )
            + ")",
            bool(apis),
        )
        stats = self.app.stats()
        self.console.detail(f"layer stats: {stats}")

    # -- rotation ----------------------------------------------------------------------

    def _handler(self, function: str, reset: str) -> ModuleType:
        module = load_handler(function)
        getattr(module, reset)(*([None] if reset == "install_runtime" else []))
        return module

    def _invoke_rotation(self, module: ModuleType) -> Callable[[dict[str, Any]], object]:
        name = f"{self.world.template.app_name if self.world.template else 'app'}-secret-rotation"

        def invoke(event: dict[str, Any]) -> object:
            started = time.perf_counter()
            try:
                return self._captured(
                    lambda: module.lambda_handler(event, FakeLambdaContext(function_name=name))
                )
            finally:
                self._step_ms[event["Step"]] = (time.perf_counter() - started) * 1000

        return invoke

    def _captured(self, call: Callable[[], object]) -> object:
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                return call()
        finally:
            text = buffer.getvalue()
            self.function_output.append(text)
            if self.verbose:
                self.console.function_output(text)

    def rotation(self, outcome: StepOutcome) -> None:
        world = self.world
        assert world.db is not None
        world.use_function_environment(world.rotation_env)
        module = self._handler("rotation", "install_runtime")
        invoke = self._invoke_rotation(module)
        arn = world.secrets["database"].arn
        before_version = world.version_with("database", "AWSCURRENT")
        before = world.secret_document("database")
        rows: list[tuple[str, str, str]] = []
        logins: list[AppLogin] = []

        def after_step(step: str) -> None:
            if step == "finishSecret":
                world.record_rotation_date("database")
            login = self.app_login()
            logins.append(login)
            rows.append((step, f"{self._step_ms.get(step, 0):.0f}", login.describe()))

        token = rotate(invoke, world.client, arn, after_step=after_step)
        self.console.table(("step", "ms", "application logs in as"), rows)
        after = world.secret_document("database")
        self._check(
            outcome, "AWSCURRENT moved to the new version", world.version_with(
                "database", "AWSCURRENT") == token
        )  # fmt: skip
        self._check(
            outcome,
            "the old version is AWSPREVIOUS",
            world.version_with("database", "AWSPREVIOUS") == before_version,
        )
        self._check(outcome, "the application worked after every step", all(x.ok for x in logins))
        self._check(
            outcome,
            f"the new AWSCURRENT ({after['username']}) logs in",
            world.db.logs_in(after["username"], after["password"]),
        )
        if world.config.strategy == "single-user":
            self._check(
                outcome,
                "the old password is refused",
                not world.db.logs_in(before["username"], before["password"]),
            )
        else:
            self._check(
                outcome,
                f"users alternated ({before['username']} -> {after['username']})",
                before["username"] != after["username"],
            )
            self._check(
                outcome,
                f"AWSPREVIOUS ({before['username']}) still logs in until the next rotation",
                world.db.logs_in(before["username"], before["password"]),
            )
        self._rotate_jwt(outcome, invoke)

    def _rotate_jwt(self, outcome: StepOutcome, invoke: Callable[[dict[str, Any]], object]) -> None:
        """The JWT key (strategy random-key): a token signed before still verifies."""
        world = self.world
        name = world.secrets["jwt"].name
        old_key = self.app.get_jwt_config(name).signing_key
        token = rotate(invoke, world.client, world.secrets["jwt"].arn)
        self.app.invalidate(name)  # as the TTL would, later
        keys = [k.signing_key for k in self.app.get_jwt_verification_keys(name)]
        self.console.detail(
            f"JWT key rotated (random-key, {len(keys[0])} characters); verification keys: "
            f"{len(keys)} (AWSCURRENT, AWSPREVIOUS)"
        )
        self._check(
            outcome,
            "JWT: AWSCURRENT is a new key, the old one still verifies as AWSPREVIOUS",
            world.version_with("jwt", "AWSCURRENT") == token
            and keys[0] != old_key
            and old_key in keys[1:],
        )

    # -- canary ------------------------------------------------------------------------

    def canary(self, outcome: StepOutcome) -> None:
        world = self.world
        world.use_function_environment(world.canary_env)
        module = self._handler("health_check", "clear_caches")
        import canary_metrics as m  # on sys.path once the handler is loaded

        event = json.loads((EVENTS / "health_check.json").read_text())
        context = FakeLambdaContext(function_name="secret-health-check", timeout_ms=60_000)
        summary = self._captured(lambda: module.lambda_handler(event, context))
        metrics = _emf_metrics(self.function_output[-1])
        columns = (
            m.RetrievalSuccess,
            m.RetrievalFailure,
            m.RetrievalLatency,
            m.DatabaseLoginSuccess,
            m.DaysSinceLastRotation,
            m.RotationOverdue,
        )
        headers = [
            "secret",
            "success",
            "failure",
            "latency ms",
            "db login",
            "days since rot.",
            "overdue",
        ]
        rows = [[name, *(metrics[name].get(c) for c in columns)] for name in sorted(metrics)]
        self.console.table(headers, rows)
        names = [h.name for h in world.secrets.values()]
        ok = isinstance(summary, dict) and summary.get("ok") is True
        self._check(outcome, "the canary's summary says ok", ok)
        if not ok and isinstance(summary, dict):
            for entry in summary.get("secrets", []):
                if not entry.get("ok"):
                    self.console.detail(
                        f"{entry.get('secret_name')}: {entry.get('error')} "
                        f"{entry.get('error_message') or ''}"
                    )
        self._check(
            outcome,
            f"{m.RetrievalSuccess} = 1 for every secret",
            all(metrics.get(n, {}).get(m.RetrievalSuccess) == 1 for n in names),
        )
        database = world.secrets["database"].name
        self._check(
            outcome,
            f"{m.DatabaseLoginSuccess} = 1 (AWSCURRENT logs in)",
            metrics.get(database, {}).get(m.DatabaseLoginSuccess) == 1,
        )
        days = metrics.get(database, {}).get(m.DaysSinceLastRotation)
        self._check(
            outcome,
            f"{m.DaysSinceLastRotation} of the database secret < 1 (just rotated)",
            isinstance(days, int | float) and days < 1,
        )

    # -- fault drill -------------------------------------------------------------------

    def drill(self, outcome: StepOutcome) -> None:
        world = self.world
        assert world.db is not None
        if not world.can_freeze_database:
            outcome.skipped = (
                "the drill freezes the database server; run make local without --db-host "
                "for it (your server is never frozen)"
            )
            return
        assert world.pause_db is not None
        assert world.resume_db is not None
        world.use_function_environment(world.rotation_env)
        module = self._handler("rotation", "install_runtime")
        invoke = self._invoke_rotation(module)
        arn = world.secrets["database"].arn
        current_before = world.version_with("database", "AWSCURRENT")
        before = world.secret_document("database")
        token = begin_rotation(world.client, arn)
        invoke(rotation_event(arn, token, "createSecret"))
        self.console.detail("createSecret done; freezing the database (SIGSTOP)...")
        world.pause_db()
        failure: str | None = None
        try:
            invoke(rotation_event(arn, token, "setSecret"))
        except Exception as exc:  # the drill expects the step to fail
            failure = type(exc).__name__
        finally:
            world.resume_db()
        self.console.detail(
            f"setSecret took {self._step_ms['setSecret']:.0f} ms; database thawed (SIGCONT)"
        )
        self._check(outcome, f"setSecret failed ({failure or 'it did not!'})", failure is not None)
        self._check(
            outcome,
            "AWSCURRENT did not move (nothing to roll back: the password never changed)",
            world.version_with("database", "AWSCURRENT") == current_before,
        )
        self._check(
            outcome,
            "AWSCURRENT still logs in",
            world.db.logs_in(before["username"], before["password"]),
        )
        login = self.app_login()
        self._check(outcome, f"the application still works: {login.describe()}", login.ok)
        self.console.detail("Secrets Manager retries the rotation (same token)...")
        for step in ROTATION_STEPS[1:]:
            invoke(rotation_event(arn, token, step))
        from harness.rotation import sync_default_version

        sync_default_version(world.client, arn)
        world.record_rotation_date("database")
        after = world.secret_document("database")
        self._check(
            outcome,
            "the retry completed: AWSCURRENT is the new version",
            world.version_with("database", "AWSCURRENT") == token,
        )
        self._check(
            outcome,
            "the new AWSCURRENT logs in",
            world.db.logs_in(after["username"], after["password"]),
        )
        login = self.app_login()
        self._check(outcome, f"the application recovers: {login.describe()}", login.ok)


def _emf_metrics(output: str) -> dict[str, dict[str, float]]:
    """Metric values per SecretName from the EMF documents in a function's stdout."""
    found: dict[str, dict[str, float]] = {}
    for raw in output.splitlines():
        line = raw.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        name = str(document.get("SecretName", "?"))
        for directive in document["_aws"].get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                value = document.get(metric["Name"])
                if isinstance(value, list):
                    value = sum(value)
                if isinstance(value, int | float):
                    found.setdefault(name, {})[metric["Name"]] = value
    return found
