"""Typed secrets: validation names the field, and no value ever shows."""

from __future__ import annotations

import json

import pytest

from secret_service import (
    DatabaseCredentials,
    ExternalApiCredentials,
    ExternalApis,
    JwtConfig,
    SecretConfigError,
    SecretFormatError,
)

PASSWORD = "pw-Unit-7f3a!#%"
KEY = "k" * 64


def db_secret(**overrides: object) -> str:
    doc: dict[str, object] = {
        "engine": "mysql",
        "host": "db.example.internal",
        "port": 3306,
        "username": "app",
        "password": PASSWORD,
        "dbname": "app",
    }
    doc.update(overrides)
    return json.dumps({k: v for k, v in doc.items() if v is not None})


def test_database_credentials_parse_the_rds_format() -> None:
    creds = DatabaseCredentials.from_secret_string(db_secret(dbClusterIdentifier="c1"))

    assert (creds.host, creds.port, creds.username, creds.dbname) == (
        "db.example.internal",
        3306,
        "app",
        "app",
    )
    assert creds.ssl is True
    assert creds.db_cluster_identifier == "c1"


def test_database_credentials_repr_hides_the_password() -> None:
    creds = DatabaseCredentials.from_secret_string(db_secret())

    assert PASSWORD not in repr(creds)
    assert PASSWORD not in str(creds)


@pytest.mark.parametrize("missing", ["host", "username", "password"])
def test_a_missing_field_is_named_and_no_value_echoed(missing: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        DatabaseCredentials.from_secret_string(db_secret(**{missing: None}), secret_id="s1")

    assert caught.value.field == missing
    assert f"'{missing}'" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("port", "abc"), ("port", 70000), ("port", True), ("ssl", 3), ("engine", "postgres"),
     ("username", 42), ("password", ["x"])],
)  # fmt: skip
def test_a_wrong_typed_field_is_named(field: str, value: object) -> None:
    with pytest.raises(SecretFormatError) as caught:
        DatabaseCredentials.from_secret_string(db_secret(**{field: value}))

    assert caught.value.field == field
    assert PASSWORD not in str(caught.value)


def test_invalid_json_error_does_not_quote_the_value() -> None:
    with pytest.raises(SecretFormatError) as caught:
        DatabaseCredentials.from_secret_string('{"password": "' + PASSWORD + '", oops}')

    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None  # the decoder's message may quote the document


def test_json_nested_too_deep_is_a_format_error_not_a_recursion_error() -> None:
    # Given a value that is valid JSON but nested deeper than the decoder can go
    too_deep = "[" * 30_000 + "]" * 30_000

    # When / Then
    with pytest.raises(SecretFormatError, match="store a JSON object") as caught:
        DatabaseCredentials.from_secret_string(too_deep)
    assert caught.value.__cause__ is None


def test_json_the_decoder_reads_but_nested_too_deep_to_copy_is_a_format_error() -> None:
    # Given a JSON object the decoder accepts, with a field nested 2,000 levels deep
    deep = '{"host": "db", "username": "u", "password": "p", "x": ' + "[" * 2_000 + "]" * 2_000
    deep += "}"

    # When / Then: a typed error naming the depth limit, not a RecursionError from the copy
    with pytest.raises(SecretFormatError, match="nested more than 100 levels"):
        DatabaseCredentials.from_secret_string(deep)


@pytest.mark.parametrize(
    ("value", "json_type"),
    [("null", "null"), ("[]", "array"), ('"x"', "string"), ("3", "number"), ("true", "boolean")],
)
def test_a_json_value_that_is_not_an_object_is_named_by_its_json_type(
    value: str, json_type: str
) -> None:
    with pytest.raises(SecretFormatError, match=f"not a JSON {json_type}$"):
        DatabaseCredentials.from_secret_string(value)


def test_unknown_keys_survive_a_round_trip() -> None:
    creds = DatabaseCredentials.from_secret_string(db_secret(proxy="rds-proxy-1"))

    assert creds.to_secret_dict()["proxy"] == "rds-proxy-1"
    assert DatabaseCredentials.from_mapping(creds.to_secret_dict()) == creds


def test_only_an_explicit_false_turns_tls_off() -> None:
    assert DatabaseCredentials.from_secret_string(db_secret(ssl=False)).ssl is False
    assert DatabaseCredentials.from_secret_string(db_secret(ssl="false")).ssl is False
    assert DatabaseCredentials.from_secret_string(db_secret()).ssl is True


def test_jwt_config_parses_and_hides_the_key() -> None:
    config = JwtConfig.from_secret_string(json.dumps({"signingKey": KEY, "issuer": "app"}))

    assert (config.algorithm, config.issuer, config.expires_in_s) == ("HS256", "app", 3600)
    assert KEY not in repr(config)


def test_jwt_config_refuses_a_short_key_without_showing_it() -> None:
    with pytest.raises(SecretFormatError) as caught:
        JwtConfig.from_secret_string(json.dumps({"signingKey": "short-key"}))

    assert caught.value.field == "signingKey"
    assert "short-key" not in str(caught.value)


