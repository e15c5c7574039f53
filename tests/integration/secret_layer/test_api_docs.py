"""Every example of docs/api.md runs: against moto (in-process) and the real MariaDB.

Each ```python block is executed as written, in a namespace holding only what a reader
would have around it (``secrets``, an ``email``, a logger, an SMTP client); the names
the examples read exist in moto. The one block that is not code, the constructor's
signature, is checked against ``inspect.signature(SecretService)`` instead, and every
```json secret format is parsed by the model it documents.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import logging
import re
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.unit.secret_layer.logcheck import remember

from secret_service import (
    DatabaseCredentials,
    ExternalApis,
    JwtConfig,
    SecretService,
    get_default_service,
    reset_default_service,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.conftest import DatabaseUser

    from harness.mariadb import MariaDBServer

pytestmark = pytest.mark.mariadb

API_MD = Path(__file__).resolve().parents[3] / "docs" / "api.md"
BLOCKS = re.findall(r"```(python|json)\n(.*?)```", API_MD.read_text(), flags=re.DOTALL)
PYTHON = [code for kind, code in BLOCKS if kind == "python"]
JSON = [code for kind, code in BLOCKS if kind == "json"]
SIGNATURE = [code for code in PYTHON if code.startswith("SecretService(\n")]
RUNNABLE = [code for code in PYTHON if code not in SIGNATURE]

KEY_CURRENT = "docs-jwt-current-key-" + "c" * 32
KEY_PREVIOUS = "docs-jwt-previous-key-" + "p" * 32
EXTERNAL_APIS = {
    "bedrock": {"provider": "bedrock", "apiKey": "docs-bedrock-key-1", "region": "us-east-1"},
    "ses": {"username": "AKIADOCS", "password": "docs-ses-smtp-pw-2", "region": "eu-west-1"},
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_hs256(claims: dict[str, Any], key: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(mac)}"


def hs256_jwt_module() -> types.ModuleType:
    """A stand-in for PyJWT's ``decode`` (HS256, issuer) so the verify example runs.

    PyJWT belongs to the application's function, not to this product; this stand-in
    really checks the HMAC, so a wrong key fails as it would with PyJWT.
    """
    module = types.ModuleType("jwt")

    class InvalidSignatureError(Exception):
        pass

    def decode(token: str, key: str, *, algorithms: list[str], issuer: str | None) -> Any:
        assert algorithms == ["HS256"]
        header, body, mac = token.split(".")
        expected = hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected), mac):
            raise InvalidSignatureError
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        assert claims.get("iss") == issuer
        return claims

    module.InvalidSignatureError = InvalidSignatureError  # type: ignore[attr-defined]
    module.decode = decode  # type: ignore[attr-defined]
    return module


class FakeSmtp:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def login(self, user: str, password: str) -> None:
        self.logins.append(user)


@pytest.fixture
def docs_world(
    secretsmanager: SecretsManagerClient,
    mariadb: MariaDBServer,
    db_user: DatabaseUser,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    """The secrets the examples name, in moto; the database they query; a reader's namespace."""
    remember(
        db_user.password,
        KEY_CURRENT,
        KEY_PREVIOUS,
        "docs-bedrock-key-1",
        "docs-ses-smtp-pw-2",
        "docs-webhook-token-3",
    )
    db = {
        "engine": "mariadb",
        "host": mariadb.host,
        "port": mariadb.port,
        "username": db_user.username,
        "password": db_user.password,
        "dbname": db_user.database,
    }
    jwt_doc = {"signingKey": KEY_PREVIOUS, "algorithm": "HS256", "issuer": "https://docs.test"}
    values = {
        "prod/app/db": json.dumps(db),
        "prod-secret-external-apis": json.dumps(EXTERNAL_APIS),
        "prod/app/webhook-token": "docs-webhook-token-3",
        "prod/app/jwt": json.dumps(jwt_doc),
        "prod/app/feature-flags": json.dumps({"beta": False, "limits": {"rps": 10}}),
        "prod/app/ses": json.dumps(EXTERNAL_APIS["ses"]),
        # prod/app/bedrock is left missing: the get_many example's except branch runs
    }
    for name, value in values.items():
        secretsmanager.create_secret(Name=name, SecretString=value)
    secretsmanager.put_secret_value(
        SecretId="prod/app/jwt", SecretString=json.dumps({**jwt_doc, "signingKey": KEY_CURRENT})
    )
    with mariadb.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db_user.database}`.users (id INT, email VARCHAR(80))")
        cur.execute(f"INSERT INTO `{db_user.database}`.users VALUES (1, 'a@example.com')")
    monkeypatch.setenv("RDS_CA_BUNDLE", mariadb.ca_path)
    monkeypatch.setitem(sys.modules, "jwt", hs256_jwt_module())
    reset_default_service()
    yield {
        "secrets": get_default_service(),
        "email": "a@example.com",
        "log": logging.getLogger("docs.example"),
        "smtp": FakeSmtp(),
        "DB_SECRET": "prod/app/db",
        "JWT_SECRET": "prod/app/jwt",
        "BEDROCK_SECRET": "prod-secret-external-apis",
    }
    reset_default_service()


def test_the_docs_have_examples_to_run() -> None:
    assert len(RUNNABLE) >= 10
    assert len(SIGNATURE) == 1
    assert len(JSON) == 3


@pytest.mark.parametrize(
    "code", RUNNABLE, ids=[f"block{i}-{c.splitlines()[0][:40]}" for i, c in enumerate(RUNNABLE)]
)
def test_an_example_runs_as_written(code: str, docs_world: dict[str, Any]) -> None:
    namespace = dict(docs_world)

    exec(compile(code, str(API_MD), "exec"), namespace)  # noqa: S102 - our own docs

    # Functions an example defines are called as an application would
    if "lambda_handler" in namespace:
        namespace["lambda_handler"]({}, None)
    if "verify" in namespace:
        old_token = sign_hs256({"sub": "u1", "iss": "https://docs.test"}, KEY_PREVIOUS)
        assert namespace["verify"](old_token)["sub"] == "u1"
        with pytest.raises(PermissionError):
            namespace["verify"](sign_hs256({"iss": "https://docs.test"}, "x" * 40))
    if "to_powertools" in namespace:
        namespace["secrets"].get_secret_string("prod/app/webhook-token")
        metrics = namespace["metrics"]
        try:
            assert "SecretMiss" in metrics.metric_set
            assert "SecretFetchLatencyMs" in metrics.metric_set
        finally:
            metrics.clear_metrics()
    if "smtp" in code:
        assert namespace["smtp"].logins == ["AKIADOCS"]


def test_the_documented_constructor_is_the_real_one() -> None:
    documented = re.findall(r"^\s+(\w+)=", SIGNATURE[0], flags=re.MULTILINE)
    parameters = inspect.signature(SecretService).parameters

    assert documented == list(parameters)
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in documented[1:])
    for name in documented:
        shown = re.search(rf"^\s+{name}=([^,]+),", SIGNATURE[0], flags=re.MULTILINE)
        assert shown is not None
        default = parameters[name].default
        if isinstance(default, int | float | type(None)):
            assert shown.group(1) == repr(default), name


@pytest.mark.parametrize("document", JSON, ids=["database", "jwt", "external-apis"])
def test_a_documented_secret_format_is_accepted_by_its_model(document: str) -> None:
    parsed = json.loads(document)

    if "host" in parsed:
        assert DatabaseCredentials.from_mapping(parsed).port == parsed["port"]
    elif "signingKey" in parsed:
        assert JwtConfig.from_mapping(parsed).algorithm == parsed["algorithm"]
    else:
        assert set(ExternalApis.from_mapping(parsed).names) == set(parsed)


def _table_names(heading: str) -> list[str]:
    """The first-column names (in backticks) of the first table after ``heading``."""
    section = API_MD.read_text().split(heading, 1)[1]
    return re.findall(r"^\| `([^`]+)`", section.split("\n## ", 1)[0], flags=re.MULTILINE)


def test_the_configuration_table_lists_every_variable_read() -> None:
    from secret_service.config import ENV_VARIABLES

    documented = set(_table_names("## Configuration"))

    assert set(ENV_VARIABLES) <= documented


def test_the_errors_table_lists_every_error() -> None:
    from secret_service import errors

    assert set(_table_names("## Errors")) == set(errors.__all__)


def test_the_stats_table_lists_every_counter() -> None:
    from dataclasses import fields

    from secret_service import CacheStats

    documented = set(_table_names("### `stats() -> CacheStats`"))

    assert documented == {f.name for f in fields(CacheStats)} | {"hit_ratio"}
