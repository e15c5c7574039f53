"""Settings of a :class:`~secret_service.client.SecretService`, read once.

``ServiceConfig()`` holds the defaults; ``ServiceConfig.from_env()`` reads the
``SECRETS_*`` variables (and ``RDS_CA_BUNDLE``) when it is called, never at import. A
bad value raises :class:`~secret_service.errors.SecretConfigError` naming the variable.

``RetryPolicy`` is the backoff: exponential, full jitter, bounded both in attempts and
in total time. It is pure arithmetic; the service owns the clock and the sleep.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Self

from secret_service.errors import SecretConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["ENV_VARIABLES", "RetryPolicy", "ServiceConfig", "check_range"]


def check_range(name: str, value: float, *, low: float, high: float, source: str) -> None:
    """Raise SecretConfigError naming ``source`` unless ``value`` is a number in range."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SecretConfigError(
            f"{source} must be a number from {low:g} to {high:g} (got {value!r})"
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts AND total time.

    Attempt ``n`` (1-based) that fails with a retryable error waits
    ``uniform(0, min(max_delay_s, base_delay_s * 2 ** (n - 1)))`` before the next one,
    unless that wait would cross ``max_total_s`` since the first attempt began.
    """

    max_attempts: int = 8
    base_delay_s: float = 0.05
    max_delay_s: float = 1.0
    max_total_s: float = 5.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise SecretConfigError(
                f"max_attempts must be an integer from 1 to 20 (got {self.max_attempts!r})"
            )
        check_range("max_attempts", self.max_attempts, low=1, high=20, source="max_attempts")
        check_range("base_delay_s", self.base_delay_s, low=0, high=60, source="base_delay_s")
        check_range("max_delay_s", self.max_delay_s, low=0, high=300, source="max_delay_s")
        check_range("max_total_s", self.max_total_s, low=0, high=900, source="max_total_s")

    def delay_s(self, attempt: int, *, random: Callable[[], float]) -> float:
        """The full-jitter wait after failed attempt ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return float(ceiling * random())


# variable -> (ServiceConfig field, converter)
ENV_VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "SECRETS_CACHE_TTL_S": ("ttl_s", float),
    "SECRETS_CACHE_MAX_ENTRIES": ("max_entries", int),
    "SECRETS_CACHE_MAX_STALE_S": ("max_stale_s", float),
    "SECRETS_RETRY_MAX_ATTEMPTS": ("max_attempts", int),
    "SECRETS_RETRY_MAX_TOTAL_S": ("max_total_s", float),
    "SECRETS_CONNECT_TIMEOUT_S": ("connect_timeout_s", float),
    "SECRETS_READ_TIMEOUT_S": ("read_timeout_s", float),
    "RDS_CA_BUNDLE": ("ca_bundle_path", str),
}


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Every setting of a SecretService, with its environment variable in ``from_env``."""

    ttl_s: float = 300.0
    max_entries: int = 100
    max_stale_s: float = 900.0
    max_attempts: int = 8
    max_total_s: float = 5.0
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    ca_bundle_path: str | None = None

    def __post_init__(self) -> None:
        check_range("ttl_s", self.ttl_s, low=0, high=86_400, source="ttl_s")
        if isinstance(self.max_entries, bool) or not isinstance(self.max_entries, int):
            raise SecretConfigError(
                f"max_entries must be an integer from 1 to 100000 (got {self.max_entries!r})"
            )
        check_range("max_entries", self.max_entries, low=1, high=100_000, source="max_entries")
        check_range("max_stale_s", self.max_stale_s, low=0, high=86_400, source="max_stale_s")
        check_range(
            "connect_timeout_s",
            self.connect_timeout_s,
            low=0.05,
            high=60,
            source="connect_timeout_s",
        )
        check_range(
            "read_timeout_s", self.read_timeout_s, low=0.05, high=60, source="read_timeout_s"
        )
        RetryPolicy(max_attempts=self.max_attempts, max_total_s=self.max_total_s)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, max_total_s=self.max_total_s)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read the ``SECRETS_*`` variables and ``RDS_CA_BUNDLE``; unset ones keep defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for variable, (name, convert) in ENV_VARIABLES.items():
            raw = env.get(variable, "").strip()
            if not raw:
                continue
            try:
                values[name] = convert(raw)
            except ValueError as exc:
                kind = "an integer" if convert is int else "a number"
                raise SecretConfigError(
                    f"environment variable {variable} must be {kind} (got {raw!r}); "
                    "unset it to use the default"
                ) from exc
        try:
            return cls(**values)
        except SecretConfigError as exc:
            by_field = {name: variable for variable, (name, _) in ENV_VARIABLES.items()}
            culprit = next(
                (by_field[f.name] for f in fields(cls) if str(exc).startswith(f.name)), None
            )
            if culprit is None:  # pragma: no cover - every field has a variable
                raise
            raise SecretConfigError(f"environment variable {culprit}: {exc}") from exc
