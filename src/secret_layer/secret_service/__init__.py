"""``secret_service``: the one way a Lambda function reads this product's secrets.

Shipped as the ``secret_layer`` Lambda layer. Importing it creates no AWS client and
opens no connection; see ``docs/api.md`` for the API.
"""

from __future__ import annotations

from secret_service.errors import (
    DatabaseAuthError,
    DatabaseError,
    DatabaseTlsError,
    DatabaseUnreachableError,
    SecretAccessDeniedError,
    SecretDecryptionError,
    SecretFormatError,
    SecretNotFoundError,
    SecretServiceError,
    SecretThrottledError,
    SecretUnavailableError,
)
from secret_service.models import DatabaseCredentials, JwtConfig

__all__ = [
    "DatabaseAuthError",
    "DatabaseCredentials",
    "DatabaseError",
    "DatabaseTlsError",
    "DatabaseUnreachableError",
    "JwtConfig",
    "SecretAccessDeniedError",
    "SecretDecryptionError",
    "SecretFormatError",
    "SecretNotFoundError",
    "SecretServiceError",
    "SecretThrottledError",
    "SecretUnavailableError",
]
