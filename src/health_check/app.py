"""Canary Lambda: on a schedule, proves every secret can be read fast and still works.

The door: it reads the configuration (once per container), runs one canary over the
configured and tag-discovered secrets (``probe.run_canary``), publishes the results as
CloudWatch metrics in EMF (``canary_emf``), logs one structured line per secret and
returns the JSON summary (``canary_summary``). A failing secret is a result, not an
error: the function only fails when its own configuration is invalid.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from canary_aws import DescribeRotationMetadata, discover_secret_ids, make_secretsmanager_client
from canary_config import CanaryConfig
from canary_emf import publish_metrics
from canary_summary import secret_fields, summarize
from canary_targets import build_targets
from db_login import MySqlLogin
from probe import ProbeDependencies, ProbeSettings, run_canary
from secret_service import SecretService

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_secretsmanager import SecretsManagerClient

    from probe import SecretReader

__all__ = ["clear_caches", "lambda_handler"]


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is now (Lambda's log stream, or a test's capture)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class _Runtime:
    """What one container builds once and keeps: configuration, clients, logger."""

    config: CanaryConfig
    client: SecretsManagerClient
    deps: ProbeDependencies
    logger: Logger


_lock = threading.Lock()
_runtime_cache: dict[str, _Runtime] = {}


def _make_reader(client: SecretsManagerClient, config: CanaryConfig) -> SecretReader:
    """The layer's service over the canary's client, made for measuring, not caching.

    Every read bypasses the cache (``force_refresh=True``) and a failure is never hidden
    by a stale value (``max_stale_s=0``). One retry, inside the per-call budget, as the
    application would get; the client itself never retries and times out per call.
    """
    timeout_s = config.probe_timeout_ms / 1000.0
    return SecretService(
        client,
        ttl_s=0.0,
        max_stale_s=0.0,
        max_entries=max(1, config.max_concurrency),
        max_attempts=2,
        max_total_s=timeout_s,
        connect_timeout_s=timeout_s,
        read_timeout_s=timeout_s,
    )


def _quiet_aws_libraries() -> None:
    """Keep botocore's DEBUG output, which holds whole response bodies (secret values), off.

    Lambda's log-level control (``AWS_LAMBDA_LOG_LEVEL=DEBUG``) would otherwise turn it on.
    """
    for name in ("botocore", "boto3", "urllib3"):
        library_logger = logging.getLogger(name)
        if library_logger.getEffectiveLevel() < logging.INFO:
            library_logger.setLevel(logging.INFO)


def _runtime() -> _Runtime:
    with _lock:
        runtime = _runtime_cache.get("default")
        if runtime is None:
            _quiet_aws_libraries()
            config = CanaryConfig.from_env()
            client = make_secretsmanager_client(
                timeout_s=config.probe_timeout_ms / 1000.0,
                max_pool_connections=config.max_concurrency,
                endpoint_url=config.secrets_manager_endpoint,
            )
            deps = ProbeDependencies(
                reader=_make_reader(client, config),
                rotation=DescribeRotationMetadata(client),
                login=MySqlLogin(
                    ca_bundle_path=config.rds_ca_bundle, timeout_s=config.db_connect_timeout_s
                ),
            )
            logger = Logger(service=config.service_name, stream=_CurrentStdout())  # type: ignore[arg-type]
            runtime = _Runtime(config=config, client=client, deps=deps, logger=logger)
            _runtime_cache["default"] = runtime
        return runtime


def clear_caches() -> None:
    """Forget the configuration and clients (tests; a container never needs it)."""
    with _lock:
        _runtime_cache.clear()


def _trigger(event: Any) -> dict[str, Any]:
    """Where the invocation came from, for the log; any event is accepted."""
    if isinstance(event, dict):
        return {
            "source": str(event.get("source", "unknown")),
            "detail_type": str(event.get("detail-type", "unknown")),
            "scheduled_at": str(event.get("time", "")) or None,
        }
    return {"source": "unknown", "detail_type": type(event).__name__, "scheduled_at": None}


def lambda_handler(
    event: dict[str, Any],
    context: Any,
    *,
    clock: Callable[[], float] = time.perf_counter,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    runtime = _runtime()
    config, logger = runtime.config, runtime.logger
    logger.append_keys(
        request_id=getattr(context, "aws_request_id", None), environment=config.environment
    )
    logger.info("canary run started", extra=_trigger(event))

    configured = build_targets(config.secret_ids, database_secret_id=config.database_secret_id)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    # Without a Lambda context (a run by hand, `lambda_handler(event, None)`): the run's
    # own budget, so every check gets its full timeouts.
    remaining_ms = (
        float(remaining()) if callable(remaining) else config.run_budget_s(len(configured)) * 1000
    )

    discover: Callable[[], Sequence[str]] | None = None
    if config.secret_tag_key is not None:
        tag_key, tag_value = config.secret_tag_key, config.secret_tag_value
        discovery_limit_s = config.discovery_time_limit_s(
            remaining_ms, configured_count=len(configured)
        )

        def discover() -> Sequence[str]:
            return discover_secret_ids(
                runtime.client,
                tag_key=tag_key,
                tag_value=tag_value,
                time_limit_s=discovery_limit_s,
                clock=clock,
            )

    run = run_canary(
        secret_ids=config.secret_ids,
        database_secret_id=config.database_secret_id,
        discover=discover,
        deps=runtime.deps,
        settings=ProbeSettings(
            rotation_period_days=config.rotation_period_days,
            rotation_grace_days=config.rotation_grace_days,
            max_concurrency=config.max_concurrency,
            require_database_rotation=config.require_database_rotation,
        ),
        deadline_s=config.deadline_s(remaining_ms),
        clock=clock,
        now=now,
    )

    # The secrets checked, discovered ones included, each once (by name).
    checked = len(run.report.reports)
    needed_s = config.run_budget_s(checked)
    if checked and remaining_ms < needed_s * 1000.0:
        logger.warning(
            "canary time budget short",
            extra={
                "remaining_ms": round(remaining_ms),
                "needed_ms": round(needed_s * 1000.0),
                "secrets": checked,
                "probe_timeout_ms": config.probe_timeout_ms,
                "db_connect_timeout_s": config.db_connect_timeout_s,
            },
        )

    publish_metrics(
        run.report,
        namespace=config.metrics_namespace,
        environment=config.environment,
        service_name=config.service_name,
    )
    if run.discovery.error is not None:
        logger.warning(
            "secret discovery failed",
            extra={
                "tag_key": config.secret_tag_key,
                "error": run.discovery.error.error_type,
                "error_message": run.discovery.error.message,
            },
        )
    if not run.report.reports:
        logger.warning("no secret to check", extra={"tag_key": config.secret_tag_key})
    for report in run.report.reports:
        log = logger.info if report.ok else logger.warning
        log("secret checked", extra=secret_fields(report))

    summary = summarize(run, environment=config.environment)
    logger.info(
        "canary run finished",
        extra={
            key: summary[key]
            for key in (
                "ok",
                "secrets_checked",
                "secrets_failed",
                "rotations_overdue",
                "deadline_exceeded",
                "duration_ms",
            )
        },
    )
    return summary
