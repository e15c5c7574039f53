"""``make local``: the door. Options -> the world -> the five steps -> the verdict.

Exit status 0 only if every step held and no secret value reached the output or any
log; 1 otherwise; 2 for a bad option; 128 + the signal's number after Ctrl-C (130),
SIGTERM (143) or a closed terminal (SIGHUP, 129). Everything started is stopped on every
path (the world is a context manager; those signals unwind it as Ctrl-C does).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

from scripts.exits import reader_gone
from scripts.local_run.config import LocalConfig, LocalConfigError
from scripts.local_run.console import Console
from scripts.local_run.flow import Flow, StepOutcome
from scripts.local_run.world import LocalWorld
from scripts.sam_template import TemplateError, samconfig_parameters

from secret_service.errors import DatabaseError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main", "run"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Each unwinds the run: a closed terminal or SSH session (SIGHUP) would otherwise end the
# process and leave the throwaway MariaDB running (it ignores SIGHUP) or your rehearsal
# user in place.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stopped(KeyboardInterrupt):
    """A stop signal arrived; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run(config: LocalConfig, console: Console) -> int:
    """Set up, run the steps, print the summary; the exit status."""
    started = time.perf_counter()
    app = config.app_name or samconfig_parameters(config.environment).get(
        "parameter:AppName", "goal-mandala"
    )
    name = f"{app}-{config.environment}"
    console.line(f"make local: {name}, strategy {config.strategy}")
    with LocalWorld(config=config, progress=console.setup) as world:
        flow = Flow(world, console, verbose=config.verbose)
        outcomes = flow.run()
        console.step(5, "summary")
        leaked = flow.leaked_values()
        secrets_checked = len(world.every_secret_value())
        console.line(
            "      dropping the rehearsal user and database, stopping the moto server..."
            if config.db_host
            else "      stopping the database and the moto server..."
        )
    return _summary(console, outcomes, leaked, secrets_checked, time.perf_counter() - started)


def _summary(
    console: Console,
    outcomes: list[StepOutcome],
    leaked: list[str],
    secrets_checked: int,
    elapsed_s: float,
) -> int:
    rows = [(o.number, o.title, o.status, f"{o.duration_s:.1f}") for o in outcomes]
    leak_free = not leaked
    rows.append(
        (
            5,
            f"no secret value in the output or any log ({secrets_checked} values checked)",
            "PASS" if leak_free else "FAIL",
            "",
        )
    )
    console.table(("step", "what", "result", "s"), rows)
    ok = leak_free and all(o.held for o in outcomes)
    console.line()
    if ok:
        console.line(
            f"VERDICT: every step held ({elapsed_s:.1f} s); everything started is stopped."
        )
        return EXIT_OK
    failed = [str(o.number) for o in outcomes if not o.held] + ([] if leak_free else ["5"])
    console.line(f"VERDICT: FAILED at step {', '.join(failed)} ({elapsed_s:.1f} s).")
    return EXIT_FAILED


def _interrupt(signum: int, _frame: Any) -> NoReturn:
    """First stop signal: unwind (stopping everything); later ones wait for that."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise _Stopped(signum)


def main(argv: Sequence[str] | None = None) -> int:
    console = Console()
    try:
        config = LocalConfig.from_args(argv)
    except LocalConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Our own handlers, not whatever the process inherited: a second signal during the
    # clean-up must not kill the process before the servers are stopped.
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        return run(config, console)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, _Stopped) else signal.SIGINT
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            console.line()
            console.line("interrupted: everything started was stopped.")
        return 128 + signum
    except BrokenPipeError:  # `make local | head`: everything started was stopped already
        return reader_gone()
    except TemplateError as exc:
        print(f"error: template.yaml: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseError as exc:  # your MySQL (--db-*) refused the admin login
        where = f"{config.db_host}:{config.db_port}" if config.db_host else "the database"
        print(
            f"error: {where}: {type(exc).__name__}: {exc} "
            "(check --db-host, --db-port, --db-admin-user, --db-ca and LOCAL_DB_ADMIN_PASSWORD)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
