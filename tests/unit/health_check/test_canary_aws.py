"""The canary's own AWS calls, checked call by call with botocore's Stubber."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from botocore.stub import Stubber

from canary_aws import (
    MAX_DISCOVERED_SECRETS,
    DescribeRotationMetadata,
    discover_secret_ids,
    make_secretsmanager_client,
)
from secret_service.errors import SecretConfigError, SecretNotFoundError, SecretThrottledError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient

ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:"


@pytest.fixture
def client() -> SecretsManagerClient:
    return make_secretsmanager_client(timeout_s=0.75, max_pool_connections=7)


@pytest.fixture
def stub(client: SecretsManagerClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def still_clock() -> float:
    """A clock that never moves: these discoveries never meet their time limit."""
    return 0.0


def test_the_client_times_out_per_call_and_never_retries(client: SecretsManagerClient) -> None:
    config = client.meta.config

    assert (config.connect_timeout, config.read_timeout) == (0.75, 0.75)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.max_pool_connections == 7


def test_rotation_metadata_is_read_from_describe_secret(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    last = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    stub.add_response(
        "describe_secret",
        {
            "Name": "app-dev-secret-database",
            "RotationEnabled": True,
            "LastRotatedDate": last,
            "NextRotationDate": datetime(2026, 12, 20, 3, 0, tzinfo=UTC),
            "CreatedDate": datetime(2026, 1, 1, tzinfo=UTC),
            "RotationRules": {"AutomaticallyAfterDays": 30},
        },
        {"SecretId": "app-dev-secret-database"},
    )

    metadata = DescribeRotationMetadata(client).describe_rotation("app-dev-secret-database")

    assert metadata.enabled is True
    assert metadata.last_rotated == last
    assert metadata.next_rotation == datetime(2026, 12, 20, 3, 0, tzinfo=UTC)
    assert metadata.created == datetime(2026, 1, 1, tzinfo=UTC)
    assert metadata.period_days == 30.0


def test_a_secret_without_rotation_has_no_dates(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    stub.add_response("describe_secret", {"Name": "app-dev-secret-jwt"}, {"SecretId": "x"})

    metadata = DescribeRotationMetadata(client).describe_rotation("x")

    assert (metadata.enabled, metadata.last_rotated, metadata.next_rotation) == (False, None, None)
    assert metadata.period_days is None


def test_a_schedule_without_a_day_count_leaves_the_period_to_the_configuration(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    rules = {"ScheduleExpression": "cron(0 4 ? * SUN *)"}
    stub.add_response(
        "describe_secret",
        {"Name": "app-dev-secret-jwt", "RotationEnabled": True, "RotationRules": rules},
        {"SecretId": "x"},
    )

    assert DescribeRotationMetadata(client).describe_rotation("x").period_days is None


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ResourceNotFoundException", SecretNotFoundError),
        ("ThrottlingException", SecretThrottledError),
    ],
)
def test_describe_errors_are_translated_by_the_layer(
    client: SecretsManagerClient, stub: Stubber, code: str, error: type[Exception]
) -> None:
    stub.add_client_error("describe_secret", service_error_code=code, http_status_code=400)

    with pytest.raises(error) as caught:
        DescribeRotationMetadata(client).describe_rotation("app-dev-secret-jwt")

    assert "app-dev-secret-jwt" in str(caught.value)


def entry(name: str, **tags: str) -> dict[str, object]:
    return {
        "ARN": f"{ARN}{name}-AbC123",
        "Name": name,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }


def test_discovery_filters_by_tag_follows_pages_and_keeps_only_the_exact_pair(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    filters = [
        {"Key": "tag-key", "Values": ["canary"]},
        {"Key": "tag-value", "Values": ["on"]},
    ]
    stub.add_response(
        "list_secrets",
        {
            "SecretList": [entry("a", canary="on"), entry("b", canary="off", other="on")],
            "NextToken": "page-2",
        },
        {"Filters": filters, "MaxResults": 100},
    )
    stub.add_response(
        "list_secrets",
        {"SecretList": [entry("c", canary="on")]},
        {"Filters": filters, "MaxResults": 100, "NextToken": "page-2"},
    )

    found = discover_secret_ids(
        client, tag_key="canary", tag_value="on", time_limit_s=60.0, clock=still_clock
    )

    assert found == [f"{ARN}a-AbC123", f"{ARN}c-AbC123"]


def test_discovery_by_key_alone_takes_any_value(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    stub.add_response(
        "list_secrets",
        {"SecretList": [entry("a", canary="on"), entry("b", canary="")]},
        {"Filters": [{"Key": "tag-key", "Values": ["canary"]}], "MaxResults": 100},
    )

    assert discover_secret_ids(
        client, tag_key="canary", tag_value=None, time_limit_s=60.0, clock=still_clock
    ) == [
        f"{ARN}a-AbC123",
        f"{ARN}b-AbC123",
    ]


def test_a_discovery_failure_is_a_typed_error(client: SecretsManagerClient, stub: Stubber) -> None:
    stub.add_client_error("list_secrets", service_error_code="ThrottlingException")

    with pytest.raises(SecretThrottledError):
        discover_secret_ids(
            client, tag_key="canary", tag_value=None, time_limit_s=60.0, clock=still_clock
        )


def list_page(
    stub: Stubber, page: int, secrets: list[dict[str, object]], *, last: bool = False
) -> None:
    """Stub ListSecrets page ``page`` (0-based) of a discovery by the tag key ``canary``."""
    params: dict[str, object] = {
        "Filters": [{"Key": "tag-key", "Values": ["canary"]}],
        "MaxResults": 100,
    }
    if page:
        params["NextToken"] = f"page-{page}"
    response: dict[str, object] = {"SecretList": secrets}
    if not last:
        response["NextToken"] = f"page-{page + 1}"
    stub.add_response("list_secrets", response, params)


class StepClock:
    """A clock that moves ``step_s`` every time it is read."""

    def __init__(self, step_s: float) -> None:
        self.now = 0.0
        self.step_s = step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


def test_sparse_pages_of_a_large_account_are_followed_to_the_end(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    # Given an account so large that ListSecrets answers a filtered list in 30 pages,
    # most of them empty (the API may, even with more results to come)
    for page in range(29):
        list_page(stub, page, [entry(f"s{page}", canary="on")] if page % 10 == 0 else [])
    list_page(stub, 29, [entry("last", canary="on")], last=True)

    # When the canary discovers its secrets with time to spare
    found = discover_secret_ids(
        client, tag_key="canary", tag_value=None, time_limit_s=60.0, clock=still_clock
    )

    # Then it has every match, not a "more than 1000 secrets match" failure
    assert found == [f"{ARN}{name}-AbC123" for name in ("s0", "s10", "s20", "last")]


def test_more_matches_than_one_run_can_check_fail_instead_of_silently_dropping_secrets(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    # Given full pages of matches, more than MAX_DISCOVERED_SECRETS in all
    pages = MAX_DISCOVERED_SECRETS // 100 + 1
    for page in range(pages):
        list_page(stub, page, [entry(f"s{page}-{i}", canary="on") for i in range(100)])

    # Then discovery refuses to report a partial list, and says how to narrow it
    with pytest.raises(SecretConfigError, match="more than 1000 secrets match") as caught:
        discover_secret_ids(
            client, tag_key="canary", tag_value=None, time_limit_s=60.0, clock=still_clock
        )
    assert "SECRET_TAG_VALUE" in str(caught.value)


def test_discovery_that_outlasts_its_time_limit_fails_saying_how_far_it_got(
    client: SecretsManagerClient, stub: Stubber
) -> None:
    # Given every page says there is another one, and each call takes 1 s
    for page in range(5):
        list_page(stub, page, [entry(f"s{page}", canary="on")])

    # When discovery may take 5 s
    with pytest.raises(SecretConfigError) as caught:
        discover_secret_ids(
            client, tag_key="canary", tag_value=None, time_limit_s=5.0, clock=StepClock(1.0)
        )

    # Then it stops there, and says what it saw, not that too many secrets match
    message = str(caught.value)
    assert "5 pages" in message
    assert "5 secrets match" in message
    assert "more than 1000" not in message
    assert "SECRET_IDS" in message
