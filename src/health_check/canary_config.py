"""The canary's configuration, read once from the environment into a frozen dataclass.

Every variable is documented in ``docs/health_check.md``. A bad value raises
:class:`CanaryConfigError` naming the variable and saying what a good value looks like.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from canary_errors import CanaryConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_DB_CONNECT_TIMEOUT_S",
    "DEFAULT_PROBE_TIMEOUT_MS",
    "DEFAULT_ROTATION_PERIOD_DAYS",
    "CanaryConfig",
]

DEFAULT_ROTATION_PERIOD_DAYS = 30
DEFAULT_PROBE_TIMEOUT_MS = 3000
DEFAULT_DB_CONNECT_TIMEOUT_S = 5.0
DEFAULT_ROTATION_GRACE_DAYS = 1.0
DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_DEADLINE_RESERVE_MS = 2000

# A secret name as Secrets Manager allows it, or a full secret ARN.
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$"
)
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ENDPOINT = re.compile(r"^(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]+)(:\d{1,5})?/?$")
_LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3})$")
_TAG = re.compile(r"^[\w .:/=+\-@]{1,256}$", re.UNICODE)


@dataclass(frozen=True, slots=True, kw_only=True)
class CanaryConfig:
    """What one canary run checks and how long it may wait for each answer."""

    environment: str
    metrics_namespace: str
    service_name: str = "secrets-canary"
    secret_ids: tuple[str, ...] = ()
    secret_tag_key: str | None = None
    secret_tag_value: str | None = None
    database_secret_id: str | None = None
    rds_ca_bundle: str | None = None
    rotation_period_days: int = DEFAULT_ROTATION_PERIOD_DAYS
    rotation_grace_days: float = DEFAULT_ROTATION_GRACE_DAYS
    require_database_rotation: bool = True
    probe_timeout_ms: int = DEFAULT_PROBE_TIMEOUT_MS
    db_connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    deadline_reserve_ms: int = DEFAULT_DEADLINE_RESERVE_MS
    secrets_manager_endpoint: str | None = None

    @property
    def discovers_by_tag(self) -> bool:
        return self.secret_tag_key is not None

    @property
    def check_budget_s(self) -> float:
        """The longest one secret's checks take when every call hangs until its timeout.

        Retrieval: two attempts (the layer's one retry), each up to a connect and a read
        timeout; DescribeSecret: a connect and a read timeout; the login: the connect
        timeout, then a read timeout for the server's first answer.
        """
        probe_s = self.probe_timeout_ms / 1000.0
        return 2 * (2 * probe_s) + 2 * probe_s + 2 * self.db_connect_timeout_s

    def run_budget_s(self, secret_count: int) -> float:
        """Lambda time a run over ``secret_count`` secrets needs so no check is cut short."""
        rounds = max(1, math.ceil(secret_count / max(1, self.max_concurrency)))
        return rounds * self.check_budget_s + self.deadline_reserve_ms / 1000.0

    def deadline_s(self, remaining_ms: float) -> float:
        """The time the checks may take: the Lambda's remaining time minus a reserve.

        The reserve (``deadline_reserve_ms``, or a fifth of a short remaining time) is left
        for publishing the metrics and the summary after the deadline.
        """
        reserve_ms = min(float(self.deadline_reserve_ms), remaining_ms / 5.0)
        return max(0.0, (remaining_ms - reserve_ms) / 1000.0)

    def discovery_time_limit_s(self, remaining_ms: float, *, configured_count: int) -> float:
        """How long tag discovery may page through ListSecrets.

        The run's deadline minus the rounds of checks the configured secrets need (at
        least one round, for what discovery finds), and never less than a quarter of
        the deadline: a Lambda too short for its checks still discovers.
        """
        deadline_s = self.deadline_s(remaining_ms)
        checks_s = self.run_budget_s(configured_count) - self.deadline_reserve_ms / 1000.0
        return max(deadline_s / 4.0, deadline_s - checks_s)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CanaryConfig:
        """Read and validate every variable; raise naming the first bad one."""
        env = os.environ if environ is None else environ

        _check_powertools_switches(env)
        secret_ids = _secret_ids(env.get("SECRET_IDS", ""))
        database_secret_id = _optional(env, "DATABASE_SECRET_ID")
        if database_secret_id is not None:
            _check_secret_id(database_secret_id, variable="DATABASE_SECRET_ID")
        tag_key = _optional(env, "SECRET_TAG_KEY")
        tag_value = _optional(env, "SECRET_TAG_VALUE")
        if tag_value is not None and tag_key is None:
            raise CanaryConfigError(
                "SECRET_TAG_VALUE is set but SECRET_TAG_KEY is empty; set SECRET_TAG_KEY to "
                "the tag key to discover secrets by, or unset SECRET_TAG_VALUE",
                variable="SECRET_TAG_KEY",
            )
        for variable, value in (("SECRET_TAG_KEY", tag_key), ("SECRET_TAG_VALUE", tag_value)):
            if value is not None and not _TAG.match(value):
                raise CanaryConfigError(
                    f"{variable}={value!r} is not a valid tag; use up to 256 letters, digits, "
                    "spaces and _ . : / = + - @",
                    variable=variable,
                )
        if not secret_ids and database_secret_id is None and tag_key is None:
            raise CanaryConfigError(
                "nothing to check: set SECRET_IDS (comma-separated secret names or ARNs), "
                "DATABASE_SECRET_ID, or SECRET_TAG_KEY to discover secrets by tag",
                variable="SECRET_IDS",
            )

        return cls(
            environment=_environment(env),
            metrics_namespace=_required(env, "POWERTOOLS_METRICS_NAMESPACE"),
            service_name=_optional(env, "POWERTOOLS_SERVICE_NAME") or "secrets-canary",
            secret_ids=secret_ids,
            secret_tag_key=tag_key,
            secret_tag_value=tag_value,
            database_secret_id=database_secret_id,
            rds_ca_bundle=_ca_bundle(env),
            rotation_period_days=int(
                _number(
                    env, "ROTATION_PERIOD_DAYS", DEFAULT_ROTATION_PERIOD_DAYS, 1, 365, integer=True
                )
            ),
            require_database_rotation=_flag(env, "REQUIRE_DATABASE_ROTATION", default=True),
            probe_timeout_ms=int(
                _number(env, "PROBE_TIMEOUT_MS", DEFAULT_PROBE_TIMEOUT_MS, 50, 60_000, integer=True)
            ),
            db_connect_timeout_s=_number(
                env, "DB_CONNECT_TIMEOUT_S", DEFAULT_DB_CONNECT_TIMEOUT_S, 0.05, 60
            ),
            secrets_manager_endpoint=_endpoint(env),
        )


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise CanaryConfigError(f"{name} is not set; the template sets it", variable=name)
    return value


def _environment(env: Mapping[str, str]) -> str:
    value = _required(env, "ENVIRONMENT")
    if not _ENVIRONMENT.match(value):
        raise CanaryConfigError(
            f"ENVIRONMENT={value!r} is not a valid dimension value; use e.g. dev, stg or prod",
            variable="ENVIRONMENT",
        )
    return value


def _check_secret_id(secret_id: str, *, variable: str) -> None:
    if secret_id.startswith("arn:"):
        if not _SECRET_ARN.match(secret_id):
            raise CanaryConfigError(
                f"{variable} entry {secret_id!r} is not a full Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>); "
                "use the ARN the template outputs, or the secret's name",
                variable=variable,
            )
    elif not _SECRET_NAME.match(secret_id):
        raise CanaryConfigError(
            f"{variable} entry {secret_id!r} is not a secret name; names use letters, "
            "digits and /_+=.@- (1-512 characters)",
            variable=variable,
        )


def _secret_ids(raw: str) -> tuple[str, ...]:
    ids: list[str] = []
    for part in raw.split(","):
        secret_id = part.strip()
        if not secret_id:
            continue
        _check_secret_id(secret_id, variable="SECRET_IDS")
        if secret_id not in ids:
            ids.append(secret_id)
    return tuple(ids)


def _ca_bundle(env: Mapping[str, str]) -> str | None:
    path = _optional(env, "RDS_CA_BUNDLE")
    if path is not None and not (os.path.isfile(path) and os.access(path, os.R_OK)):
        raise CanaryConfigError(
            f"RDS_CA_BUNDLE={path!r} is not a readable file; point it at the RDS CA bundle "
            "PEM shipped with the function, or leave it empty to use the system trust store",
            variable="RDS_CA_BUNDLE",
        )
    return path


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = _optional(env, name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise CanaryConfigError(f"{name}={raw!r} is not true or false", variable=name)
    return raw.lower() == "true"


# Powertools' own reading of its switches (aws_lambda_powertools.shared.functions.strtobool):
# the raw value, lower-cased, not stripped; anything else is a ValueError at first use.
_POWERTOOLS_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_POWERTOOLS_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})


def _powertools_switch(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name)
    if raw is None:
        return None
    if raw.lower() in _POWERTOOLS_TRUE:
        return True
    if raw.lower() in _POWERTOOLS_FALSE:
        return False
    raise CanaryConfigError(
        f"{name}={raw!r} is not a value Powertools can read (true/false, 1/0, yes/no, "
        "on/off); it would fail the run after the checks: remove it",
        variable=name,
    )


def _check_powertools_switches(env: Mapping[str, str]) -> None:
    """Refuse the Powertools switches that would silence the canary.

    The canary's metrics are what every canary alarm reads, and its log lines are one
    JSON document each; Powertools turns the first off with POWERTOOLS_METRICS_DISABLED,
    and POWERTOOLS_DEV turns the metrics off too (unless POWERTOOLS_METRICS_DISABLED is
    false) and indents every log line over many lines (separate CloudWatch log events).
    """
    if _powertools_switch(env, "POWERTOOLS_METRICS_DISABLED"):
        raise CanaryConfigError(
            "POWERTOOLS_METRICS_DISABLED is true: it turns the canary's metrics off, and every "
            "canary alarm reads them; remove it",
            variable="POWERTOOLS_METRICS_DISABLED",
        )
    if _powertools_switch(env, "POWERTOOLS_DEV"):
        raise CanaryConfigError(
            "POWERTOOLS_DEV is true: it is for local debugging; it turns the canary's metrics "
            "off (unless POWERTOOLS_METRICS_DISABLED=false) and prints each log line over many "
            "lines, which CloudWatch Logs stores as separate events; remove it",
            variable="POWERTOOLS_DEV",
        )


def _endpoint(env: Mapping[str, str]) -> str | None:
    url = _optional(env, "SECRETS_MANAGER_ENDPOINT")
    if url is None:
        return None
    matched = _ENDPOINT.match(url)
    if matched and matched["scheme"] == "http" and not _LOOPBACK.match(matched["host"]):
        raise CanaryConfigError(
            f"SECRETS_MANAGER_ENDPOINT={url!r} is plain http to a remote host: secret values "
            "would cross the network unencrypted; use https:// (http:// is for a local "
            "emulator on 127.0.0.1 or localhost only)",
            variable="SECRETS_MANAGER_ENDPOINT",
        )
    if not matched:
        raise CanaryConfigError(
            f"SECRETS_MANAGER_ENDPOINT={url!r} is not an endpoint URL; use "
            "https://<host> (a VPC interface endpoint's DNS name), or leave it empty for "
            "the regional endpoint",
            variable="SECRETS_MANAGER_ENDPOINT",
        )
    return url


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    low: float,
    high: float,
    *,
    integer: bool = False,
) -> float:
    raw = _optional(env, name)
    if raw is None:
        return default
    kind = "a whole number" if integer else "a number"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise CanaryConfigError(
            f"{name}={raw!r} is not {kind}; use {kind} from {low:g} to {high:g}", variable=name
        ) from None
    if not low <= value <= high:
        raise CanaryConfigError(
            f"{name}={raw} is out of range; use {kind} from {low:g} to {high:g}", variable=name
        )
    return value
