"""Typed getters against moto: the product's three secrets, and JWT keys across a rotation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from tests.unit.secret_layer.support import create_secret, get_response, put_value

from secret_service import (
    DatabaseCredentials,
    ExternalApiCredentials,
    SecretConfigError,
    SecretFormatError,
    SecretService,
)

if TYPE_CHECKING:
    from botocore.stub import Stubber
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.logcheck import LineCapture
    from tests.unit.secret_layer.support import FakeClock

    Stubbed = tuple[SecretsManagerClient, Stubber]

DB_PASSWORD = "typed-db-Pw-0a9c!"
KEY_V1 = "jwt-key-v1-" + "a" * 40
KEY_V2 = "jwt-key-v2-" + "b" * 40
KEY_V3 = "jwt-key-v3-" + "c" * 40


def jwt_doc(key: str) -> str:
    return json.dumps({"signingKey": key})


DB_SECRET = {
    "engine": "mysql",
    "host": "db.cluster.internal",
    "port": 3306,
    "username": "app",
    "password": DB_PASSWORD,
    "dbname": "app",
}


def test_database_credentials_parse_the_rds_format_and_hide_the_password(
    sm: SecretsManagerClient,
) -> None:
    create_secret(sm, "app/db", json.dumps(DB_SECRET))

    creds = SecretService(sm).get_database_credentials("app/db")

    assert (creds.host, creds.port, creds.username, creds.dbname, creds.ssl) == (
        "db.cluster.internal",
        3306,
        "app",
        "app",
        True,
    )
    assert DB_PASSWORD not in repr(creds)


def test_a_typed_value_is_parsed_once_per_version(sm: SecretsManagerClient) -> None:
    create_secret(sm, "app/db", json.dumps(DB_SECRET))
    secrets = SecretService(sm)

    first = secrets.get_database_credentials("app/db")
    second = secrets.get_database_credentials("app/db")

    assert first is second  # frozen, so sharing it is safe
    assert isinstance(first, DatabaseCredentials)


def test_a_missing_field_is_named_without_the_value(sm: SecretsManagerClient) -> None:
    create_secret(sm, "app/db", json.dumps({k: v for k, v in DB_SECRET.items() if k != "host"}))

    with pytest.raises(SecretFormatError) as caught:
        SecretService(sm).get_database_credentials("app/db")

    assert caught.value.field == "host"
    assert "app/db" in str(caught.value)
    assert DB_PASSWORD not in str(caught.value)


def test_a_non_json_secret_is_a_format_error_for_typed_and_json_reads(
    sm: SecretsManagerClient,
) -> None:
    create_secret(sm, "plain", "not-json-typed-7e")
    secrets = SecretService(sm)

    with pytest.raises(SecretFormatError, match="not valid JSON"):
        secrets.get_secret_json("plain")
    with pytest.raises(SecretFormatError):
        secrets.get_jwt_config("plain")
    assert secrets.get_secret_string("plain") == "not-json-typed-7e"


def test_jwt_verification_keys_hold_current_then_previous_after_a_rotation(
    sm: SecretsManagerClient,
) -> None:
    # Given a JWT secret rotated once (v1 -> v2)
    create_secret(sm, "app/jwt", json.dumps({"signingKey": KEY_V1, "issuer": "app"}))
    put_value(sm, "app/jwt", json.dumps({"signingKey": KEY_V2, "issuer": "app"}))
    secrets = SecretService(sm)

    # When the verification keys are asked for
    keys = secrets.get_jwt_verification_keys("app/jwt")

    # Then the new key signs, and a token signed with the old one still verifies
    assert [k.signing_key for k in keys] == [KEY_V2, KEY_V1]
    assert secrets.get_jwt_config("app/jwt").signing_key == KEY_V2


def test_jwt_verification_keys_without_a_previous_version_cost_no_extra_calls(
    sm: SecretsManagerClient,
) -> None:
    # Given a JWT secret never rotated (no AWSPREVIOUS)
    create_secret(sm, "app/jwt", json.dumps({"signingKey": KEY_V1}))
    secrets = SecretService(sm)

    # When the keys are asked for on every request
    first = secrets.get_jwt_verification_keys("app/jwt")
    for _ in range(10):
        secrets.get_jwt_verification_keys("app/jwt")

    # Then there is one key, and the missing AWSPREVIOUS was asked for only once
    assert [k.signing_key for k in first] == [KEY_V1]
    assert secrets.stats().api_calls == 2


def test_a_missing_previous_jwt_version_is_not_counted_as_an_error(
    sm: SecretsManagerClient,
) -> None:
    # Given a JWT secret never rotated, and a metrics hook
    create_secret(sm, "app/jwt", json.dumps({"signingKey": KEY_V1}))
    events: list[str] = []
    secrets = SecretService(sm, metrics=lambda event, secret_id, value: events.append(event))

    # When its verification keys are read (AWSPREVIOUS is looked for and not found)
    secrets.get_jwt_verification_keys("app/jwt")

    # Then nothing failed from the caller's point of view
    assert secrets.stats().errors == 0
    assert "error" not in events


def test_verification_keys_never_mix_generations_after_a_second_rotation(
    sm: SecretsManagerClient, clock: FakeClock
) -> None:
    # Given AWSCURRENT cached at t=0 and the key pair first asked for at t=30
    create_secret(sm, "app/jwt", json.dumps({"signingKey": KEY_V1}))
    put_value(sm, "app/jwt", json.dumps({"signingKey": KEY_V2}))
    secrets = SecretService(sm, ttl_s=60, clock=clock, random=lambda: 0.0)
    secrets.get_jwt_config("app/jwt")
    clock.advance(30)
    assert [k.signing_key for k in secrets.get_jwt_verification_keys("app/jwt")] == [
        KEY_V2,
        KEY_V1,
    ]

    # When the secret rotates again and AWSCURRENT's TTL (not yet AWSPREVIOUS's) passes
    put_value(sm, "app/jwt", json.dumps({"signingKey": KEY_V3}))
    clock.advance(31)
    keys = secrets.get_jwt_verification_keys("app/jwt")

    # Then the pair is the new current and the key it replaced, not the one before
    assert [k.signing_key for k in keys] == [KEY_V3, KEY_V2]


def test_a_malformed_previous_jwt_version_is_ignored(sm: SecretsManagerClient) -> None:
    create_secret(sm, "app/jwt", json.dumps({"signingKey": "too-short-prev"}))
    put_value(sm, "app/jwt", json.dumps({"signingKey": KEY_V2}))

    keys = SecretService(sm).get_jwt_verification_keys("app/jwt")

    assert [k.signing_key for k in keys] == [KEY_V2]


def test_jwt_verification_keys_take_no_cache_slot_for_the_previous_version(
    sm: SecretsManagerClient,
) -> None:
    # Given a cache of two entries holding the app's database secret, and a rotated JWT
    create_secret(sm, "app/db", json.dumps(DB_SECRET))
    create_secret(sm, "app/jwt", jwt_doc(KEY_V1))
    put_value(sm, "app/jwt", jwt_doc(KEY_V2))
    secrets = SecretService(sm, max_entries=2)
    secrets.get_database_credentials("app/db")

    # When the JWT keys are read (AWSCURRENT, then AWSPREVIOUS from the API)
    keys = secrets.get_jwt_verification_keys("app/jwt")
    calls = secrets.stats().api_calls

    # Then both keys came, nothing was evicted, and both secrets stay cache hits
    assert [k.signing_key for k in keys] == [KEY_V2, KEY_V1]
    secrets.get_database_credentials("app/db")
    secrets.get_jwt_verification_keys("app/jwt")
    assert secrets.stats().api_calls == calls
    assert secrets.stats().evictions == 0


def test_a_throttled_previous_jwt_version_leaves_the_current_key_usable(
    stubbed: Stubbed, clock: FakeClock, layer_logs: LineCapture
) -> None:
    # Given AWSCURRENT readable and AWSPREVIOUS throttled on every attempt
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("app/jwt", jwt_doc(KEY_V2)))
    stubber.add_client_error("get_secret_value", "ThrottlingException", "slow", 400)
    secrets = SecretService(client, clock=clock, sleep=clock.sleep, max_attempts=1, stale_retry_s=5)

    # When the verification keys are asked for
    keys = secrets.get_jwt_verification_keys("app/jwt")

    # Then the current key is returned (tokens it signed verify), with one warning
    assert [k.signing_key for k in keys] == [KEY_V2]
    assert sum("previous JWT version unavailable" in line for line in layer_logs.lines) == 1


def test_after_a_throttled_previous_jwt_version_it_is_asked_again_later(
    stubbed: Stubbed, clock: FakeClock
) -> None:
    # Given AWSPREVIOUS throttled once, then readable
    client, stubber = stubbed
    stubber.add_response("get_secret_value", get_response("app/jwt", jwt_doc(KEY_V2)))
    stubber.add_client_error("get_secret_value", "ThrottlingException", "slow", 400)
    stubber.add_response("get_secret_value", get_response("app/jwt", jwt_doc(KEY_V1)))
    secrets = SecretService(client, clock=clock, sleep=clock.sleep, max_attempts=1, stale_retry_s=5)
    secrets.get_jwt_verification_keys("app/jwt")

    # When asked again within stale_retry_s, then after it
    within = secrets.get_jwt_verification_keys("app/jwt")
    clock.advance(5.1)
    after = secrets.get_jwt_verification_keys("app/jwt")

    # Then no call is made within it, and the previous key is back after it
    assert [k.signing_key for k in within] == [KEY_V2]
    assert [k.signing_key for k in after] == [KEY_V2, KEY_V1]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"provider": "bedrock", "apiKey": "bedrock-key-typed-1", "region": "us-east-1"},
            ("bedrock", "us-east-1", None),
        ),
        (
            {
                "provider": "ses",
                "username": "AKIAEXAMPLESMTP",
                "password": "ses-smtp-typed-2",
                "region": "eu-west-1",
            },
            ("ses", "eu-west-1", "AKIAEXAMPLESMTP"),
        ),
        (
            {"provider": "stripe", "apiKey": "sk-typed-3", "endpoint": "https://api.stripe.com"},
            ("stripe", None, None),
        ),
    ],
)
def test_external_api_credentials_by_provider(
    sm: SecretsManagerClient, document: dict[str, str], expected: tuple[str | None, ...]
) -> None:
    create_secret(sm, "app/ext", json.dumps(document))

    creds = SecretService(sm).get_external_api_credentials("app/ext")

    assert isinstance(creds, ExternalApiCredentials)
    assert (creds.provider, creds.region, creds.username) == expected
    for secret in (document.get("apiKey"), document.get("password")):
        if secret:
            assert secret not in repr(creds)


TEMPLATE_SHAPE = {  # what template.yaml stores, filled in after deployment
    "bedrock": {"provider": "bedrock", "apiKey": "bedrock-key-named-4", "region": "us-east-1"},
    "ses": {
        "provider": "ses",
        "username": "AKIAEXAMPLESMTP",
        "password": "ses-smtp-named-5",
        "region": "us-east-1",
    },
    "stripe": {"apiKey": "sk-named-6"},
}


def test_one_secret_holding_several_apis_is_read_by_name(sm: SecretsManagerClient) -> None:
    create_secret(sm, "app/external-apis", json.dumps(TEMPLATE_SHAPE))
    secrets = SecretService(sm)

    bedrock = secrets.get_external_api_credentials("app/external-apis", name="bedrock")
    ses = secrets.get_external_api_credentials("app/external-apis", name="ses")
    stripe = secrets.get_external_api_credentials("app/external-apis", name="stripe")

    assert (bedrock.api_key, bedrock.region) == ("bedrock-key-named-4", "us-east-1")
    assert (ses.username, ses.password) == ("AKIAEXAMPLESMTP", "ses-smtp-named-5")
    assert stripe.provider == "stripe"  # the provider defaults to the entry's name
    assert secrets.get_external_apis("app/external-apis").names == ("bedrock", "ses", "stripe")
    assert secrets.stats().api_calls == 1


def test_several_apis_without_a_name_is_an_error_listing_them(sm: SecretsManagerClient) -> None:
    create_secret(sm, "app/external-apis", json.dumps(TEMPLATE_SHAPE))

    with pytest.raises(SecretFormatError, match=r"holds 3 APIs \(bedrock, ses, stripe\)"):
        SecretService(sm).get_external_api_credentials("app/external-apis")


def test_an_unknown_api_name_is_named(sm: SecretsManagerClient) -> None:
    create_secret(sm, "app/external-apis", json.dumps(TEMPLATE_SHAPE))

    with pytest.raises(SecretFormatError) as caught:
        SecretService(sm).get_external_api_credentials("app/external-apis", name="sendgrid")

    assert caught.value.field == "sendgrid"


def test_an_unfilled_entry_names_the_entry_and_field(sm: SecretsManagerClient) -> None:
    # Given the template's placeholder, before the values are filled in
    unfilled = {"ses": {"provider": "ses", "username": "", "password": "", "region": "r"}}
    create_secret(sm, "app/external-apis", json.dumps(unfilled))

    with pytest.raises(SecretFormatError) as caught:
        SecretService(sm).get_external_apis("app/external-apis")

    assert caught.value.field == "ses.username"
    assert "entry 'ses'" in str(caught.value)


NESTED_DB_SECRET = {
    **DB_SECRET,
    "options": {"pool": {"size": 5}, "replicas": ["r1.internal"]},
    "tags": ["blue"],
}
STORED_BACK = {**NESTED_DB_SECRET, "ssl": True}  # to_secret_dict writes the TLS default


def test_a_shared_typed_value_cannot_be_changed_at_any_depth(sm: SecretsManagerClient) -> None:
    # Given credentials whose unknown keys hold nested objects and lists
    create_secret(sm, "app/db", json.dumps(NESTED_DB_SECRET))
    secrets = SecretService(sm)
    creds = secrets.get_database_credentials("app/db")

    # When a caller tries to change the shared object's nested values, Then it cannot
    with pytest.raises(TypeError):
        creds.extra["options"]["pool"]["size"] = 99
    with pytest.raises(AttributeError, match="append"):
        creds.extra["options"]["replicas"].append("evil.internal")
    with pytest.raises(AttributeError, match="append"):
        creds.extra["tags"].append("red")

    # And the next caller still reads the stored document
    assert secrets.get_database_credentials("app/db").to_secret_dict() == STORED_BACK


def test_to_secret_dict_gives_a_document_the_caller_owns(sm: SecretsManagerClient) -> None:
    # Given a cached typed value with nested unknown keys
    create_secret(sm, "app/db", json.dumps(NESTED_DB_SECRET))
    secrets = SecretService(sm)

    # When a caller changes what to_secret_dict returned, at every level
    document = secrets.get_database_credentials("app/db").to_secret_dict()
    document["options"]["pool"]["size"] = 99
    document["options"]["replicas"].append("evil.internal")
    document["tags"].clear()

    # Then neither the typed value nor the JSON view changed, and the copy is plain JSON
    assert secrets.get_database_credentials("app/db").to_secret_dict() == STORED_BACK
    assert secrets.get_secret_json("app/db") == NESTED_DB_SECRET
    assert json.loads(json.dumps(document))["options"]["pool"]["size"] == 99
    assert secrets.stats().api_calls == 1


def test_nested_values_of_an_external_api_entry_cannot_be_changed(
    sm: SecretsManagerClient,
) -> None:
    document = {"stripe": {"apiKey": "typed-stripe-key-4", "scopes": ["charges"]}}
    create_secret(sm, "ext", json.dumps(document))
    secrets = SecretService(sm)

    stripe = secrets.get_external_api_credentials("ext", name="stripe")
    with pytest.raises(AttributeError, match="append"):
        stripe.extra["scopes"].append("refunds")
    stripe.to_secret_dict()["scopes"].append("refunds")

    assert secrets.get_external_apis("ext").to_secret_dict() == {
        "stripe": {"provider": "stripe", **document["stripe"]}
    }


def test_one_api_is_read_while_another_entry_is_still_unfilled(sm: SecretsManagerClient) -> None:
    # Given the template's shape where only SES was filled in (Bedrock's apiKey still "")
    half_filled = {
        "bedrock": {"provider": "bedrock", "apiKey": "", "region": "us-east-1"},
        "ses": TEMPLATE_SHAPE["ses"],
    }
    create_secret(sm, "app/external-apis", json.dumps(half_filled))
    secrets = SecretService(sm)

    # When the application reads the API it uses
    ses = secrets.get_external_api_credentials("app/external-apis", name="ses")

    # Then it gets it; the unfilled entry fails only where it is asked for
    assert ses.password == "ses-smtp-named-5"
    with pytest.raises(SecretFormatError) as caught:
        secrets.get_external_api_credentials("app/external-apis", name="bedrock")
    assert caught.value.field == "bedrock.apiKey"
    with pytest.raises(SecretFormatError):
        secrets.get_external_apis("app/external-apis")  # validates every entry, as documented


def test_a_name_that_is_not_a_string_is_a_config_error(sm: SecretsManagerClient) -> None:
    create_secret(sm, "app/external-apis", json.dumps(TEMPLATE_SHAPE))

    with pytest.raises(SecretConfigError, match="name must be"):
        SecretService(sm).get_external_api_credentials("app/external-apis", name=3)  # type: ignore[arg-type]
