"""Adapter: the canary's own Secrets Manager calls (DescribeSecret, ListSecrets).

Reading values goes through the layer (``secret_service.SecretService``); this module
only makes the client the canary hands the layer, reads rotation metadata, and finds
secrets by tag. AWS failures are translated by the layer's one translator
(:func:`secret_service.aws.translate`) into the :mod:`secret_service.errors` tree.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

from probe import RotationMetadata
from secret_service.aws import translate
from secret_service.errors import SecretConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "MAX_DISCOVERED_SECRETS",
    "DescribeRotationMetadata",
    "discover_secret_ids",
    "make_secretsmanager_client",
]

MAX_DISCOVERED_SECRETS = 1000  # more than one run can check in a Lambda's time


def make_secretsmanager_client(
    *, timeout_s: float, max_pool_connections: int = 10, endpoint_url: str | None = None
) -> SecretsManagerClient:
    """A client whose every call gives up after ``timeout_s`` and is never retried.

    The canary measures what one call costs, and must finish inside its own Lambda
    timeout: botocore's retries would hide both. Retries, if any, are the layer's.
    """
    import boto3  # type: ignore[import-untyped,unused-ignore]  # imported at first use

    config = Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=max_pool_connections,
        tcp_keepalive=True,
    )
    try:
        client: SecretsManagerClient = boto3.client(
            "secretsmanager", config=config, endpoint_url=endpoint_url
        )
    except Exception as exc:  # NoRegionError and friends: the caller's configuration
        raise SecretConfigError(
            f"cannot create a Secrets Manager client ({type(exc).__name__}); "
            "set AWS_REGION (Lambda sets it)"
        ) from exc
    return client


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class DescribeRotationMetadata:
    """Rotation metadata from ``DescribeSecret``."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client

    def describe_rotation(self, secret_id: str) -> RotationMetadata:
        try:
            response = self._client.describe_secret(SecretId=secret_id)
        except Exception as exc:
            raise translate(exc, secret_id=secret_id) from exc
        return RotationMetadata(
            enabled=bool(response.get("RotationEnabled", False)),
            last_rotated=_utc(response.get("LastRotatedDate")),
            next_rotation=_utc(response.get("NextRotationDate")),
            created=_utc(response.get("CreatedDate")),
            period_days=_period_days(response.get("RotationRules")),
        )


def _period_days(rules: Any) -> float | None:
    """``AutomaticallyAfterDays`` of the secret's rotation rules, if it is a positive number."""
    if not isinstance(rules, dict):
        return None
    days = rules.get("AutomaticallyAfterDays")
    if isinstance(days, bool) or not isinstance(days, int | float) or days <= 0:
        return None
    return float(days)


def discover_secret_ids(
    client: SecretsManagerClient,
    *,
    tag_key: str,
    tag_value: str | None,
    time_limit_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """The ARNs of the secrets tagged ``tag_key`` (= ``tag_value`` when given).

    Follows ``NextToken`` to the end: for a filtered list Secrets Manager may answer
    pages with few or no secrets while more are to come (the pages of a large account),
    so the number of pages says nothing about the number of matches. Two bounds, each a
    :class:`SecretConfigError` rather than a silently partial list: more than
    :data:`MAX_DISCOVERED_SECRETS` matches, and pages still coming after
    ``time_limit_s`` (no page is asked for after that).

    ListSecrets' ``tag-key`` and ``tag-value`` filters match independently (a key on one
    tag, a value on another) and by prefix, so the exact pair is checked on the
    returned tags.
    """
    filters: list[Any] = [{"Key": "tag-key", "Values": [tag_key]}]
    if tag_value is not None:
        filters.append({"Key": "tag-value", "Values": [tag_value]})
    wanted = tag_key if tag_value is None else f"{tag_key}={tag_value}"
    kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
    found: list[str] = []
    started = clock()
    pages = 0
    while True:
        try:
            response = client.list_secrets(**kwargs)
        except Exception as exc:
            raise translate(exc, secret_id=f"tag {tag_key}") from exc
        pages += 1
        for entry in response.get("SecretList", []):
            tags = {tag.get("Key"): tag.get("Value") for tag in entry.get("Tags", [])}
            if tag_key in tags and (tag_value is None or tags[tag_key] == tag_value):
                found.append(entry["ARN"])
        if len(found) > MAX_DISCOVERED_SECRETS:
            raise SecretConfigError(
                f"more than {MAX_DISCOVERED_SECRETS} secrets match tag {wanted}; one run cannot "
                "check them all in time: narrow discovery with SECRET_TAG_VALUE or a more "
                "specific SECRET_TAG_KEY"
            )
        token = response.get("NextToken")
        if not token:
            return found
        elapsed_s = clock() - started
        if elapsed_s >= time_limit_s:
            raise SecretConfigError(
                f"ListSecrets still had more pages after {pages} pages in {elapsed_s:.1f} s "
                f"({len(found)} secrets match tag {wanted} so far; a large account's filtered "
                "list comes in sparse pages): list the secrets in SECRET_IDS instead of "
                "discovering them, or raise the function's timeout"
            )
        kwargs["NextToken"] = token