API_KEY = "ext-api-key-4d2b9"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"provider": "bedrock", "apiKey": API_KEY}, "region"),
        ({"provider": "bedrock", "region": "us-east-1"}, "apiKey"),
        ({"provider": "ses", "username": "AKIA1", "region": "eu-west-1"}, "password"),
        ({"provider": "stripe"}, "apiKey"),
        ({"provider": "stripe", "password": API_KEY}, "username"),
        ({"provider": "Stripe!", "apiKey": API_KEY}, "provider"),
        ({"apiKey": API_KEY}, "provider"),
    ],
)
def test_external_api_secret_errors_name_the_field(document: dict[str, str], field: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        ExternalApiCredentials.from_secret_string(json.dumps(document), secret_id="ext")

    assert caught.value.field == field
    assert API_KEY not in str(caught.value)


def test_external_api_credentials_round_trip_and_hide_secrets() -> None:
    document = {"provider": "sendgrid", "apiKey": API_KEY, "endpoint": "https://x", "team": "a"}

    creds = ExternalApiCredentials.from_secret_string(json.dumps(document))

    assert creds.to_secret_dict() == document
    assert API_KEY not in repr(creds)
    assert creds.with_changes(api_key="new").api_key == "new"


def test_external_apis_round_trip_by_name() -> None:
    document = {
        "bedrock": {"provider": "bedrock", "apiKey": API_KEY, "region": "us-east-1"},
        "crm": {"provider": "salesforce", "username": "u", "password": "p", "tenant": "t"},
    }

    apis = ExternalApis.from_secret_string(json.dumps(document), secret_id="ext")

    assert apis.names == ("bedrock", "crm")
    assert apis["crm"].provider == "salesforce"
    assert apis.to_secret_dict() == document
    assert API_KEY not in repr(apis)


def test_a_missing_api_by_name_is_a_format_error_naming_the_secret_and_its_entries() -> None:
    # Given a secret holding Bedrock and SES entries
    document = {
        "bedrock": {"apiKey": API_KEY, "region": "us-east-1"},
        "ses": {"username": "u", "password": "p", "region": "eu-west-1"},
    }
    apis = ExternalApis.from_secret_string(json.dumps(document), secret_id="ext")

    # When the application asks for an entry it does not hold
    # Then the typed error names the secret, the entry and what the secret has
    with pytest.raises(SecretFormatError) as caught:
        apis["stripe"]
    assert caught.value.field == "stripe"
    assert caught.value.secret_id == "ext"
    assert str(caught.value) == (
        "external API secret ext has no 'stripe' entry (it has: bedrock, ses); add it to the secret"
    )
    # And membership is answered without raising, whatever is asked
    assert "ses" in apis
    assert "stripe" not in apis
    assert ["ses"] not in apis
    # And a name that is not a string is a typed error, not an 'unhashable type' TypeError
    with pytest.raises(SecretConfigError, match="by its name, a string"):
        apis[["ses"]]  # type: ignore[index]


def test_a_flat_document_is_one_api_named_after_its_provider() -> None:
    apis = ExternalApis.from_secret_string(json.dumps({"provider": "stripe", "apiKey": API_KEY}))

    assert apis.select(None).provider == "stripe"
    assert apis.names == ("stripe",)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"ses": "not-an-object"}, "ses"),
        ({}, None),
        ({"bedrock": {"region": "r"}}, "bedrock.apiKey"),
    ],
)
def test_external_apis_errors_name_the_entry(
    document: dict[str, object], field: str | None
) -> None:
    with pytest.raises(SecretFormatError) as caught:
        ExternalApis.from_secret_string(json.dumps(document), secret_id="ext")

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        (" db.example.internal", "contains whitespace"),
        ("db.example.internal\n", "contains whitespace"),
        ("mysql://db.example.internal", "contains a scheme or path"),
        ("db.example.internal/app", "contains a scheme or path"),
        ("db.example.internal:3306", "contains a ':port' suffix"),
    ],
)
def test_a_host_that_is_not_a_bare_endpoint_name_is_refused_at_read_time(
    host: str, problem: str
) -> None:
    with pytest.raises(SecretFormatError, match=rf"field 'host' {problem}") as caught:
        DatabaseCredentials.from_secret_string(db_secret(host=host), secret_id="db")

    assert caught.value.field == "host"


@pytest.mark.parametrize(
    "host", ["10.0.0.5", "::1", "fd00::12", "db-1.cluster-x.rds.amazonaws.com"]
)
def test_ip_addresses_and_dns_names_are_accepted_as_hosts(host: str) -> None:
    assert DatabaseCredentials.from_secret_string(db_secret(host=host)).host == host


def test_a_password_with_a_lone_surrogate_escape_is_a_format_error_not_a_unicode_crash() -> None:
    # Given a secret whose JSON holds "\ud800" (valid JSON, not encodable as UTF-8)
    document = db_secret(password="pw-\ud800-Tail-91")

    # When / Then: refused at read time, naming the field, not at connect as UnicodeEncodeError
    with pytest.raises(SecretFormatError, match="'password' is not valid Unicode") as caught:
        DatabaseCredentials.from_secret_string(document, secret_id="db")
    assert caught.value.field == "password"
    assert "Tail-91" not in str(caught.value)


def test_an_empty_string_field_is_called_empty_not_a_wrong_type() -> None:
    with pytest.raises(
        SecretFormatError, match=r"'username' must be a non-empty string \(found an empty string\)"
    ):
        DatabaseCredentials.from_secret_string(db_secret(username=""))


@pytest.mark.parametrize(
    ("field", "value", "json_type"),
    [("ssl", None, "null"), ("port", 3306.5, "number"), ("username", ["app"], "array")],
)
def test_a_field_of_the_wrong_type_is_named_by_its_json_type(
    field: str, value: object, json_type: str
) -> None:
    # A secret is JSON: the message says what the operator sees there, not Python's name
    document = {**json.loads(db_secret()), field: value}
    with pytest.raises(SecretFormatError, match=rf"\(found {json_type}\)$"):
        DatabaseCredentials.from_secret_string(json.dumps(document))
