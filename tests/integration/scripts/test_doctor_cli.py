"""``make doctor`` end to end: the CLI's table, JSON and exit status, in-process and as
the subprocess ``make doctor`` runs, against moto through ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.doctor.cli import main
from scripts.doctor.expectations import from_template
from scripts.sam_template import DeployedTemplate
from tests.integration.scripts.conftest import (
    DOCTOR_TEMPLATE,
    SECRET_STRINGS,
    Environment,
    build,
    expectations_for,
)

from harness.secret_checks import assert_no_secret_in

if TYPE_CHECKING:
    import pytest

    from harness.aws import MotoServer
    from harness.mariadb import MariaDBServer

ROOT = Path(__file__).resolve().parents[3]


def test_a_healthy_environment_prints_a_table_and_exits_0(
    healthy: Environment, capsys: pytest.CaptureFixture[str]
) -> None:
    # When
    status = main(["--env", "prod", "--template", str(DOCTOR_TEMPLATE)])
    # Then
    out = capsys.readouterr().out
    assert status == 0
    assert "CHECK" in out
    assert "RESULT" in out
    assert out.rstrip().splitlines()[-1].startswith("READY:")
    assert_no_secret_in([out], secrets=SECRET_STRINGS)


def test_a_failure_exits_1_and_prints_its_hint(
    healthy: Environment, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given
    healthy.client("kms").disable_key_rotation(KeyId=healthy.key_id)
    # When
    status = main(["--env", "prod", "--template", str(DOCTOR_TEMPLATE)])
    # Then
    out = capsys.readouterr().out
    assert status == 1
    assert "hint: aws kms enable-key-rotation" in out
    assert out.rstrip().splitlines()[-1].startswith("FAILED: ")


def test_json_output_lists_every_check(
    healthy: Environment, capsys: pytest.CaptureFixture[str]
) -> None:
    # When
    status = main(["--env", "prod", "--template", str(DOCTOR_TEMPLATE), "--output", "json"])
    # Then
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert document["ok"] is True
    assert {c["status"] for c in document["checks"]} <= {"PASS", "SKIP"}


def test_an_unreadable_template_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When
    status = main(["--env", "dev", "--template", str(tmp_path / "missing.yaml")])
    # Then
    assert status == 2
    assert "cannot read" in capsys.readouterr().err


def test_an_app_name_the_template_would_refuse_exits_2_before_any_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When the operator mistypes --app (upper case and a space: CloudFormation refuses it)
    status = main(["--env", "prod", "--app", "My App"])
    # Then the doctor says so at once, naming the pattern, instead of finding no resources
    captured = capsys.readouterr()
    assert status == 2
    assert "AppName 'My App' does not match the template's AllowedPattern" in captured.err
    assert captured.out == ""


def test_make_doctor_checks_a_moto_server_through_aws_endpoint_url(
    moto_server: MotoServer, region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an environment deployed on the moto server (unique app: the server is shared)
    app = f"doc{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    build(expectations_for("prod", app_name=app), region=region)
    # When the doctor runs as `make doctor` runs it, in its own process
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.doctor",
            "--env",
            "prod",
            "--app",
            app,
            "--template",
            str(DOCTOR_TEMPLATE),
        ],
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": moto_server.endpoint_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"against {moto_server.endpoint_url}" in result.stdout
    assert f"{app}-prod-secret-database" in result.stdout


def test_an_unreachable_endpoint_fails_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an endpoint nobody listens on
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    # When
    status = main(["--env", "dev", "--template", str(DOCTOR_TEMPLATE)])
    # Then
    out = capsys.readouterr().out
    assert status == 1
    assert "EndpointUnreachable" in out
    assert "AWS_ENDPOINT_URL" in out


def test_the_products_template_yields_the_documented_names() -> None:
    # The doctor reads template.yaml as it is: names follow {app}-{env}-...
    for environment in ("dev", "stg", "prod"):
        expected = from_template(DeployedTemplate.for_environment(environment))
        prefix = f"goal-mandala-{environment}"
        assert expected.stack_name == f"{prefix}-secrets"
        assert expected.key_alias == f"alias/{prefix}-secrets-key"
        assert {s.name for s in expected.secrets} == {
            f"{prefix}-secret-database",
            f"{prefix}-secret-jwt",
            f"{prefix}-secret-external-apis",
        }


def test_the_doctor_reads_what_make_local_created_with_the_products_template(
    mariadb: MariaDBServer,
) -> None:
    # Given make local's world (key and secrets as template.yaml makes them, on a moto
    # server), which has no stack, roles or alarms
    from scripts.doctor.aws_adapter import AwsAdapter
    from scripts.doctor.checks import Status, run_checks
    from scripts.local_run.config import LocalConfig
    from scripts.local_run.world import LocalWorld

    config = LocalConfig(
        db_host=mariadb.host,
        db_port=mariadb.port,
        db_admin_user=mariadb.admin_user,
        db_admin_password=mariadb.admin_password,
        db_ca_path=mariadb.ca_path,
    )
    expected = from_template(DeployedTemplate.for_environment("dev"))
    # When
    with LocalWorld(config=config, progress=lambda *_: None) as world:
        results = run_checks(AwsAdapter(region=world.region), expected)
    # Then the parts that exist pass under the template's names; the rest fail with hints
    verdicts = {(r.check, r.target): r.status for r in results}
    assert verdicts[("kms key", "alias/goal-mandala-dev-secrets-key")] is Status.PASS
    for kind in ("database", "jwt", "external-apis"):
        assert verdicts[(f"secret {kind}", f"goal-mandala-dev-secret-{kind}")] is Status.PASS
    assert verdicts[("stack deployed", "goal-mandala-dev-secrets")] is Status.FAIL
    assert verdicts[("cloudtrail", "-")] is Status.SKIP  # dev has no trail
    assert all(r.hint for r in results if r.failed)


def test_a_malformed_region_fails_with_a_region_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a typo in --region (botocore refuses it before any request is made)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # When
    status = main(
        ["--env", "dev", "--region", "ap northeast 1", "--template", str(DOCTOR_TEMPLATE)]
    )
    # Then the hint names the option (and samconfig.toml, the default), not "AWS answered
    # ..." nor AWS_REGION, which the doctor does not read
    out = capsys.readouterr().out
    assert status == 1
    assert "check --region" in out
    assert "samconfig.toml" in out
    assert "AWS answered" not in out
    assert "AWS_REGION" not in out


def test_an_endpoint_that_does_not_answer_as_aws_fails_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given AWS_ENDPOINT_URL pointing at a web server that answers an HTML error page
    # (a proxy's page, another local service, moto asked for a region it cannot serve)
    import http.server
    import threading

    class HtmlPage(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<!doctype html><title>500 Internal Server Error</title>"
            self.send_response(500)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HtmlPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        # When
        status = main(["--env", "dev", "--template", str(DOCTOR_TEMPLATE)])
    finally:
        server.shutdown()
        server.server_close()
    # Then a failed row with a hint, not a traceback
    out = capsys.readouterr().out
    assert status == 1
    assert "UnparsableResponse" in out
    assert "hint: the endpoint did not answer as AWS" in out


def test_a_proxy_that_does_not_answer_fails_with_a_proxy_hint(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a moto server, and a shell whose proxy settings (dead, on 127.0.0.1) catch it
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    # When
    status = main(["--env", "dev", "--template", str(DOCTOR_TEMPLATE)])
    # Then the hint names the proxy settings and the way around them
    out = capsys.readouterr().out
    assert status == 1
    assert "ProxyConnectionError" in out
    assert "NO_PROXY=127.0.0.1" in out
    assert "AWS answered" not in out


def test_an_endpoint_url_without_a_scheme_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the scheme left out of AWS_ENDPOINT_URL
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:4566")
    # When
    status = main(["--env", "dev", "--template", str(DOCTOR_TEMPLATE)])
    # Then exit 2 before any check, saying what the value should look like
    captured = capsys.readouterr()
    assert status == 2
    assert "AWS_ENDPOINT_URL" in captured.err
    assert "http://127.0.0.1:<port>" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_https_to_a_plain_http_moto_server_fails_with_a_tls_hint(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given https:// in front of a moto server, which speaks plain HTTP
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url.replace("http:", "https:"))
    # When
    status = main(["--env", "dev", "--template", str(DOCTOR_TEMPLATE)])
    # Then
    out = capsys.readouterr().out
    assert status == 1
    assert "SSLError" in out
    assert "http:// for a local moto server" in out
    assert "AWS answered" not in out


def test_a_reader_that_goes_away_ends_the_doctor_quietly(region: str) -> None:
    # Given the doctor checking a dead endpoint on this machine, piped into a reader
    # that has already gone (`make doctor | true`), its stdout block-buffered as in a
    # user's shell (PYTHONUNBUFFERED would hide a write left for the interpreter's exit)
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.doctor", "--env", "dev", "--region", region],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    # When it prints its table, then it ends as SIGPIPE would, without a traceback
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141, err
    assert "Traceback" not in err


def test_ctrl_c_ends_the_doctor_with_130_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Ctrl-C arriving while the checks wait on AWS
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("scripts.doctor.cli.run_checks", interrupted)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    # When
    status = main(["--env", "dev"])
    # Then the shell's status for SIGINT, one line, no traceback
    assert status == 130
    assert capsys.readouterr().err.strip() == "interrupted"
