"""Typed views of the product's secrets. Each hides its secret parts from ``repr``.

Every ``from_secret_string`` validates the JSON and raises
:class:`~secret_service.errors.SecretFormatError` naming the missing or wrong field,
never echoing a value. ``to_secret_dict`` gives the JSON document back with unknown
keys preserved, so a rotation keeps the secret's shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Self

from secret_service.errors import SecretConfigError, SecretFormatError

__all__ = [
    "MYSQL_ENGINES",
    "DatabaseCredentials",
    "ExternalApiCredentials",
    "ExternalApis",
    "JwtConfig",
    "json_type_name",
    "parse_secret_json",
]

MYSQL_ENGINES = frozenset({"mysql", "aurora-mysql", "aurora", "mariadb"})
JWT_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
JWT_MIN_KEY_LENGTH = 32
MAX_JSON_DEPTH = 100  # objects/arrays inside one another; far below the recursion limit


def _freeze(value: Any) -> Any:
    """A read-only copy of a parsed JSON value: objects become mapping proxies, lists tuples.

    Typed values are cached and shared by every caller, so what they keep of the
    secret (``extra``) must not be changeable at any depth.
    """
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """A plain JSON copy (new ``dict``/``list`` at every level) of a frozen value."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def _extra(doc: dict[str, Any], known: frozenset[str]) -> MappingProxyType[str, Any]:
    return MappingProxyType({k: _freeze(v) for k, v in doc.items() if k not in known})


def _thawed(extra: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _thaw(v) for k, v in extra.items()}


def parse_secret_json(secret_string: str, *, secret_id: str | None = None) -> dict[str, Any]:
    """Parse a secret's value as a JSON object, or raise a SecretFormatError without it."""
    try:
        document = json.loads(secret_string)
    except (TypeError, ValueError) as exc:
        raise SecretFormatError(
            f"secret {secret_id or '?'} is not valid JSON "
            f"(error at line {getattr(exc, 'lineno', '?')}, column {getattr(exc, 'colno', '?')}); "
            "store a JSON object",
            secret_id=secret_id,
        ) from None  # the decoder's message can quote the value: never chain it
    except RecursionError:
        raise SecretFormatError(
            f"secret {secret_id or '?'} is JSON nested too deeply to read; store a JSON object",
            secret_id=secret_id,
        ) from None
    if not isinstance(document, dict):
        raise SecretFormatError(
            f"secret {secret_id or '?'} must be a JSON object, "
            f"not a JSON {json_type_name(document)}",
            secret_id=secret_id,
        )
    if _nested_deeper_than(document, MAX_JSON_DEPTH):
        # The C decoder goes deeper than Python's recursion limit, which the copies of
        # get_secret_json and of the models' extra fields would then hit.
        raise SecretFormatError(
            f"secret {secret_id or '?'} is JSON nested more than {MAX_JSON_DEPTH} levels "
            "deep; store a flatter JSON object",
            secret_id=secret_id,
        )
    return document


