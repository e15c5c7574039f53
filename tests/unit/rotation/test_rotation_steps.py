"""The protocol's pure parts and its refusals, over in-memory doubles (no network)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from aws_lambda_powertools import Logger

from harness.lambda_runtime import load_handler
from rotation_config import RotationConfig
from rotation_errors import RotationStateError
from rotation_model import Account, RotationRequest, SecretMetadata, Step, Strategy, UserProfile
from secret_service.errors import SecretFormatError
from steps import alternate_username, resolve_strategy, run_step

if TYPE_CHECKING:
    from secret_service.models import DatabaseCredentials

ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:app-dev-secret-db-AbCdEf"
CURRENT = "11111111-0000-4000-8000-123456789abc"
TOKEN = "0a1b2c3d-0000-4000-8000-123456789abc"
DOC = {"host": "db.internal", "port": 3306, "username": "app", "password": "old-password-123"}


@dataclass
class MemoryStore:
    """Secrets Manager in memory: versions, labels and values."""

    values: dict[str, str] = field(default_factory=dict)
    stages: dict[str, set[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def describe(self, secret_id: str) -> SecretMetadata:
        return SecretMetadata(
            arn=ARN,
            name="app-dev-secret-db",
            rotation_enabled=True,
            versions={v: frozenset(s) for v, s in self.stages.items()},
        )

    def get_value(
        self, secret_id: str, *, stage: str, version_id: str | None = None, missing_ok: bool = False
    ) -> str | None:
        for vid, stages in self.stages.items():
            wanted = stage in stages and (version_id is None or vid == version_id)
            if wanted and vid in self.values:
                return self.values[vid]
        if missing_ok:
            return None
        raise AssertionError(f"no {stage}")

    def put_pending(self, secret_id: str, *, token: str, secret_string: str,
                    rotation_token: str | None = None) -> None:  # fmt: skip
        self.calls.append("put_pending")
        self.values[token] = secret_string

    def random_password(self, *, length: int, exclude_characters: str,
                        exclude_punctuation: bool = False) -> str:  # fmt: skip
        return "n" * length

    def move_stage(self, secret_id: str, *, stage: str, to_version_id: str | None,
                   from_version_id: str | None) -> None:  # fmt: skip
        self.calls.append(f"move {stage}")


class RefusingDatabase:
    """A database that accepts no password at all."""

    def can_log_in(self, creds: DatabaseCredentials) -> bool:
        return False

    def account_of(self, creds: DatabaseCredentials) -> Account:
        raise AssertionError("not expected")

    def change_own_password(self, creds: DatabaseCredentials, *, new_password: str) -> Account:
        from secret_service.errors import DatabaseAuthError

        raise DatabaseAuthError("refused", code="1045")

    def set_password(
        self, admin: DatabaseCredentials, *, account: Account, new_password: str
    ) -> None:
        raise AssertionError("not expected")

    def sync_clone(self, admin: DatabaseCredentials, *, source: Account, target: Account,
                   password: str) -> None:  # fmt: skip
        raise AssertionError("not expected")

    def profile(self, creds: DatabaseCredentials) -> UserProfile:
        raise AssertionError("not expected")


def _run(store: MemoryStore, step: Step) -> None:
    run_step(
        RotationRequest(secret_id=ARN, token=TOKEN, step=step),
        store=store,
        db=RefusingDatabase(),
        config=RotationConfig(),
        log=Logger(service="test", stream=io.StringIO()),
    )


@pytest.fixture
def pending_store() -> MemoryStore:
    return MemoryStore(
        values={
            CURRENT: json.dumps(DOC),
            TOKEN: json.dumps(DOC | {"password": "new-password-456"}),
        },
        stages={CURRENT: {"AWSCURRENT"}, TOKEN: {"AWSPENDING"}},
    )


def test_finish_never_moves_awscurrent_to_a_password_the_database_refuses(
    pending_store: MemoryStore,
) -> None:
    with pytest.raises(RotationStateError, match="does not accept the AWSPENDING password"):
        _run(pending_store, Step.FINISH)

    assert pending_store.calls == []


def test_set_says_what_to_do_when_no_stage_logs_in(pending_store: MemoryStore) -> None:
    with pytest.raises(RotationStateError, match="changed outside rotation") as caught:
        _run(pending_store, Step.SET)

    assert "old-password-123" not in str(caught.value)
    assert "new-password-456" not in str(caught.value)


def test_create_puts_a_pending_value_with_the_configured_length() -> None:
    store = MemoryStore(values={CURRENT: json.dumps(DOC)},
                        stages={CURRENT: {"AWSCURRENT"}, TOKEN: {"AWSPENDING"}})  # fmt: skip

    _run(store, Step.CREATE)

    assert json.loads(store.values[TOKEN]) == DOC | {"password": "n" * 32}


def test_create_keeps_the_secret_document_exactly_but_the_password() -> None:
    # Given a secret as older tools wrote it: port and ssl as strings, no engine, key order
    doc = {"username": "app", "password": "old-password-123", "host": "db.internal",
           "port": "3306", "ssl": "true", "note": {"team": "a"}}  # fmt: skip
    store = MemoryStore(values={CURRENT: json.dumps(doc)},
                        stages={CURRENT: {"AWSCURRENT"}, TOKEN: {"AWSPENDING"}})  # fmt: skip

    _run(store, Step.CREATE)

    pending = json.loads(store.values[TOKEN])
    assert list(pending) == list(doc)
    assert pending == doc | {"password": "n" * 32}


def test_create_of_a_signing_key_keeps_the_document_exactly_but_the_key() -> None:
    doc = {"rotationStrategy": "random-key", "signingKey": "k" * 64, "kid": "2024-01"}
    store = MemoryStore(values={CURRENT: json.dumps(doc)},
                        stages={CURRENT: {"AWSCURRENT"}, TOKEN: {"AWSPENDING"}})  # fmt: skip

    _run(store, Step.CREATE)

    pending = json.loads(store.values[TOKEN])
    assert list(pending) == list(doc)
    assert pending == doc | {"signingKey": "n" * 64}


@pytest.mark.parametrize(("name", "alternate"), [("app", "app_clone"), ("app_clone", "app")])
def test_alternate_usernames_swap(name: str, alternate: str) -> None:
    assert alternate_username(name, secret_id=ARN) == alternate


def test_an_alternate_name_longer_than_mysql_allows_is_refused() -> None:
    with pytest.raises(SecretFormatError) as caught:
        alternate_username("a" * 27, secret_id=ARN)

    assert caught.value.field == "username"


def test_a_secret_field_overrides_the_default_strategy() -> None:
    doc = {"rotationStrategy": "alternating-users"}

    assert resolve_strategy(doc, Strategy.SINGLE_USER, secret_id=ARN) is Strategy.ALTERNATING_USERS
    assert resolve_strategy({}, Strategy.RANDOM_KEY, secret_id=ARN) is Strategy.RANDOM_KEY


@pytest.mark.parametrize("value", ["yearly", 3, ["single-user"]])
def test_a_bad_strategy_field_names_the_field(value: object) -> None:
    with pytest.raises(SecretFormatError) as caught:
        resolve_strategy({"rotationStrategy": value}, Strategy.SINGLE_USER, secret_id=ARN)

    assert caught.value.field == "rotationStrategy"


@pytest.mark.parametrize(
    ("secret_id", "name"),
    [
        (ARN, "app-dev-secret-db"),
        ("app-dev-secret-db", "app-dev-secret-db"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_the_metric_dimension_is_the_secret_name(secret_id: object, name: str) -> None:
    app = load_handler("rotation")

    assert app._secret_name({"SecretId": secret_id}) == name


class RecordingDatabase(RefusingDatabase):
    """Refuses AWSCURRENT and AWSPENDING; accepts the AWSPREVIOUS password, and records it."""

    def __init__(self, accepted_password: str) -> None:
        self.accepted_password = accepted_password
        self.used: list[DatabaseCredentials] = []

    def change_own_password(self, creds: DatabaseCredentials, *, new_password: str) -> Account:
        from secret_service.errors import DatabaseAuthError

        if creds.password != self.accepted_password:
            raise DatabaseAuthError("refused", code="1045")
        self.used.append(creds)
        return Account(user=creds.username, host="%")


def test_set_logs_in_with_awsprevious_over_awscurrent_tls_and_server() -> None:
    # Given AWSPREVIOUS from before TLS was turned on (ssl false, another dbname)
    previous_id = "22222222-0000-4000-8000-123456789abc"
    current = DOC | {"ssl": True, "dbname": "app"}
    previous = DOC | {"password": "previous-password-789", "ssl": False, "dbname": "old"}
    store = MemoryStore(
        values={previous_id: json.dumps(previous), CURRENT: json.dumps(current),
                TOKEN: json.dumps(current | {"password": "new-password-456"})},
        stages={previous_id: {"AWSPREVIOUS"}, CURRENT: {"AWSCURRENT"}, TOKEN: {"AWSPENDING"}},
    )  # fmt: skip
    db = RecordingDatabase("previous-password-789")

    run_step(RotationRequest(secret_id=ARN, token=TOKEN, step=Step.SET), store=store, db=db,
             config=RotationConfig(), log=Logger(service="test", stream=io.StringIO()))  # fmt: skip

    # Then the recovery login used AWSPREVIOUS's password with AWSCURRENT's TLS setting
    [used] = db.used
    assert used.password == "previous-password-789"
    assert (used.ssl, used.host, used.port, used.username) == (True, "db.internal", 3306, "app")
