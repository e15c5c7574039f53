"""Plain values the rotation protocol passes around: steps, strategies, labels, accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "Account",
    "RotationRequest",
    "SecretMetadata",
    "Step",
    "Strategy",
    "UserProfile",
]

AWSCURRENT = "AWSCURRENT"
AWSPENDING = "AWSPENDING"
AWSPREVIOUS = "AWSPREVIOUS"


class Step(StrEnum):
    """The four steps Secrets Manager invokes, in order."""

    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"


class Strategy(StrEnum):
    """How a secret is rotated (``ROTATION_STRATEGY``, or the secret's ``rotationStrategy``)."""

    SINGLE_USER = "single-user"
    ALTERNATING_USERS = "alternating-users"
    RANDOM_KEY = "random-key"


@dataclass(frozen=True, slots=True)
class RotationRequest:
    """A validated rotation event. ``rotation_token`` is passed back to PutSecretValue."""

    secret_id: str
    token: str
    step: Step
    rotation_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SecretMetadata:
    """What DescribeSecret says about a secret: no values, only versions and labels."""

    arn: str
    name: str
    rotation_enabled: bool
    versions: Mapping[str, frozenset[str]]
    scheduled_for_deletion: bool = False  # DescribeSecret has a DeletedDate

    def version_with(self, stage: str) -> str | None:
        """The version id carrying ``stage``, or None."""
        for version_id, stages in self.versions.items():
            if stage in stages:
                return version_id
        return None


@dataclass(frozen=True, slots=True)
class Account:
    """A MySQL account, ``'user'@'host'``."""

    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What a login can see of itself: its account, grants (grantee-neutral) and REQUIRE."""

    account: Account
    grants: tuple[str, ...]
    require: str