def _nested_deeper_than(document: dict[str, Any], limit: int) -> bool:
    """True when objects/arrays nest more than ``limit`` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


_JSON_TYPE_NAMES: dict[type, str] = {
    type(None): "null",
    list: "array",
    dict: "object",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
}


def json_type_name(value: object) -> str:
    """The JSON name of a parsed value's type (null, array, string...)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _require_str(doc: dict[str, Any], key: str, secret_id: str | None, kind: str) -> str:
    if key not in doc or doc[key] is None:
        raise SecretFormatError(
            f"{kind} secret {secret_id or '?'} has no '{key}' field; add it to the secret",
            secret_id=secret_id,
            field=key,
        )
    value = doc[key]
    if not isinstance(value, str) or not value:
        raise SecretFormatError(
            f"{kind} secret {secret_id or '?'} field '{key}' must be a non-empty string "
            f"(found {'an empty string' if value == '' else json_type_name(value)})",
            secret_id=secret_id,
            field=key,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800" in the JSON
        raise SecretFormatError(
            f"{kind} secret {secret_id or '?'} field '{key}' is not valid Unicode text (a lone "
            "surrogate \\uD800-\\uDFFF escape); store it as UTF-8 text",
            secret_id=secret_id,
            field=key,
        ) from None
    return value


def _optional_str(doc: dict[str, Any], key: str, secret_id: str | None, kind: str) -> str | None:
    if doc.get(key) is None:
        return None
    return _require_str(doc, key, secret_id, kind)


def _host(doc: dict[str, Any], secret_id: str | None) -> str:
    """The endpoint name alone: no whitespace, scheme, path or ``:port`` suffix.

    Caught here, at read time, rather than as a name-resolution failure at connect.
    """
    host = _require_str(doc, "host", secret_id, "database")
    problem = None
    if any(ch.isspace() for ch in host):
        problem = "contains whitespace"
    elif "://" in host or "/" in host:
        problem = "contains a scheme or path"
    elif host.count(":") == 1:  # one colon: 'name:port'; IPv6 literals have several
        problem = "contains a ':port' suffix; put the port in the 'port' field"
    if problem is None:
        return host
    raise SecretFormatError(
        f"database secret {secret_id or '?'} field 'host' {problem}; store the bare endpoint "
        "name (e.g. my-cluster.cluster-abc.eu-west-1.rds.amazonaws.com)",
        secret_id=secret_id,
        field="host",
    )


def _port(doc: dict[str, Any], secret_id: str | None) -> int:
    value = doc.get("port", 3306)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise SecretFormatError(
            f"database secret {secret_id or '?'} field 'port' must be an integer 1-65535 "
            f"(found {json_type_name(value)})",
            secret_id=secret_id,
            field="port",
        )
    return value


def _ssl(doc: dict[str, Any], secret_id: str | None) -> bool:
    value = doc.get("ssl", True)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise SecretFormatError(
        f"database secret {secret_id or '?'} field 'ssl' must be true or false "
        f"(found {json_type_name(value)})",
        secret_id=secret_id,
        field="ssl",
    )


@dataclass(frozen=True, slots=True)
class DatabaseCredentials:
    """A MySQL/Aurora MySQL login, in the JSON format RDS and AWS's rotation functions use.

    ``ssl`` is on unless the secret says ``"ssl": false`` explicitly.
    """

    host: str
    username: str
    password: str = field(repr=False)
    port: int = 3306
    engine: str = "mysql"
    dbname: str | None = None
    ssl: bool = True
    masterarn: str | None = None
    db_cluster_identifier: str | None = None
    rotation_strategy: str | None = None
    extra: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    _KNOWN = frozenset(
        {
            "engine", "host", "port", "username", "password", "dbname", "ssl",
            "masterarn", "dbClusterIdentifier", "rotationStrategy",
        }
    )  # fmt: skip

    @classmethod
    def from_secret_string(cls, secret_string: str, *, secret_id: str | None = None) -> Self:
        return cls.from_mapping(
            parse_secret_json(secret_string, secret_id=secret_id), secret_id=secret_id
        )

    @classmethod
    def from_mapping(cls, doc: dict[str, Any], *, secret_id: str | None = None) -> Self:
        kind = "database"
        engine = _optional_str(doc, "engine", secret_id, kind) or "mysql"
        if engine not in MYSQL_ENGINES:
            raise SecretFormatError(
                f"database secret {secret_id or '?'} field 'engine' must be one of "
                f"{sorted(MYSQL_ENGINES)}",
                secret_id=secret_id,
                field="engine",
            )
        return cls(
            host=_host(doc, secret_id),
            username=_require_str(doc, "username", secret_id, kind),
            password=_require_str(doc, "password", secret_id, kind),
            port=_port(doc, secret_id),
            engine=engine,
            dbname=_optional_str(doc, "dbname", secret_id, kind),
            ssl=_ssl(doc, secret_id),
            masterarn=_optional_str(doc, "masterarn", secret_id, kind),
            db_cluster_identifier=_optional_str(doc, "dbClusterIdentifier", secret_id, kind),
            rotation_strategy=_optional_str(doc, "rotationStrategy", secret_id, kind),
            extra=_extra(doc, cls._KNOWN),
        )

    def to_secret_dict(self) -> dict[str, Any]:
        """The JSON document to store, unknown keys of the original preserved."""
        doc: dict[str, Any] = _thawed(self.extra)
        doc.update(
            engine=self.engine,
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            ssl=self.ssl,
        )
        optional = {
            "dbname": self.dbname,
            "masterarn": self.masterarn,
            "dbClusterIdentifier": self.db_cluster_identifier,
            "rotationStrategy": self.rotation_strategy,
        }
        doc.update({k: v for k, v in optional.items() if v is not None})
        return doc

    def with_changes(self, **changes: Any) -> Self:
        """A copy with some fields replaced (e.g. a new password or username)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class JwtConfig:
    """The JWT signing settings: ``{"signingKey", "algorithm", "issuer", "expiresInSeconds"}``."""

    signing_key: str = field(repr=False)
    algorithm: str = "HS256"
    issuer: str | None = None
    expires_in_s: int = 3600
    extra: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    _KNOWN = frozenset({"signingKey", "algorithm", "issuer", "expiresInSeconds"})

    @classmethod
    def from_secret_string(cls, secret_string: str, *, secret_id: str | None = None) -> Self:
        return cls.from_mapping(
            parse_secret_json(secret_string, secret_id=secret_id), secret_id=secret_id
        )

    @classmethod
    def from_mapping(cls, doc: dict[str, Any], *, secret_id: str | None = None) -> Self:
        kind = "JWT"
        key = _require_str(doc, "signingKey", secret_id, kind)
        if len(key) < JWT_MIN_KEY_LENGTH:
            raise SecretFormatError(
                f"JWT secret {secret_id or '?'} field 'signingKey' is {len(key)} characters; "
                f"it needs at least {JWT_MIN_KEY_LENGTH}",
                secret_id=secret_id,
                field="signingKey",
            )
        algorithm = _optional_str(doc, "algorithm", secret_id, kind) or "HS256"
        if algorithm not in JWT_ALGORITHMS:
            raise SecretFormatError(
                f"JWT secret {secret_id or '?'} field 'algorithm' must be one of "
                f"{sorted(JWT_ALGORITHMS)}",
                secret_id=secret_id,
                field="algorithm",
            )
        expires = doc.get("expiresInSeconds", 3600)
        if isinstance(expires, bool) or not isinstance(expires, int) or expires <= 0:
            raise SecretFormatError(
                f"JWT secret {secret_id or '?'} field 'expiresInSeconds' must be a positive "
                "integer",
                secret_id=secret_id,
                field="expiresInSeconds",
            )
        return cls(
            signing_key=key,
            algorithm=algorithm,
            issuer=_optional_str(doc, "issuer", secret_id, kind),
            expires_in_s=expires,
            extra=_extra(doc, cls._KNOWN),
        )

    def to_secret_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = _thawed(self.extra)
        doc.update(
            signingKey=self.signing_key,
            algorithm=self.algorithm,
            expiresInSeconds=self.expires_in_s,
        )
        if self.issuer is not None:
            doc["issuer"] = self.issuer
        return doc


# provider -> the fields its secret must carry (besides "provider"). Any other provider
# name is accepted when it carries an "apiKey", or a "username" and "password" pair.
EXTERNAL_API_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "bedrock": ("apiKey", "region"),
    "ses": ("username", "password", "region"),
}


@dataclass(frozen=True, slots=True)
class ExternalApiCredentials:
    """Credentials for a third-party or AWS API reached with a key, not an IAM role.

    JSON: ``{"provider", "apiKey"?, "username"?, "password"?, "region"?, "endpoint"?}``.

    * ``"bedrock"``: an Amazon Bedrock API key (``apiKey``) and its ``region``.
    * ``"ses"``: SES SMTP credentials (``username`` is the SMTP user name, ``password``
      the SMTP password) and the ``region`` whose SMTP endpoint they belong to.
    * any other lower-case name (``"stripe"``, ``"sendgrid"``...): an ``apiKey``, or a
      ``username`` and ``password`` pair; ``endpoint`` optional.

    ``api_key`` and ``password`` are hidden from ``repr``.
    """

    provider: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    region: str | None = None
    endpoint: str | None = None
    extra: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    _KNOWN = frozenset({"provider", "apiKey", "username", "password", "region", "endpoint"})

    @classmethod
    def from_secret_string(cls, secret_string: str, *, secret_id: str | None = None) -> Self:
        return cls.from_mapping(
            parse_secret_json(secret_string, secret_id=secret_id), secret_id=secret_id
        )

    @classmethod
    def from_mapping(cls, doc: dict[str, Any], *, secret_id: str | None = None) -> Self:
        kind = "external API"
        provider = _require_str(doc, "provider", secret_id, kind)
        if provider != provider.strip().lower() or not provider.replace("-", "").isalnum():
            raise SecretFormatError(
                f"external API secret {secret_id or '?'} field 'provider' must be a lower-case "
                "name such as 'bedrock', 'ses' or 'stripe' (letters, digits, '-')",
                secret_id=secret_id,
                field="provider",
            )
        for key in EXTERNAL_API_REQUIRED_FIELDS.get(provider, ()):
            _require_str(doc, key, secret_id, f"{provider} {kind}")
        api_key = _optional_str(doc, "apiKey", secret_id, kind)
        username = _optional_str(doc, "username", secret_id, kind)
        password = _optional_str(doc, "password", secret_id, kind)
        if (username is None) != (password is None):
            missing = "password" if password is None else "username"
            raise SecretFormatError(
                f"external API secret {secret_id or '?'} has a "
                f"{'username' if missing == 'password' else 'password'} but no '{missing}' "
                "field; store both or neither",
                secret_id=secret_id,
                field=missing,
            )
        if api_key is None and username is None:
            raise SecretFormatError(
                f"external API secret {secret_id or '?'} has no 'apiKey' field (nor a "
                "'username' and 'password' pair); add one",
                secret_id=secret_id,
                field="apiKey",
            )
        return cls(
            provider=provider,
            api_key=api_key,
            username=username,
            password=password,
            region=_optional_str(doc, "region", secret_id, kind),
            endpoint=_optional_str(doc, "endpoint", secret_id, kind),
            extra=_extra(doc, cls._KNOWN),
        )

    def to_secret_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = _thawed(self.extra)
        doc["provider"] = self.provider
        optional = {
            "apiKey": self.api_key,
            "username": self.username,
            "password": self.password,
            "region": self.region,
            "endpoint": self.endpoint,
        }
        doc.update({k: v for k, v in optional.items() if v is not None})
        return doc

    def with_changes(self, **changes: Any) -> Self:
        """A copy with some fields replaced (e.g. a new API key)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ExternalApis:
    """Every external API one secret holds, by name: ``{"bedrock": {...}, "ses": {...}}``.

    Each value is an :class:`ExternalApiCredentials` document whose ``provider``
    defaults to its name (so ``{"ses": {"username", "password", "region"}}`` is an SES
    entry). A flat single-API document (with a top-level ``"provider"``) is accepted
    too, as one entry named after its provider. Errors name the entry and its field,
    e.g. ``field == "ses.password"``.
    """

    apis: MappingProxyType[str, ExternalApiCredentials]
    secret_id: str | None = field(default=None, compare=False)

    @classmethod
    def from_secret_string(cls, secret_string: str, *, secret_id: str | None = None) -> Self:
        return cls.from_mapping(
            parse_secret_json(secret_string, secret_id=secret_id), secret_id=secret_id
        )

    @classmethod
    def from_mapping(cls, doc: dict[str, Any], *, secret_id: str | None = None) -> Self:
        if "provider" in doc:
            single = ExternalApiCredentials.from_mapping(doc, secret_id=secret_id)
            return cls(MappingProxyType({single.provider: single}), secret_id)
        if not doc:
            raise SecretFormatError(
                f"external API secret {secret_id or '?'} holds no API; store "
                '{"<name>": {"provider": ..., "apiKey": ...}} entries (e.g. "bedrock", "ses")',
                secret_id=secret_id,
            )
        apis = {name: _api_entry(name, entry, secret_id) for name, entry in doc.items()}
        return cls(MappingProxyType(apis), secret_id)

    @classmethod
    def select_from_mapping(
        cls, doc: dict[str, Any], name: str, *, secret_id: str | None = None
    ) -> ExternalApiCredentials:
        """The entry ``name`` alone, validated; the other entries are not checked.

        So an application that uses only SES reads it while another entry (say the
        template's Bedrock placeholder) is still unfilled.
        """
        if "provider" in doc or not doc:
            return cls.from_mapping(doc, secret_id=secret_id).select(name, secret_id=secret_id)
        if name not in doc:
            raise _no_entry(name, tuple(doc), secret_id)
        return _api_entry(name, doc[name], secret_id)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.apis)

    def __getitem__(self, name: str) -> ExternalApiCredentials:
        """The entry ``name``; a missing one is a :class:`SecretFormatError` naming the others."""
        return self.select(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.apis

    def select(self, name: str | None, *, secret_id: str | None = None) -> ExternalApiCredentials:
        """The entry ``name``; with ``None``, the only entry (an error if there are several)."""
        secret_id = secret_id or self.secret_id
        if name is not None and not isinstance(name, str):
            raise SecretConfigError(
                f"an external API is chosen by its name, a string (got {type(name).__name__})"
            )
        if name is None:
            if len(self.apis) == 1:
                return next(iter(self.apis.values()))
            raise SecretFormatError(
                f"external API secret {secret_id or '?'} holds {len(self.apis)} APIs "
                f"({', '.join(self.apis)}); pass name= to choose one",
                secret_id=secret_id,
            )
        try:
            return self.apis[name]
        except KeyError:
            raise _no_entry(name, tuple(self.apis), secret_id) from None

    def to_secret_dict(self) -> dict[str, Any]:
        return {name: api.to_secret_dict() for name, api in self.apis.items()}


def _api_entry(name: str, entry: object, secret_id: str | None) -> ExternalApiCredentials:
    """One ``{"<name>": {...}}`` entry of an external API secret, validated."""
    if not isinstance(entry, dict):
        raise SecretFormatError(
            f"external API secret {secret_id or '?'} entry '{name}' must be a JSON "
            f"object (found {json_type_name(entry)})",
            secret_id=secret_id,
            field=name,
        )
    try:
        return ExternalApiCredentials.from_mapping({"provider": name, **entry}, secret_id=secret_id)
    except SecretFormatError as exc:
        raise SecretFormatError(
            f"{exc} (in entry '{name}')",
            secret_id=secret_id,
            field=f"{name}.{exc.field}" if exc.field else name,
        ) from None


def _no_entry(name: str, names: tuple[str, ...], secret_id: str | None) -> SecretFormatError:
    return SecretFormatError(
        f"external API secret {secret_id or '?'} has no '{name}' entry "
        f"(it has: {', '.join(names)}); add it to the secret",
        secret_id=secret_id,
        field=name,
    )
