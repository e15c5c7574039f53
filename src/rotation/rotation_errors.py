"""Every error the rotation function raises on its own, as one tree.

::

    RotationError                   base: catch this to catch everything below
    ├── RotationConfigError         an environment variable of the function is missing or invalid
    ├── RotationEventError          the invocation event is malformed; nothing was changed
    ├── RotationStateError          the secret's state refuses the step (rotation disabled,
    │                               token unknown or not AWSPENDING, a version missing, ...)
    ├── RotationSecretsManagerError Secrets Manager refused a request (invalid request/parameter)
    ├── RotationDatabaseError       an SQL statement of the rotation failed after a good login
    └── RotationAbortedError        the rotation was stopped; ``rolled_back`` says whether the
        │                           database and the AWSPENDING label were restored
        ├── RotationTestFailedError     testSecret proved the pending credentials unusable
        └── RotationFinishFailedError   Secrets Manager refused to move AWSCURRENT

Logins, Secrets Manager availability and secret formats keep the layer's errors
(:mod:`secret_service.errors`): ``DatabaseAuthError``, ``DatabaseUnreachableError``,
``DatabaseTlsError``, ``SecretFormatError``, ``SecretNotFoundError``, ... so an operator
reads the same error names in every function.

Messages name the secret, the step, the account or the error code and say what to
check; they never contain a secret value. Errors are raised ``from`` their cause, except
where the cause could quote a secret (a driver error about a statement that carried a
password): those are raised ``from None`` with the error code in the message.
"""

from __future__ import annotations

__all__ = [
    "RotationAbortedError",
    "RotationConfigError",
    "RotationDatabaseError",
    "RotationError",
    "RotationEventError",
    "RotationFinishFailedError",
    "RotationSecretsManagerError",
    "RotationStateError",
    "RotationTestFailedError",
]


class RotationError(Exception):
    """Base of every error raised by the rotation function's own code."""

    def __init__(self, message: str, *, secret_id: str | None = None) -> None:
        super().__init__(message)
        self.secret_id = secret_id


class RotationConfigError(RotationError):
    """An environment variable is invalid; ``variable`` names it."""

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message)
        self.variable = variable


class RotationEventError(RotationError):
    """The event is not a Secrets Manager rotation event; ``field`` names the bad key."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RotationStateError(RotationError):
    """The secret's versions or staging labels do not allow this step."""


class RotationSecretsManagerError(RotationError):
    """Secrets Manager refused a request; ``code`` is its error code."""

    def __init__(self, message: str, *, secret_id: str | None = None, code: str | None = None):
        super().__init__(message, secret_id=secret_id)
        self.code = code


class RotationDatabaseError(RotationError):
    """A statement failed after the login succeeded; ``code`` is the MySQL error number."""

    def __init__(
        self,
        message: str,
        *,
        secret_id: str | None = None,
        code: int | None = None,
        account: str | None = None,
    ) -> None:
        super().__init__(message, secret_id=secret_id)
        self.code = code
        self.account = account


class RotationAbortedError(RotationError):
    """The rotation stopped; the database and labels were rolled back when ``rolled_back``."""

    def __init__(self, message: str, *, secret_id: str | None = None, rolled_back: bool) -> None:
        super().__init__(message, secret_id=secret_id)
        self.rolled_back = rolled_back


class RotationTestFailedError(RotationAbortedError):
    """testSecret proved the pending credentials unusable."""


class RotationFinishFailedError(RotationAbortedError):
    """Secrets Manager refused to move AWSCURRENT (not a transient error)."""
