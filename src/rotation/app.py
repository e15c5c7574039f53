"""Rotation Lambda: the door Secrets Manager knocks on to rotate a secret.

Parses the rotation event, runs one step of the rotation protocol (``steps.py``) over
the Secrets Manager adapter (``secrets_store.py``) and the database adapter
(``mysql.py``), and maps the outcome to logs and metrics (``rotation_metrics.py``):
``RotationStepDuration`` every invocation, ``RotationSucceeded`` when finishSecret moves
AWSCURRENT, ``RotationFailed`` on any error, ``RotationRolledBack`` when the rotation was
rolled back (testSecret failed, or finishSecret was refused). Errors are raised (Secrets
Manager records the failure and retries), not logged.

The configuration, the boto3 client and the TLS context are made on the first
invocation and kept for the life of the container; nothing happens at import time.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

import rotation_metrics
from mysql import MySQLDatabase
from rotation_config import RotationConfig
from rotation_errors import RotationAbortedError
from rotation_event import parse_event
from secrets_store import SecretsManagerStore
from steps import run_step

if TYPE_CHECKING:
    from collections.abc import Callable

    from steps import Database, SecretStore

__all__ = ["Runtime", "install_runtime", "lambda_handler", "runtime"]

_LOG_KEYS = ("secret_id", "step", "version_id", "function_request_id")


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is now (Lambda's, or a test's capture)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class Runtime:
    """What one container keeps between invocations."""

    config: RotationConfig
    store: SecretStore
    db: Database
    logger: Logger
    metrics: Metrics
    clock: Callable[[], float] = time.perf_counter

    @classmethod
    def from_env(cls) -> Runtime:
        config = RotationConfig.from_env()
        # botocore logs whole response bodies - secret values - at DEBUG. Lambda's log-level
        # control (AWS_LAMBDA_LOG_LEVEL=DEBUG) would turn that on: keep it off here.
        for name in ("botocore", "boto3", "urllib3"):
            library_logger = logging.getLogger(name)
            if library_logger.getEffectiveLevel() < logging.INFO:
                library_logger.setLevel(logging.INFO)
        return cls(
            config=config,
            store=SecretsManagerStore(endpoint_url=config.secrets_manager_endpoint),
            db=MySQLDatabase(
                ca_bundle_path=config.ca_bundle_path,
                connect_timeout_s=config.connect_timeout_s,
                read_timeout_s=config.read_timeout_s,
            ),
            logger=Logger(service=config.service_name, stream=_CurrentStdout()),  # type: ignore[arg-type]
            # service="": Powertools would add a `service` dimension, and the alarms and
            # dashboard select exactly rotation_metrics.DIMENSIONS.
            metrics=Metrics(namespace=config.metrics_namespace, service=""),
        )


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The container's runtime, made from the environment on first use."""
    global _runtime  # noqa: PLW0603 - one per container, by design
    if _runtime is None:
        _runtime = Runtime.from_env()
    return _runtime


def install_runtime(value: Runtime | None) -> None:
    """Replace the container's runtime (tests, ``make local``); None rebuilds on next use."""
    global _runtime  # noqa: PLW0603
    _runtime = value


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    rt = runtime()
    started = rt.clock()
    secret_name = _secret_name(event)
    rt.logger.append_keys(
        secret_id=event.get("SecretId") if isinstance(event, dict) else None,
        step=event.get("Step") if isinstance(event, dict) else None,
        version_id=event.get("ClientRequestToken") if isinstance(event, dict) else None,
        function_request_id=getattr(context, "aws_request_id", None),
    )
    metrics = rt.metrics
    try:
        request = parse_event(event)
        result = run_step(request, store=rt.store, db=rt.db, config=rt.config, log=rt.logger)
        secret_name = result.secret_name
        rt.logger.info(
            "rotation step done",
            extra={
                "outcome": result.outcome,
                "strategy": result.strategy.value if result.strategy else None,
            },
        )
        if result.finished_rotation:
            metrics.add_metric(
                name=rotation_metrics.RotationSucceeded, unit=MetricUnit.Count, value=1
            )
    except Exception as exc:
        metrics.add_metric(name=rotation_metrics.RotationFailed, unit=MetricUnit.Count, value=1)
        if isinstance(exc, RotationAbortedError) and exc.rolled_back:
            metrics.add_metric(
                name=rotation_metrics.RotationRolledBack, unit=MetricUnit.Count, value=1
            )
        raise
    finally:
        metrics.add_metric(
            name=rotation_metrics.RotationStepDuration,
            unit=MetricUnit.Milliseconds,
            value=round((rt.clock() - started) * 1000, 3),
        )
        metrics.add_dimension(name="Environment", value=rt.config.environment)
        metrics.add_dimension(name="SecretName", value=secret_name)
        metrics.flush_metrics()
        rt.logger.remove_keys(list(_LOG_KEYS))


def _secret_name(event: object) -> str:
    """The dimension value before DescribeSecret answers: the name part of SecretId."""
    secret_id = event.get("SecretId") if isinstance(event, dict) else None
    if not isinstance(secret_id, str) or not secret_id.strip():
        return "unknown"
    name = secret_id.split(":secret:", 1)[-1][:256]
    # An ARN ends in '-' + 6 random characters that are not part of the name.
    if secret_id.startswith("arn:") and len(name) > 7 and name[-7] == "-":
        name = name[:-7]
    return name
