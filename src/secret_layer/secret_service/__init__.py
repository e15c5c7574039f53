"""``secret_service``: the one way a Lambda function reads this product's secrets.

Shipped as the ``secret_layer`` Lambda layer. Importing it creates no AWS client and
opens no connection; see ``docs/api.md`` for the API.
"""

from __future__ import annotations

from secret_service.cache import CacheStats
from secret_service.client import (
    AWSCURRENT,
    AWSPENDING,
    AWSPREVIOUS,
    MetricsHook,
    SecretService,
    get_default_service,
    reset_default_service,
)
from secret_service.config import RetryPolicy, ServiceConfig
from secret_service.errors import (
    DatabaseAuthError,
    DatabaseError,
    DatabaseTlsError,
    DatabaseUnreachableError,
    SecretAccessDeniedError,
    SecretConfigError,
    SecretDecryptionError,
    SecretFormatError,
    SecretNotFoundError,
    SecretServiceError,
    SecretThrottledError,
    SecretUnavailableError,
)
from secret_service.models import (
    DatabaseCredentials,
    ExternalApiCredentials,
    ExternalApis,
    JwtConfig,
)

__all__ = [
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "CacheStats",
    "DatabaseAuthError",
    "DatabaseCredentials",
    "DatabaseError",
    "DatabaseTlsError",
    "DatabaseUnreachableError",
    "ExternalApiCredentials",
    "ExternalApis",
    "JwtConfig",
    "MetricsHook",
    "RetryPolicy",
    "SecretAccessDeniedError",
    "SecretConfigError",
    "SecretDecryptionError",
    "SecretFormatError",
    "SecretNotFoundError",
    "SecretService",
    "SecretServiceError",
    "SecretThrottledError",
    "SecretUnavailableError",
    "ServiceConfig",
    "get_default_service",
    "reset_default_service",
]
