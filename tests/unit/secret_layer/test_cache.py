"""The cache: one GetSecretValue per miss, TTL with jitter, LRU bound, invalidation.

botocore's Stubber fails the test on any call that was not declared, so "exactly one
GetSecretValue per miss, no DescribeSecret" is checked by the stub queue itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from tests.unit.secret_layer.support import get_response

from secret_service import AWSPREVIOUS, SecretConfigError, SecretFormatError, SecretService

if TYPE_CHECKING:
    from botocore.stub import Stubber
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.support import FakeClock

Stubbed = tuple["SecretsManagerClient", "Stubber"]
VALUE = "cache-value-3b9e"


def expect_get(stubber: Stubber, name: str, value: str, stage: str = "AWSCURRENT") -> None:
    stubber.add_response(
        "get_secret_value",
        get_response(name, value),
        expected_params={"SecretId": name, "VersionStage": stage},
    )


def service(client: SecretsManagerClient, clock: FakeClock, **options: object) -> SecretService:
    options.setdefault("random", lambda: 0.0)  # no jitter unless a test asks for it
    return SecretService(client, clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


def test_a_miss_costs_exactly_one_get_secret_value(stubbed: Stubbed, clock: FakeClock) -> None:
    # Given one declared GetSecretValue (any other call would fail the test)
    client, stubber = stubbed
    expect_get(stubber, "app/db", VALUE)
    secrets = service(client, clock)

    # When the secret is read three times within its TTL
    values = [secrets.get_secret_string("app/db") for _ in range(3)]

    # Then one API call served all three
    assert values == [VALUE] * 3
    stats = secrets.stats()
    assert (stats.misses, stats.hits, stats.api_calls) == (1, 2, 1)
    assert stats.hit_ratio == pytest.approx(2 / 3)


def test_a_value_is_read_again_once_its_ttl_has_passed(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_get(stubber, "app/db", VALUE)
    expect_get(stubber, "app/db", "cache-value-rotated")
    secrets = service(client, clock, ttl_s=60)
    secrets.get_secret_string("app/db")

    clock.advance(59.9)
    still_cached = secrets.get_secret_string("app/db")
    clock.advance(0.2)
    refreshed = secrets.get_secret_string("app/db")

    assert (still_cached, refreshed) == (VALUE, "cache-value-rotated")


def test_jitter_only_shortens_the_ttl_by_up_to_the_ratio(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given the largest jitter draw (random() -> 0.999) and a 10 % ratio
    client, stubber = stubbed
    expect_get(stubber, "app/db", VALUE)
    expect_get(stubber, "app/db", VALUE)
    secrets = service(client, clock, ttl_s=100, jitter_ratio=0.1, random=lambda: 0.999)
    secrets.get_secret_string("app/db")

    # When 89 s pass the value is still fresh; at 90.1 s it has expired (100 * (1 - 0.0999))
    clock.advance(89.0)
    secrets.get_secret_string("app/db")
    assert secrets.stats().api_calls == 1
    clock.advance(1.1)
    secrets.get_secret_string("app/db")
    assert secrets.stats().api_calls == 2


def test_two_services_with_different_draws_expire_at_different_times(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    client, stubber = stubbed
    expect_get(stubber, "app/db", VALUE)
    expect_get(stubber, "app/db", VALUE)
    early = service(client, clock, ttl_s=100, random=lambda: 0.9)
    late = service(client, clock, ttl_s=100, random=lambda: 0.1)
    early.get_secret_string("app/db")
    late.get_secret_string("app/db")

    clock.advance(95.0)

    assert early.stats().entries == 1
    early_expired = early._entries["app/db"].expires_at <= clock.now
    late_expired = late._entries["app/db"].expires_at <= clock.now
    assert (early_expired, late_expired) == (True, False)


def test_the_least_recently_used_secret_is_evicted_at_the_bound(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a cache of two entries holding a and b, with a used more recently than b
    client, stubber = stubbed
    for name in ("a", "b", "c", "b"):
        expect_get(stubber, name, f"lru-value-{name}")
    secrets = service(client, clock, max_entries=2)
    secrets.get_secret_string("a")
    clock.advance(1)
    secrets.get_secret_string("b")
    clock.advance(1)
    secrets.get_secret_string("a")  # hit: a is now the most recent
    clock.advance(1)

    # When c arrives
    secrets.get_secret_string("c")

    # Then b was evicted (a is still a hit; b costs a new call)
    assert secrets.get_secret_string("a") == "lru-value-a"
    assert secrets.get_secret_string("b") == "lru-value-b"
    stats = secrets.stats()
    assert stats.evictions == 2  # b for c, then a or c for b
    assert stats.entries == 2


def test_invalidate_one_secret_drops_every_stage_of_it_only(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    client, stubber = stubbed
    expect_get(stubber, "a", "inv-a")
    expect_get(stubber, "a", "inv-a-prev", AWSPREVIOUS)
    expect_get(stubber, "b", "inv-b")
    expect_get(stubber, "a", "inv-a")
    secrets = service(client, clock)
    secrets.get_secret_string("a")
    secrets.get_secret_string("a", version_stage=AWSPREVIOUS)
    secrets.get_secret_string("b")

    secrets.invalidate("a")

    assert secrets.stats().entries == 1
    secrets.get_secret_string("b")  # still cached: no call declared for it
    secrets.get_secret_string("a")  # read again: the fourth declared call


def test_invalidate_by_arn_drops_a_secret_read_by_name(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    response = get_response("app/db", VALUE)
    stubber.add_response("get_secret_value", response)
    secrets = service(client, clock)
    secrets.get_secret_string("app/db")

    secrets.invalidate(response["ARN"])

    assert secrets.stats().entries == 0


def test_invalidate_by_partial_arn_drops_that_secret_only(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given "app" read by name and "app-db" by full ARN
    client, stubber = stubbed
    app, app_db = get_response("app", VALUE), get_response("app-db", VALUE)
    stubber.add_response("get_secret_value", app)
    stubber.add_response("get_secret_value", app_db)
    secrets = service(client, clock)
    secrets.get_secret_string("app")
    secrets.get_secret_string(app_db["ARN"])

    # When "app" is invalidated by its partial ARN (the ARN without the suffix)
    secrets.invalidate(app["ARN"].rsplit("-", 1)[0])

    # Then "app" is dropped, and "app-db" (whose ARN merely starts the same) is kept
    assert secrets.stats().entries == 1
    secrets.get_secret_string(app_db["ARN"])  # still cached: no call declared for it


def test_invalidate_all(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_get(stubber, "a", "all-a")
    expect_get(stubber, "b", "all-b")
    secrets = service(client, clock)
    secrets.get_secret_string("a")
    secrets.get_secret_string("b")

    secrets.invalidate()

    assert secrets.stats().entries == 0


@pytest.mark.parametrize("wrong", [["a", "b"], "", 5], ids=["a list", "empty", "a number"])
def test_invalidate_given_something_other_than_one_id_is_refused_not_ignored(
    stubbed: Stubbed, clock: FakeClock, wrong: object
) -> None:
    # Given a cached secret
    client, stubber = stubbed
    expect_get(stubber, "a", "kept-a")
    secrets = service(client, clock)
    secrets.get_secret_string("a")

    # When invalidate gets a list (or an empty id, or a number), Then it says so instead
    # of silently dropping nothing and leaving the caller reading the old value
    with pytest.raises(SecretConfigError, match="secret_id must be"):
        secrets.invalidate(wrong)  # type: ignore[arg-type]
    assert secrets.stats().entries == 1


def test_force_refresh_reads_the_api_even_when_cached(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_get(stubber, "app/db", VALUE)
    expect_get(stubber, "app/db", "cache-value-forced")
    secrets = service(client, clock)
    secrets.get_secret_string("app/db")

    forced = secrets.get_secret_string("app/db", force_refresh=True)

    assert forced == "cache-value-forced"
    assert secrets.get_secret_string("app/db") == "cache-value-forced"  # and it is cached


def test_version_stages_are_cached_separately(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_get(stubber, "jwt", "stage-current")
    expect_get(stubber, "jwt", "stage-previous", AWSPREVIOUS)
    secrets = service(client, clock)

    current = secrets.get_secret_string("jwt")
    previous = secrets.get_secret_string("jwt", version_stage=AWSPREVIOUS)

    assert (current, previous) == ("stage-current", "stage-previous")
    assert secrets.get_secret_string("jwt", version_stage=AWSPREVIOUS) == "stage-previous"


def test_get_secret_json_returns_a_copy_the_caller_may_change(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a flat and a nested JSON secret
    client, stubber = stubbed
    flat = {"user": "u", "password": "json-pw-1"}
    nested = {"keys": {"primary": "json-pw-2"}, "hosts": ["a", "b"]}
    expect_get(stubber, "flat", json.dumps(flat))
    expect_get(stubber, "nested", json.dumps(nested))
    secrets = service(client, clock)

    # When callers mutate what they got, at every level
    first_flat = secrets.get_secret_json("flat")
    first_flat["password"] = "changed"
    first_nested = secrets.get_secret_json("nested")
    first_nested["keys"]["primary"] = "changed"
    first_nested["hosts"].append("c")

    # Then the next read still returns the stored document, from the cache
    assert secrets.get_secret_json("flat") == flat
    assert secrets.get_secret_json("nested") == nested
    assert secrets.stats().api_calls == 2


def test_get_secret_json_of_a_too_deeply_nested_object_is_a_format_error(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given a JSON object nested 1,500 levels deep (the decoder reads it; a copy cannot)
    client, stubber = stubbed
    expect_get(stubber, "deep", '{"a": ' * 1_500 + "1" + "}" * 1_500)
    secrets = service(client, clock)

    # When / Then: a typed error naming the secret, not a RecursionError
    with pytest.raises(SecretFormatError, match="secret deep is JSON nested more than 100"):
        secrets.get_secret_json("deep")


@pytest.mark.parametrize("bad_id", ["", "   ", None, 42, ["a"]])
def test_a_bad_secret_id_is_refused_before_any_call(
    stubbed: Stubbed, clock: FakeClock, bad_id: object
) -> None:
    client, _ = stubbed
    secrets = service(client, clock)

    with pytest.raises(SecretConfigError, match="secret_id must be a non-empty"):
        secrets.get_secret_string(bad_id)  # type: ignore[arg-type]

    assert secrets.stats().api_calls == 0


def test_a_bad_version_stage_is_refused(stubbed: Stubbed, clock: FakeClock) -> None:
    client, _ = stubbed

    with pytest.raises(SecretConfigError, match="version_stage"):
        service(client, clock).get_secret_string("a", version_stage="")


def test_a_ttl_of_zero_disables_caching(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_get(stubber, "a", "ttl0-a")
    expect_get(stubber, "a", "ttl0-a")
    secrets = service(client, clock, ttl_s=0)

    secrets.get_secret_string("a")
    secrets.get_secret_string("a")

    assert secrets.stats().api_calls == 2


def test_repr_shows_settings_not_values(stubbed: Stubbed, clock: FakeClock) -> None:
    client, stubber = stubbed
    expect_get(stubber, "a", VALUE)
    secrets = service(client, clock)
    secrets.get_secret_string("a")

    assert VALUE not in repr(secrets)
    assert VALUE not in repr(secrets._entries["a"])


def test_a_binary_only_secret_is_a_format_error_naming_secret_string(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    client, stubber = stubbed
    response = get_response("bin", VALUE)
    del response["SecretString"]
    response["SecretBinary"] = b"\x00\x01"
    stubber.add_response("get_secret_value", response)

    with pytest.raises(SecretFormatError) as caught:
        service(client, clock).get_secret_string("bin")

    assert caught.value.field == "SecretString"


@pytest.mark.parametrize(
    "options",
    [
        {"jitter_ratio": "x"},
        {"jitter_ratio": 1},
        {"jitter_ratio": float("nan")},
        {"stale_retry_s": "5"},
        {"stale_retry_s": -1},
        {"ttl_s": "60"},
        {"max_entries": True},
        {"metrics": "not-callable"},
        {"clock": None},
        {"sleep": 5},
        {"random": "r"},
    ],
    ids=lambda options: f"{next(iter(options))}={next(iter(options.values()))!r}",
)
def test_a_bad_service_option_is_a_config_error_naming_it(options: dict[str, object]) -> None:
    name = next(iter(options))

    with pytest.raises(SecretConfigError, match=name):
        SecretService(None, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("client", ["secretsmanager", object()], ids=["a string", "an object"])
def test_something_other_than_a_secrets_manager_client_is_refused_at_once(client: object) -> None:
    # Given a value that is not a Secrets Manager client (e.g. the service name)
    # When the service is made, Then the mistake is named then, not as an
    # AttributeError from botocore's internals at the first read
    with pytest.raises(SecretConfigError, match=r"client must be a boto3 Secrets Manager client"):
        SecretService(client)  # type: ignore[arg-type]
