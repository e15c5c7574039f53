"""Every error ``secret_service`` raises, as one tree.

::

    SecretServiceError                  base: catch this to catch everything below
    ├── SecretNotFoundError             the secret (or the asked version/stage) does not exist
    ├── SecretAccessDeniedError         IAM or the KMS key policy refuses this principal
    ├── SecretDecryptionError           KMS could not decrypt (key disabled, pending deletion)
    ├── SecretThrottledError            still throttled after every retry
    ├── SecretUnavailableError          Secrets Manager unreachable or failing (5xx, network)
    ├── SecretFormatError               the value is not the JSON shape its type requires
    ├── SecretConfigError               a bad argument or environment setting (also a ValueError)
    └── DatabaseError                   a database login with a secret's credentials failed
        ├── DatabaseAuthError           the server refused the user name or password (1045)
        ├── DatabaseUnreachableError    no answer from host:port (2003, timeouts, DNS)
        └── DatabaseTlsError            TLS handshake or certificate verification failed

Messages name the secret, the field, the host or the error code, and say what to check.
They never contain a secret value. Every error is raised ``from`` the exception that
caused it, so the original stays on ``__cause__`` for debugging.
"""

from __future__ import annotations

__all__ = [
    "DatabaseAuthError",
    "DatabaseError",
    "DatabaseTlsError",
    "DatabaseUnreachableError",
    "SecretAccessDeniedError",
    "SecretConfigError",
    "SecretDecryptionError",
    "SecretFormatError",
    "SecretNotFoundError",
    "SecretServiceError",
    "SecretThrottledError",
    "SecretUnavailableError",
]


class SecretServiceError(Exception):
    """Base of every error raised by ``secret_service``.

    ``secret_id`` names the secret involved when there is one; ``code`` carries the
    AWS or MySQL error code when the error came from one.
    """

    def __init__(self, message: str, *, secret_id: str | None = None, code: str | None = None):
        super().__init__(message)
        self.secret_id = secret_id
        self.code = code


class SecretNotFoundError(SecretServiceError):
    """The secret, or the version or staging label asked for, does not exist."""


class SecretAccessDeniedError(SecretServiceError):
    """IAM or the KMS key policy does not allow this principal to read the secret."""


class SecretDecryptionError(SecretServiceError):
    """Secrets Manager could not decrypt the value with its KMS key."""


class SecretThrottledError(SecretServiceError):
    """The API kept throttling after every allowed retry."""


class SecretUnavailableError(SecretServiceError):
    """Secrets Manager did not answer, or answered with a server error, after retries."""


class SecretFormatError(SecretServiceError):
    """The secret's value does not have the shape its type needs.

    ``field`` names the missing or wrong field; the value itself is never included.
    """

    def __init__(
        self, message: str, *, secret_id: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message, secret_id=secret_id)
        self.field = field


class SecretConfigError(SecretServiceError, ValueError):
    """An argument or environment variable has a value the layer cannot use.

    The message names the argument or variable and the values it accepts. Also a
    ``ValueError``, so generic argument checks still catch it.
    """


class DatabaseError(SecretServiceError):
    """A database connection made with a secret's credentials failed.

    ``host``, ``port`` and ``username`` say which login failed; ``code`` is the MySQL
    error number when the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        host: str | None = None,
        port: int | None = None,
        username: str | None = None,
        code: str | None = None,
        secret_id: str | None = None,
    ) -> None:
        super().__init__(message, secret_id=secret_id, code=code)
        self.host = host
        self.port = port
        self.username = username


class DatabaseAuthError(DatabaseError):
    """The server refused the credentials (MySQL 1045): wrong user name or password."""


class DatabaseUnreachableError(DatabaseError):
    """The server did not answer: check the host, port, security group and VPC route."""


class DatabaseTlsError(DatabaseError):
    """TLS failed: handshake refused, or the certificate did not verify against the CA."""
