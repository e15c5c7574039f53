"""``make local``'s pure parts: options, the EMF reader, tables, verdicts, value finding."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from scripts.local_run.config import (
    ADMIN_PASSWORD_VARIABLE,
    APP_NAME_PATTERN,
    DB_HOST_PATTERN,
    LocalConfig,
    LocalConfigError,
)
from scripts.local_run.console import Console, format_table
from scripts.local_run.flow import StepOutcome, _emf_metrics
from scripts.local_run.world import _fill_placeholders, _secret_leaves

from harness.secret_checks import assert_no_secret_in, assert_same_secret

if TYPE_CHECKING:
    from pathlib import Path


def test_defaults_start_a_throwaway_database_with_single_user() -> None:
    # When
    config = LocalConfig.from_args([], environ={})
    # Then
    assert (config.db_host, config.strategy, config.environment) == (None, "single-user", "dev")


def test_your_mysql_takes_the_password_from_the_environment_only(tmp_path: Path) -> None:
    # Given
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    # When
    config = LocalConfig.from_args(
        ["--db-host", "db", "--db-port", "3307", "--db-ca", str(ca)],
        environ={ADMIN_PASSWORD_VARIABLE: "from-env-Passw0rd"},
    )
    # Then
    assert (config.db_host, config.db_port, config.db_ca_path) == ("db", 3307, str(ca))
    assert_same_secret(config.db_admin_password, "from-env-Passw0rd", what="db_admin_password")
    assert_no_secret_in([repr(config)], secrets=["from-env-Passw0rd"])


def test_your_mysql_without_the_variable_is_refused() -> None:
    # When / Then
    with pytest.raises(LocalConfigError, match=ADMIN_PASSWORD_VARIABLE):
        LocalConfig.from_args(["--db-host", "db"], environ={})


def test_a_missing_ca_file_is_refused(tmp_path: Path) -> None:
    # When / Then
    with pytest.raises(LocalConfigError, match="no such file"):
        LocalConfig.from_args(
            ["--db-host", "db", "--db-ca", str(tmp_path / "absent.pem")],
            environ={ADMIN_PASSWORD_VARIABLE: "x"},
        )


def test_a_directory_given_as_the_ca_is_called_a_directory(tmp_path: Path) -> None:
    # When / Then: the message says what it is, not that it does not exist
    with pytest.raises(LocalConfigError, match="a directory; give a PEM CA bundle file"):
        LocalConfig.from_args(
            ["--db-host", "db", "--db-ca", str(tmp_path)],
            environ={ADMIN_PASSWORD_VARIABLE: "x"},
        )


@pytest.mark.parametrize("port", ["0", "70000", "abc"])
def test_a_bad_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    # When / Then: exit 2, naming the option and the value
    with pytest.raises(SystemExit) as caught:
        LocalConfig.from_args(["--db-port", port], environ={})
    assert caught.value.code == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert "argument --db-port:" in error
    assert port in error


@pytest.mark.parametrize("app", ["", "My App", "a/b", "x" * 40, "a--b", "app-", "a"])
def test_an_app_name_the_template_refuses_is_a_usage_error(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When / Then: refused up front, naming the pattern, not a KMS alias traceback later
    with pytest.raises(SystemExit) as caught:
        LocalConfig.from_args(["--app", app], environ={})
    assert caught.value.code == 2
    assert APP_NAME_PATTERN in capsys.readouterr().err


def test_the_app_name_pattern_is_the_templates() -> None:
    from scripts.sam_template import load_template

    assert load_template()["Parameters"]["AppName"]["AllowedPattern"] == APP_NAME_PATTERN


@pytest.mark.parametrize(
    "args", [["--db-port", "3307"], ["--db-admin-user", "dba"]], ids=["port", "admin user"]
)
def test_a_db_option_without_db_host_is_refused_not_ignored(args: list[str]) -> None:
    # When / Then: the option would be silently ignored (the throwaway MariaDB is used)
    with pytest.raises(LocalConfigError, match="--db-host"):
        LocalConfig.from_args(args, environ={})


@pytest.mark.parametrize(
    ("host", "advice"),
    [
        ("db.internal:3306", "--db-port"),
        ("mysql://db.internal", "bare host name"),
        ("db.internal/app", "bare host name"),
        (" db.internal", "bare host name"),
        ("", "bare host name"),
        ("::1", "DatabaseHost template.yaml accepts"),
        ("my_db", "DatabaseHost template.yaml accepts"),
    ],
)
def test_a_db_host_that_is_not_a_bare_host_is_a_usage_error(
    host: str, advice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When / Then: refused up front (exit 2) saying what to give, not a DNS failure later
    with pytest.raises(SystemExit) as caught:
        LocalConfig.from_args(["--db-host", host], environ={ADMIN_PASSWORD_VARIABLE: "x"})
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert "argument --db-host:" in error
    assert advice in error


def test_the_db_host_pattern_is_the_templates() -> None:
    from scripts.sam_template import load_template

    assert load_template()["Parameters"]["DatabaseHost"]["AllowedPattern"] == DB_HOST_PATTERN


def test_the_db_defaults_apply_with_db_host() -> None:
    config = LocalConfig.from_args(["--db-host", "db"], environ={ADMIN_PASSWORD_VARIABLE: "x"})
    assert (config.db_port, config.db_admin_user) == (3306, "admin")


def test_there_is_no_option_to_pass_a_password(capsys: pytest.CaptureFixture[str]) -> None:
    # When / Then: argparse refuses the option itself (exit 2), not some later check
    with pytest.raises(SystemExit) as caught:
        LocalConfig.from_args(["--db-admin-password", "x"], environ={})
    assert caught.value.code == 2
    assert "unrecognized arguments: --db-admin-password" in capsys.readouterr().err


def test_emf_documents_become_metrics_per_secret() -> None:
    # Given two EMF lines and a log line, as the canary prints them
    emf = {
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [
                {
                    "Namespace": "app/Secrets",
                    "Dimensions": [["Environment", "SecretName"]],
                    "Metrics": [{"Name": "RetrievalSuccess"}, {"Name": "RetrievalLatency"}],
                }
            ],
        },
        "Environment": "dev",
        "SecretName": "s1",
        "RetrievalSuccess": [1.0],
        "RetrievalLatency": 7.5,
    }
    output = '{"level":"INFO","message":"secret checked"}\n' + json.dumps(emf) + "\n"
    # When
    metrics = _emf_metrics(output)
    # Then
    assert metrics == {"s1": {"RetrievalSuccess": 1.0, "RetrievalLatency": 7.5}}


def test_a_step_holds_only_when_every_check_holds() -> None:
    # Given
    held = StepOutcome(1, "a", checks=[("x", True), ("y", True)])
    failed = StepOutcome(2, "b", checks=[("x", True), ("y", False)])
    errored = StepOutcome(3, "c", error="RuntimeError: boom")
    skipped = StepOutcome(4, "d", skipped="not here")
    # Then
    assert [o.status for o in (held, failed, errored, skipped)] == ["PASS", "FAIL", "FAIL", "SKIP"]
    assert skipped.held


def test_tables_align_and_show_missing_values_as_dashes() -> None:
    # When
    lines = format_table(("a", "bb"), [(1.0, None), (2.5, True)])
    # Then
    assert lines == ["a    bb", "---  ---", "1    -", "2.5  yes"]


def test_the_console_keeps_a_transcript(capsys: pytest.CaptureFixture[str]) -> None:
    # Given
    console = Console()
    # When
    console.setup("aws", "moto")
    console.check("works", held=False)
    # Then
    assert capsys.readouterr().out.splitlines() == console.transcript
    assert console.transcript[1].strip().startswith("FAIL works")


def test_empty_template_fields_get_random_placeholders() -> None:
    # Given the template's external API document
    document = {"bedrock": {"apiKey": "", "region": "r"}, "ses": {"username": "", "password": ""}}
    # When
    filled = _fill_placeholders(document)
    # Then
    assert filled == 3
    assert document["bedrock"]["apiKey"].startswith("local-apiKey-")
    assert document["bedrock"]["region"] == "r"


def test_secret_values_are_found_at_any_depth() -> None:
    # When
    values = _secret_leaves(
        {"username": "u", "password": "p1", "nested": {"apiKey": "k1", "region": "r"}}
    )
    # Then
    assert values == {"p1", "k1"}
