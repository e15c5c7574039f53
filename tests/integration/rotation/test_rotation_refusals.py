"""Bad events, bad secret states and bad secret values: a typed error, nothing changed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from harness.rotation import begin_rotation, rotate, rotation_event, staging_labels
from rotation_errors import RotationEventError, RotationStateError
from secret_service.errors import SecretFormatError, SecretNotFoundError

if TYPE_CHECKING:
    from tests.integration.rotation.conftest import Rig, SecretUnderTest

pytestmark = pytest.mark.mariadb

TOKEN = "0a1b2c3d-0000-4000-8000-123456789abc"
GOOD: dict[str, Any] = {"Step": "createSecret", "ClientRequestToken": TOKEN}


def _with(**changes: Any) -> dict[str, Any]:
    event = dict(GOOD, SecretId="<arn>")
    for key, value in changes.items():
        if value is _MISSING:
            event.pop(key)
        else:
            event[key] = value
    return event


_MISSING = object()

MALFORMED_EVENTS: list[tuple[str, object, str | None]] = [
    ("none", None, None),
    ("a list", [GOOD], None),
    ("a string", "createSecret", None),
    ("empty object", {}, "SecretId"),
    ("no SecretId", _with(SecretId=_MISSING), "SecretId"),
    ("no ClientRequestToken", _with(ClientRequestToken=_MISSING), "ClientRequestToken"),
    ("no Step", _with(Step=_MISSING), "Step"),
    ("SecretId a number", _with(SecretId=42), "SecretId"),
    ("SecretId empty", _with(SecretId=""), "SecretId"),
    ("SecretId blank", _with(SecretId="   "), "SecretId"),
    ("SecretId padded", _with(SecretId=" app-secret "), "SecretId"),
    ("SecretId another service's ARN", _with(SecretId="arn:aws:s3:::bucket"), "SecretId"),
    ("SecretId too long", _with(SecretId="a" * 3000), "SecretId"),
    ("SecretId with a newline", _with(SecretId="app\nsecret"), "SecretId"),
    ("token a number", _with(ClientRequestToken=12345), "ClientRequestToken"),
    ("token too short", _with(ClientRequestToken="abc"), "ClientRequestToken"),
    ("token too long", _with(ClientRequestToken="a" * 65), "ClientRequestToken"),
    ("token with spaces", _with(ClientRequestToken="a b" * 12), "ClientRequestToken"),
    ("Step null", _with(Step=None), "Step"),
    ("Step unknown", _with(Step="rotateSecret"), "Step"),
    ("Step wrong case", _with(Step="createsecret"), "Step"),
    ("Step a list", _with(Step=["createSecret"]), "Step"),
    ("RotationToken a number", _with(RotationToken=7), "RotationToken"),
    ("RotationToken too short", _with(RotationToken="short"), "RotationToken"),
]


@pytest.mark.parametrize(
    ("event", "field"),
    [pytest.param(event, field, id=name) for name, event, field in MALFORMED_EVENTS],
)
def test_a_malformed_event_raises_a_typed_error_and_changes_nothing(
    event: object, field: str | None, rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given a rotation in progress
    token = begin_rotation(rig.sm, db_secret.arn, token=TOKEN)
    if isinstance(event, dict) and event.get("SecretId") == "<arn>":
        event = dict(event, SecretId=db_secret.arn)
    before = staging_labels(rig.sm, db_secret.arn)

    # When the function receives a malformed event
    with pytest.raises(RotationEventError) as caught:
        rig.invoke(event)  # type: ignore[arg-type]

    # Then the error names the bad key and nothing changed
    assert caught.value.field == field
    assert staging_labels(rig.sm, db_secret.arn) == before
    with pytest.raises(rig.sm.exceptions.ResourceNotFoundException):
        rig.sm.get_secret_value(SecretId=db_secret.arn, VersionId=token, VersionStage="AWSPENDING")
    assert rig.logs_in(db_secret.username, db_secret.password)


def test_malformed_events_cover_at_least_fifteen_shapes() -> None:
    assert len(MALFORMED_EVENTS) >= 15


# -- secret state ------------------------------------------------------------------------


def test_rotation_not_enabled_is_refused(rig: Rig, db_secret: SecretUnderTest) -> None:
    token = begin_rotation(rig.sm, db_secret.arn, rotation_enabled=False)

    with pytest.raises(RotationStateError, match="rotation enabled"):
        rig.invoke(rotation_event(db_secret.arn, token, "createSecret"))

    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]


def test_a_secret_scheduled_for_deletion_is_refused_saying_how_to_restore_it(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given a rotation in progress on a secret someone then scheduled for deletion
    token = begin_rotation(rig.sm, db_secret.arn)
    rig.sm.delete_secret(SecretId=db_secret.arn, RecoveryWindowInDays=7)

    # When the next step arrives
    with pytest.raises(RotationStateError, match="scheduled for deletion") as caught:
        rig.invoke(rotation_event(db_secret.arn, token, "createSecret"))

    # Then the error says how to get out of it, and nothing changed
    assert "RestoreSecret" in str(caught.value)
    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSPENDING"]
    assert rig.logs_in(db_secret.username, db_secret.password)


def test_a_token_that_is_not_a_version_of_the_secret_is_refused(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    begin_rotation(rig.sm, db_secret.arn)

    with pytest.raises(RotationStateError, match="not a version"):
        rig.invoke(rotation_event(db_secret.arn, "f" * 36, "createSecret"))


def test_a_token_that_is_not_awspending_is_refused(rig: Rig, db_secret: SecretUnderTest) -> None:
    # Given a finished rotation, and a new one: the old current is AWSPREVIOUS
    first = rotate(rig.invoke, rig.sm, db_secret.arn)
    rotate(rig.invoke, rig.sm, db_secret.arn)

    with pytest.raises(RotationStateError, match="not AWSPENDING"):
        rig.invoke(rotation_event(db_secret.arn, first, "setSecret"))


@pytest.mark.parametrize("step", ["createSecret", "setSecret", "testSecret", "finishSecret"])
def test_a_token_already_awscurrent_returns_at_once(
    step: str, rig: Rig, db_secret: SecretUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    token = rotate(rig.invoke, rig.sm, db_secret.arn)
    before = staging_labels(rig.sm, db_secret.arn), rig.doc(db_secret.arn)
    capsys.readouterr()

    rig.invoke(rotation_event(db_secret.arn, token, step))

    assert (staging_labels(rig.sm, db_secret.arn), rig.doc(db_secret.arn)) == before
    assert '"outcome":"already-current"' in capsys.readouterr().out


def test_an_unknown_secret_is_not_found(rig: Rig) -> None:
    arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:app-test-nope-AbCdEf"

    with pytest.raises(SecretNotFoundError):
        rig.invoke(rotation_event(arn, TOKEN, "createSecret"))


def test_set_secret_before_create_secret_is_refused(rig: Rig, db_secret: SecretUnderTest) -> None:
    token = begin_rotation(rig.sm, db_secret.arn)

    with pytest.raises(RotationStateError, match="createSecret has not run"):
        rig.invoke(rotation_event(db_secret.arn, token, "setSecret"))

    assert rig.logs_in(db_secret.username, db_secret.password)


def test_set_secret_before_create_secret_is_refused_for_a_random_key_too(rig: Rig) -> None:
    # Given a JWT secret whose rotation began but whose createSecret never ran
    doc = {"signingKey": "k" * 64, "rotationStrategy": "random-key"}
    arn = rig.sm.create_secret(Name="app-test-secret-jwt", SecretString=json.dumps(doc))["ARN"]
    token = begin_rotation(rig.sm, arn)

    # When setSecret arrives out of order, then it is refused like a database's
    with pytest.raises(RotationStateError, match="createSecret has not run"):
        rig.invoke(rotation_event(arn, token, "setSecret"))

    # And nothing moved: AWSCURRENT keeps its key, the token holds only AWSPENDING
    assert rig.doc(arn) == doc
    assert staging_labels(rig.sm, arn)[token] == ["AWSPENDING"]


# -- bad secret values -----------------------------------------------------------------

PASSWORD = "Sup3r-secret-value-xyz"

BAD_SECRETS: list[tuple[str, Any, str | None]] = [
    ("no host", {"username": "u", "password": PASSWORD}, "host"),
    ("no username", {"host": "h", "password": PASSWORD}, "username"),
    ("no password", {"host": "h", "username": "u"}, "password"),
    ("host a number", {"host": 5, "username": "u", "password": PASSWORD}, "host"),
    ("username a list", {"host": "h", "username": ["u"], "password": PASSWORD}, "username"),
    ("password a number", {"host": "h", "username": "u", "password": 123456}, "password"),
    ("port text", {"host": "h", "username": "u", "password": PASSWORD, "port": "abc"}, "port"),
    ("port too big", {"host": "h", "username": "u", "password": PASSWORD, "port": 70000}, "port"),
    ("ssl maybe", {"host": "h", "username": "u", "password": PASSWORD, "ssl": "maybe"}, "ssl"),
    (
        "engine postgres",
        {"host": "h", "username": "u", "password": PASSWORD, "engine": "postgres"},
        "engine",
    ),
    (
        "unknown strategy",
        {"host": "h", "username": "u", "password": PASSWORD, "rotationStrategy": "yearly"},
        "rotationStrategy",
    ),
    (
        "alternating without masterarn",
        {
            "host": "h",
            "username": "u",
            "password": PASSWORD,
            "rotationStrategy": "alternating-users",
        },
        "masterarn",
    ),
    (
        "jwt without signingKey",
        {"algorithm": "HS256", "rotationStrategy": "random-key"},
        "signingKey",
    ),
    ("jwt short key", {"signingKey": "short", "rotationStrategy": "random-key"}, "signingKey"),
    (
        "jwt expiry text",
        {"signingKey": "k" * 64, "expiresInSeconds": "soon", "rotationStrategy": "random-key"},
        "expiresInSeconds",
    ),
    ("not JSON", f"password={PASSWORD}", None),
    ("a JSON array", [PASSWORD], None),
]


@pytest.mark.parametrize(
    ("value", "field"), [pytest.param(v, f, id=name) for name, v, f in BAD_SECRETS]
)
def test_a_bad_secret_value_raises_a_format_error_naming_the_field_never_the_value(
    value: Any, field: str | None, rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = value if isinstance(value, str) else json.dumps(value)
    arn = rig.sm.create_secret(Name="app-test-secret-bad", SecretString=secret)["ARN"]
    token = begin_rotation(rig.sm, arn)

    with pytest.raises(SecretFormatError) as caught:
        rig.invoke(rotation_event(arn, token, "createSecret"))

    assert caught.value.field == field
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in capsys.readouterr().out
    assert staging_labels(rig.sm, arn)[token] == ["AWSPENDING"]
    with pytest.raises(rig.sm.exceptions.ResourceNotFoundException):
        rig.sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")


def test_a_pending_value_pointing_at_another_server_is_refused(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    token = begin_rotation(rig.sm, db_secret.arn)
    doc = rig.doc(db_secret.arn) | {"host": "10.0.0.9", "password": "x" * 32}
    rig.sm.put_secret_value(
        SecretId=db_secret.arn,
        ClientRequestToken=token,
        SecretString=json.dumps(doc),
        VersionStages=["AWSPENDING"],
    )

    with pytest.raises(RotationStateError, match="another server"):
        rig.invoke(rotation_event(db_secret.arn, token, "setSecret"))

    assert rig.logs_in(db_secret.username, db_secret.password)


def test_a_pending_value_left_from_before_awscurrent_moved_server_says_to_drop_it(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given createSecret ran, then AWSCURRENT was pointed at another endpoint by hand
    token = begin_rotation(rig.sm, db_secret.arn)
    rig.invoke(rotation_event(db_secret.arn, token, "createSecret"))
    moved = rig.doc(db_secret.arn) | {"host": "db-new.internal"}
    rig.sm.put_secret_value(SecretId=db_secret.arn, SecretString=json.dumps(moved))

    # When Secrets Manager retries setSecret for the old token
    with pytest.raises(RotationStateError) as caught:
        rig.invoke(rotation_event(db_secret.arn, token, "setSecret"))

    # Then the error says the pending value is stale and how to get rid of it
    assert token in str(caught.value)
    assert "UpdateSecretVersionStage" in str(caught.value)
    assert rig.logs_in(db_secret.username, db_secret.password)
