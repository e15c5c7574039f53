"""The rotation function's settings, read once from its environment."""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from rotation_errors import RotationConfigError
from rotation_model import Strategy

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_EXCLUDE_CHARACTERS", "RotationConfig"]

DEFAULT_EXCLUDE_CHARACTERS = "/@\"'\\ "
MIN_PASSWORD_LENGTH = 16
MAX_PASSWORD_LENGTH = 4096  # GetRandomPassword's limit
MAX_CONNECT_TIMEOUT_S = 60.0
_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class RotationConfig:
    """Everything the function reads from its environment (see ``docs/rotation.md``)."""

    password_length: int = 32
    exclude_characters: str = DEFAULT_EXCLUDE_CHARACTERS
    strategy: Strategy = Strategy.SINGLE_USER
    ca_bundle_path: str | None = None
    secrets_manager_endpoint: str | None = None
    connect_timeout_s: float = 5.0
    environment: str = "local"
    metrics_namespace: str = "SecretsGuard"
    service_name: str = "rotation"

    @property
    def read_timeout_s(self) -> float:
        """Per-statement timeout: twice the connect timeout, so a frozen server fails fast."""
        return self.connect_timeout_s * 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read and validate the environment; a bad value raises naming the variable."""
        env = os.environ if environ is None else environ
        return cls(
            password_length=_password_length(env.get("PASSWORD_LENGTH")),
            exclude_characters=_exclude(env.get("EXCLUDE_CHARACTERS")),
            strategy=_strategy(env.get("ROTATION_STRATEGY")),
            ca_bundle_path=_ca_bundle(env.get("RDS_CA_BUNDLE")),
            secrets_manager_endpoint=_endpoint(env.get("SECRETS_MANAGER_ENDPOINT")),
            connect_timeout_s=_timeout(env.get("DB_CONNECT_TIMEOUT_S")),
            environment=_environment(env.get("ENVIRONMENT")),
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or "SecretsGuard",
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or "rotation",
        )


def _password_length(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return 32
    try:
        value = int(raw)
    except ValueError:
        raise RotationConfigError(
            f"PASSWORD_LENGTH must be an integer, got {raw!r}", variable="PASSWORD_LENGTH"
        ) from None
    if not MIN_PASSWORD_LENGTH <= value <= MAX_PASSWORD_LENGTH:
        raise RotationConfigError(
            f"PASSWORD_LENGTH must be between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH}, "
            f"got {value}",
            variable="PASSWORD_LENGTH",
        )
    return value


# GetRandomPassword is asked for every character type (RequireEachIncludedType): each
# must keep at least one character, or every createSecret would be refused.
_CHARACTER_TYPES = (
    ("lowercase letter", string.ascii_lowercase),
    ("uppercase letter", string.ascii_uppercase),
    ("digit", string.digits),
    ("punctuation character", string.punctuation),
)


def _exclude(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_EXCLUDE_CHARACTERS
    if len(raw) > MAX_PASSWORD_LENGTH:
        raise RotationConfigError(
            f"EXCLUDE_CHARACTERS may hold at most {MAX_PASSWORD_LENGTH} characters, got {len(raw)}",
            variable="EXCLUDE_CHARACTERS",
        )
    for kind, characters in _CHARACTER_TYPES:
        if set(characters) <= set(raw):
            raise RotationConfigError(
                f"EXCLUDE_CHARACTERS excludes every {kind}; new passwords need at least one "
                f"of each kind: keep some {kind}s out of it",
                variable="EXCLUDE_CHARACTERS",
            )
    return raw


def _strategy(raw: str | None) -> Strategy:
    if raw is None or raw.strip() == "":
        return Strategy.SINGLE_USER
    try:
        return Strategy(raw.strip())
    except ValueError:
        raise RotationConfigError(
            f"ROTATION_STRATEGY must be one of {[s.value for s in Strategy]}, got {raw!r}",
            variable="ROTATION_STRATEGY",
        ) from None


def _ca_bundle(raw: str | None) -> str | None:
    if raw is None or raw.strip() == "":
        return None  # the system trust store
    if not os.path.isfile(raw) or not os.access(raw, os.R_OK):
        raise RotationConfigError(
            f"RDS_CA_BUNDLE {raw!r} is not a readable file; point it at the RDS CA bundle PEM "
            "shipped with the function, or leave it empty for the system trust store",
            variable="RDS_CA_BUNDLE",
        )
    return raw


def _endpoint(raw: str | None) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    parsed = urlsplit(raw)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise RotationConfigError(
            "SECRETS_MANAGER_ENDPOINT must be a URL such as "
            f"https://secretsmanager.<region>.amazonaws.com (http:// only for a local "
            f"emulator), got {raw!r}",
            variable="SECRETS_MANAGER_ENDPOINT",
        )
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise RotationConfigError(
            f"SECRETS_MANAGER_ENDPOINT={raw!r} is plain http to a remote host: secret values "
            "would cross the network unencrypted; use https:// (http:// is for a local "
            "emulator on 127.0.0.1 or localhost only)",
            variable="SECRETS_MANAGER_ENDPOINT",
        )
    return raw


def _is_loopback(hostname: str) -> bool:
    return hostname == "localhost" or re.fullmatch(r"127(\.\d{1,3}){3}", hostname) is not None


def _timeout(raw: str | None) -> float:
    if raw is None or raw.strip() == "":
        return 5.0
    try:
        value = float(raw)
    except ValueError:
        raise RotationConfigError(
            f"DB_CONNECT_TIMEOUT_S must be a number of seconds, got {raw!r}",
            variable="DB_CONNECT_TIMEOUT_S",
        ) from None
    if not 0 < value <= MAX_CONNECT_TIMEOUT_S:
        raise RotationConfigError(
            f"DB_CONNECT_TIMEOUT_S must be > 0 and <= {MAX_CONNECT_TIMEOUT_S:g}, got {raw}",
            variable="DB_CONNECT_TIMEOUT_S",
        )
    return value


def _environment(raw: str | None) -> str:
    if raw is None or raw.strip() == "":
        return "local"
    if not _ENVIRONMENT_NAME.match(raw):
        raise RotationConfigError(
            f"ENVIRONMENT must be a short name such as dev, stg or prod, got {raw!r}",
            variable="ENVIRONMENT",
        )
    return raw
