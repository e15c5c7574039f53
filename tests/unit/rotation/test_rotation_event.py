"""parse_event: the shapes Secrets Manager sends, and refusals that name the key."""

from __future__ import annotations

import pytest

from rotation_errors import RotationEventError
from rotation_event import parse_event
from rotation_model import Step

ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:app-dev-secret-db-AbCdEf"
TOKEN = "0a1b2c3d-0000-4000-8000-123456789abc"


@pytest.mark.parametrize("step", list(Step))
def test_each_step_parses(step: Step) -> None:
    request = parse_event({"SecretId": ARN, "ClientRequestToken": TOKEN, "Step": step.value})

    assert (request.secret_id, request.token, request.step) == (ARN, TOKEN, step)
    assert request.rotation_token is None


def test_a_secret_name_is_accepted_as_well_as_an_arn() -> None:
    request = parse_event(
        {"SecretId": "app-dev-secret-db", "ClientRequestToken": TOKEN, "Step": "setSecret"}
    )

    assert request.secret_id == "app-dev-secret-db"


def test_a_rotation_token_is_kept_but_hidden_from_repr() -> None:
    rotation_token = "9f8e7d6c-5b4a-4321-8765-0123456789ab"
    request = parse_event(
        {
            "SecretId": ARN,
            "ClientRequestToken": TOKEN,
            "Step": "createSecret",
            "RotationToken": rotation_token,
        }
    )

    assert request.rotation_token == rotation_token
    assert rotation_token not in repr(request)


def test_unknown_extra_keys_are_ignored() -> None:
    request = parse_event(
        {"SecretId": ARN, "ClientRequestToken": TOKEN, "Step": "testSecret", "Extra": 1}
    )

    assert request.step is Step.TEST


def test_an_unknown_step_is_named_but_truncated() -> None:
    with pytest.raises(RotationEventError) as caught:
        parse_event({"SecretId": ARN, "ClientRequestToken": TOKEN, "Step": "x" * 500})

    assert caught.value.field == "Step"
    assert len(str(caught.value)) < 200


def test_a_secret_arn_of_another_partition_shape_is_refused() -> None:
    with pytest.raises(RotationEventError) as caught:
        parse_event(
            {
                "SecretId": "arn:aws:secretsmanager:ap-northeast-1:12345:secret:x",
                "ClientRequestToken": TOKEN,
                "Step": "createSecret",
            }
        )

    assert caught.value.field == "SecretId"


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (None, "got null"),
        ([ARN, TOKEN, "createSecret"], "got array"),
        ("createSecret", "got string"),
    ],
)
def test_an_event_that_is_not_an_object_is_named_by_its_json_type(
    event: object, named: str
) -> None:
    with pytest.raises(RotationEventError, match="must be a JSON object") as caught:
        parse_event(event)

    assert named in str(caught.value)


@pytest.mark.parametrize(("value", "named"), [(7, "number"), (None, "null"), ([], "array")])
def test_a_key_of_the_wrong_type_is_named_by_its_json_type(value: object, named: str) -> None:
    event = {"SecretId": ARN, "ClientRequestToken": TOKEN, "Step": value}

    with pytest.raises(RotationEventError, match=f"Step must be a string, got {named}$") as caught:
        parse_event(event)

    assert caught.value.field == "Step"
