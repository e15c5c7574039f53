"""Which secrets one run checks, under which name, and what kind of value each holds.

A secret's **name** (the ``SecretName`` metric dimension) is its Secrets Manager name:
given as a name, it is used as is; given as a full ARN, it is the ARN's name part
without the 6-character suffix Secrets Manager appends. The name is known without any
API call, so a secret that cannot be described still reports under its own name.

A secret's **kind** decides how its value is validated:

* ``database`` - the secret named by ``DATABASE_SECRET_ID``, or any name ending in
  ``-database``: a :class:`~secret_service.models.DatabaseCredentials` document, and the
  canary logs in with it;
* ``jwt`` - a name ending in ``-jwt``: a :class:`~secret_service.models.JwtConfig`;
* ``external_api`` - a name ending in ``-external-apis``: a JSON object of API credentials;
* ``opaque`` - anything else: any non-empty value.

The suffixes follow the product's naming scheme ``{app}-{env}-secret-{purpose}``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SecretKind", "SecretTarget", "build_targets", "kind_of", "secret_name_of"]

_ARN_NAME = re.compile(r":secret:(?P<name>.+)-[A-Za-z0-9]{6}$")


class SecretKind(enum.StrEnum):
    DATABASE = "database"
    JWT = "jwt"
    EXTERNAL_API = "external_api"
    OPAQUE = "opaque"


_SUFFIX_KINDS = (
    ("-database", SecretKind.DATABASE),
    ("-jwt", SecretKind.JWT),
    ("-external-apis", SecretKind.EXTERNAL_API),
)


@dataclass(frozen=True, slots=True)
class SecretTarget:
    """One secret to check: the id to call the API with, its name and its kind."""

    secret_id: str
    name: str
    kind: SecretKind


def secret_name_of(secret_id: str) -> str:
    """The secret's name: the id itself, or the name part of a full ARN."""
    if secret_id.startswith("arn:"):
        match = _ARN_NAME.search(secret_id)
        if match:
            return match.group("name")
    return secret_id


def kind_of(name: str, *, database_secret_name: str | None = None) -> SecretKind:
    """The kind of the secret called ``name`` (see the module docstring)."""
    if database_secret_name is not None and name == database_secret_name:
        return SecretKind.DATABASE
    for suffix, kind in _SUFFIX_KINDS:
        if name.endswith(suffix):
            return kind
    return SecretKind.OPAQUE


def build_targets(
    secret_ids: Iterable[str], *, database_secret_id: str | None = None
) -> tuple[SecretTarget, ...]:
    """One target per distinct secret name, in the order given, the database one first.

    A secret listed twice (say by name in SECRET_IDS and by ARN from tag discovery) is
    checked once, with the id it was first given by.
    """
    database_name = secret_name_of(database_secret_id) if database_secret_id else None
    ordered = [database_secret_id] if database_secret_id else []
    ordered.extend(secret_ids)
    targets: dict[str, SecretTarget] = {}
    for secret_id in ordered:
        name = secret_name_of(secret_id)
        if name not in targets:
            kind = kind_of(name, database_secret_name=database_name)
            targets[name] = SecretTarget(secret_id=secret_id, name=name, kind=kind)
    return tuple(targets.values())
