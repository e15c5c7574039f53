"""get_many / preload: BatchGetSecretValue in chunks of 20, per-secret errors named."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from tests.unit.secret_layer.support import arn_of, get_response

from secret_service import (
    SecretAccessDeniedError,
    SecretConfigError,
    SecretFormatError,
    SecretNotFoundError,
    SecretService,
    SecretThrottledError,
    SecretUnavailableError,
)

if TYPE_CHECKING:
    from botocore.stub import Stubber
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.support import FakeClock

Stubbed = tuple["SecretsManagerClient", "Stubber"]


def value_of(name: str) -> str:
    return f"batch-value-{name}-9d"


def batch_response(names: list[str], errors: dict[str, str] | None = None) -> dict[str, Any]:
    errors = errors or {}
    values = []
    for name in names:
        if name in errors:
            continue
        item = get_response(name, value_of(name))
        item.pop("VersionStages")
        values.append(item)
    return {
        "SecretValues": values,
        "Errors": [
            {"SecretId": name, "ErrorCode": code, "Message": "no"} for name, code in errors.items()
        ],
    }


def expect_batch(stubber: Stubber, names: list[str], errors: dict[str, str] | None = None) -> None:
    stubber.add_response(
        "batch_get_secret_value",
        batch_response(names, errors),
        expected_params={"SecretIdList": names},
    )


def service(client: Any, clock: FakeClock, **options: Any) -> SecretService:
    return SecretService(client, clock=clock, sleep=clock.sleep, random=lambda: 0.5, **options)


def test_45_secrets_are_read_in_three_calls_of_20_20_and_5(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given 45 secret names and exactly three declared batch calls
    client, stubber = stubbed
    names = [f"s{i:02d}" for i in range(45)]
    for chunk in (names[:20], names[20:40], names[40:]):
        expect_batch(stubber, chunk)
    secrets = service(client, clock)

    # When they are read together
    values = secrets.get_many(names)

    # Then all arrive, in the order asked, and are now cache hits
    assert list(values) == names
    assert all(values[n] == value_of(n) for n in names)
    assert secrets.stats().api_calls == 3
    assert secrets.get_secret_string("s44") == value_of("s44")


def test_preload_of_20_secrets_is_one_call(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    names = [f"p{i}" for i in range(20)]
    expect_batch(stubber, names)
    secrets = service(client, clock)

    secrets.preload(names)

    assert secrets.stats().api_calls == 1
    assert secrets.stats().entries == 20


def test_only_the_missing_secrets_are_asked_for(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("a", value_of("a")))
    expect_batch(stubber, ["b", "c"])
    secrets = service(client, clock)
    secrets.get_secret_string("a")

    values = secrets.get_many(["a", "b", "c", "b"])

    assert values == {n: value_of(n) for n in ("a", "b", "c")}


def test_a_failing_secret_is_named_and_the_others_are_kept(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a batch where "gone" does not exist and "locked" is denied
    client, stubber = stubbed
    names = ["ok1", "gone", "ok2", "locked"]
    expect_batch(
        stubber,
        names,
        {"gone": "ResourceNotFoundException", "locked": "AccessDeniedException"},
    )
    secrets = service(client, clock)

    # When they are read together
    with pytest.raises(SecretNotFoundError) as caught:
        secrets.get_many(names)

    # Then the error names the first failing secret and counts the other
    assert caught.value.secret_id == "gone"
    assert "gone" in str(caught.value)
    assert "1 other secret(s) also failed: locked" in str(caught.value)
    # And the two good ones are cached: no further call is declared
    assert secrets.get_many(["ok1", "ok2"]) == {"ok1": value_of("ok1"), "ok2": value_of("ok2")}


def test_a_per_secret_access_error_keeps_its_type(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_batch(stubber, ["locked"], {"locked": "AccessDeniedException"})

    with pytest.raises(SecretAccessDeniedError) as caught:
        service(client, clock).get_many(["locked"])

    assert caught.value.secret_id == "locked"


def test_an_id_the_batch_silently_omits_is_reported_not_found(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    client, stubber = stubbed
    response = batch_response(["a"])
    stubber.add_response("batch_get_secret_value", response, {"SecretIdList": ["a", "b"]})

    with pytest.raises(SecretNotFoundError, match="no value for secret b"):
        service(client, clock).get_many(["a", "b"])


def test_secrets_asked_by_full_or_partial_arn_are_matched_to_the_answer(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given one secret asked by its full ARN and one by its ARN without the suffix
    client, stubber = stubbed
    full_arn = arn_of("one")
    partial_arn = arn_of("two").rsplit("-", 1)[0]
    response = batch_response(["one", "two"])
    stubber.add_response(
        "batch_get_secret_value", response, {"SecretIdList": [full_arn, partial_arn]}
    )

    # When read together, Then each answer lands under the id the caller used
    values = service(client, clock).get_many([full_arn, partial_arn])

    assert values == {full_arn: value_of("one"), partial_arn: value_of("two")}


def test_a_partial_arn_is_not_matched_to_a_secret_whose_name_extends_it(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given "app" and "app-db" asked by partial ARN, and the batch answering "app-db" first
    client, stubber = stubbed
    app, app_db = arn_of("app").rsplit("-", 1)[0], arn_of("app-db").rsplit("-", 1)[0]
    response = batch_response(["app-db", "app"])
    stubber.add_response("batch_get_secret_value", response, {"SecretIdList": [app, app_db]})
    secrets = service(client, clock)

    # When they are read together
    values = secrets.get_many([app, app_db])

    # Then each id gets its own secret's value, and so does the cache
    assert values == {app: value_of("app"), app_db: value_of("app-db")}
    assert secrets.get_secret_string(app) == value_of("app")


def test_one_answer_for_a_secret_asked_by_name_and_by_arn_fills_both_ids(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a batch asking for one secret by name and by ARN, answered once
    client, stubber = stubbed
    names = ["one", arn_of("one")]
    stubber.add_response("batch_get_secret_value", batch_response(["one"]), {"SecretIdList": names})

    # When read together, Then both ids get the value and neither is reported missing
    values = service(client, clock).get_many(names)

    assert values == {"one": value_of("one"), arn_of("one"): value_of("one")}


def test_a_throttled_batch_is_retried(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    stubber.add_client_error("batch_get_secret_value", "ThrottlingException", "slow down")
    expect_batch(stubber, ["a"])

    assert service(client, clock).get_many(["a"]) == {"a": value_of("a")}
    assert clock.sleeps == pytest.approx([0.025])


def test_a_failed_batch_serves_stale_values_and_names_the_rest(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given "a" cached and expired, and a batch call that keeps failing
    client, stubber = stubbed
    expect_batch(stubber, ["a"])
    stubber.add_client_error("batch_get_secret_value", "InternalServiceError", "x", 500)
    secrets = service(client, clock, ttl_s=10, max_attempts=1)
    secrets.get_many(["a"])
    clock.advance(11)

    # When "a" and the never-read "b" are asked for
    with pytest.raises(SecretUnavailableError) as caught:
        secrets.get_many(["a", "b"])

    # Then "b" is named, and "a" was served stale (and stays readable)
    assert caught.value.secret_id == "b"
    assert secrets.stats().stale_served == 1
    assert secrets.get_secret_string("a") == value_of("a")


def test_a_secret_the_batch_refuses_is_not_served_stale_later(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given "a" cached and expired, then a batch that reports its access revoked
    client, stubber = stubbed
    expect_batch(stubber, ["a"])
    expect_batch(stubber, ["a"], {"a": "AccessDeniedException"})
    stubber.add_client_error("batch_get_secret_value", "ThrottlingException", "x", 400)
    secrets = service(client, clock, ttl_s=10, max_attempts=1)
    secrets.get_many(["a"])
    clock.advance(11)
    with pytest.raises(SecretAccessDeniedError):
        secrets.get_many(["a"])

    # When the next batch is throttled, Then the revoked value is not served stale
    with pytest.raises(SecretThrottledError):
        secrets.get_many(["a"])
    assert secrets.stats().stale_served == 0


def test_a_binary_secret_in_a_batch_fails_alone_and_the_others_are_cached(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a batch of three where "blob" stores only SecretBinary
    client, stubber = stubbed
    names = ["ok1", "blob", "ok2"]
    response = batch_response(names)
    blob = next(item for item in response["SecretValues"] if item["Name"] == "blob")
    del blob["SecretString"]
    blob["SecretBinary"] = b"\x00\x01"
    stubber.add_response("batch_get_secret_value", response, {"SecretIdList": names})
    secrets = service(client, clock)

    # When they are read together
    with pytest.raises(SecretFormatError) as caught:
        secrets.get_many(names)

    # Then the error names "blob" and SecretString, and the two others are cached
    assert (caught.value.secret_id, caught.value.field) == ("blob", "SecretString")
    assert secrets.stats().errors == 1
    assert secrets.get_many(["ok1", "ok2"]) == {"ok1": value_of("ok1"), "ok2": value_of("ok2")}


def test_a_role_without_batch_permission_is_told_which_action_it_lacks(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a role allowed GetSecretValue on its secrets but not BatchGetSecretValue
    client, stubber = stubbed
    stubber.add_client_error(
        "batch_get_secret_value", "AccessDeniedException", "not authorized", 400
    )
    secrets = service(client, clock)

    # When it preloads
    with pytest.raises(SecretAccessDeniedError) as caught:
        secrets.preload(["a", "b"])

    # Then the error names the missing action and its resource, and is counted
    assert "secretsmanager:BatchGetSecretValue" in str(caught.value)
    assert "'*'" in str(caught.value)
    assert secrets.stats().errors == 1


def test_the_batch_follows_next_token_pages(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    first = batch_response(["a"]) | {"NextToken": "page-2"}
    stubber.add_response("batch_get_secret_value", first, {"SecretIdList": ["a", "b"]})
    stubber.add_response(
        "batch_get_secret_value",
        batch_response(["b"]),
        {"SecretIdList": ["a", "b"], "NextToken": "page-2"},
    )

    assert service(client, clock).get_many(["a", "b"]) == {"a": value_of("a"), "b": value_of("b")}


def test_one_secret_asked_by_name_and_by_arn_fills_both_ids(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a batch asking for one secret twice, by name and by ARN (two answers)
    client, stubber = stubbed
    names = ["one", arn_of("one")]
    response = batch_response(["one", "one"])
    stubber.add_response("batch_get_secret_value", response, {"SecretIdList": names})

    # When read together, Then both ids get the value and neither is reported missing
    values = service(client, clock).get_many(names)

    assert values == {"one": value_of("one"), arn_of("one"): value_of("one")}


@pytest.mark.parametrize("call", ["get_many", "preload"])
def test_a_single_string_instead_of_a_list_is_refused(
    stubbed: Stubbed, clock: FakeClock, call: str
) -> None:
    # Given one id passed where a list of ids is expected (no call is declared)
    client, _ = stubbed
    secrets = service(client, clock)

    # When it is read, Then the mistake is named instead of reading each character
    with pytest.raises(SecretConfigError, match="secret_ids must be"):
        getattr(secrets, call)("app/db")


@pytest.mark.parametrize("call", ["get_many", "preload"])
@pytest.mark.parametrize("not_a_list", [None, 42])
def test_something_not_iterable_instead_of_a_list_is_refused(
    stubbed: Stubbed, clock: FakeClock, call: str, not_a_list: object
) -> None:
    # Given None (or a number) passed where a list of ids is expected (no call is declared)
    client, _ = stubbed
    secrets = service(client, clock)

    # When it is read, Then a typed error names what to pass, not a bare TypeError
    with pytest.raises(SecretConfigError, match="secret_ids must be a list"):
        getattr(secrets, call)(not_a_list)


@pytest.mark.parametrize("bad_id", [["app/db"], {"id": "app/db"}, None, ""])
def test_an_id_that_is_not_a_name_or_arn_is_refused_with_a_typed_error(
    stubbed: Stubbed, clock: FakeClock, bad_id: object
) -> None:
    # Given a list holding something other than a secret id (no call is declared)
    client, _ = stubbed
    secrets = service(client, clock)

    # When it is read, Then a typed error names the problem (a list inside the list
    # was a bare "unhashable type" TypeError)
    with pytest.raises(SecretConfigError, match="secret_id must be a non-empty"):
        secrets.get_many(["app/ok", bad_id])  # type: ignore[list-item]
