"""Which secrets are checked, under which name, as which kind."""

from __future__ import annotations

import pytest

from canary_targets import SecretKind, build_targets, kind_of, secret_name_of

PREFIX = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:"


def test_a_full_arn_names_the_secret_without_its_random_suffix() -> None:
    assert secret_name_of(f"{PREFIX}goal-mandala-dev-secret-jwt-AbC123") == (
        "goal-mandala-dev-secret-jwt"
    )


def test_a_name_is_its_own_name() -> None:
    assert secret_name_of("goal-mandala-dev-secret-jwt") == "goal-mandala-dev-secret-jwt"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("goal-mandala-dev-secret-database", SecretKind.DATABASE),
        ("goal-mandala-dev-secret-jwt", SecretKind.JWT),
        ("goal-mandala-dev-secret-external-apis", SecretKind.EXTERNAL_API),
        ("goal-mandala-dev-secret-other", SecretKind.OPAQUE),
        ("database-of-something", SecretKind.OPAQUE),
    ],
)
def test_the_kind_follows_the_name_suffix(name: str, kind: SecretKind) -> None:
    assert kind_of(name) is kind


def test_the_database_secret_id_makes_any_name_a_database_secret() -> None:
    assert kind_of("legacy-db-login", database_secret_name="legacy-db-login") is (
        SecretKind.DATABASE
    )


def test_targets_put_the_database_secret_first_and_check_each_name_once() -> None:
    jwt_arn = f"{PREFIX}goal-mandala-dev-secret-jwt-AbC123"

    targets = build_targets(
        ["goal-mandala-dev-secret-jwt", jwt_arn, "legacy-db-login"],
        database_secret_id="legacy-db-login",
    )

    assert [(t.secret_id, t.name, t.kind) for t in targets] == [
        ("legacy-db-login", "legacy-db-login", SecretKind.DATABASE),
        ("goal-mandala-dev-secret-jwt", "goal-mandala-dev-secret-jwt", SecretKind.JWT),
    ]
