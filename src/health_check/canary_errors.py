"""Every error the canary itself raises or reports, as one tree.

::

    CanaryError                      base: catch this to catch everything below
    ├── CanaryConfigError            an environment variable is missing or malformed
    └── ProbeDeadlineExceededError   a check was still running (or never started) when
                                     the run's deadline came; reported, never raised

Failures of the secrets themselves (not found, throttled, malformed, login refused) are
the layer's :mod:`secret_service.errors`: the canary reports them by their type name.
Messages name the variable or the secret and say what to fix; never a secret value.
"""

from __future__ import annotations

__all__ = ["CanaryConfigError", "CanaryError", "ProbeDeadlineExceededError"]


class CanaryError(Exception):
    """Base of every error raised by the canary's own code."""


class CanaryConfigError(CanaryError):
    """The function's configuration is invalid. ``variable`` names the culprit."""

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message)
        self.variable = variable


class ProbeDeadlineExceededError(CanaryError):
    """A check did not finish before the run's deadline (derived from the Lambda timeout)."""
