"""Benchmark: one full single-user rotation (four handler invocations) against a baseline.

Both sides use the same throwaway TLS MariaDB (``harness.mariadb.MariaDBServer``) and
the same moto server over HTTP on 127.0.0.1 (``harness.aws.MotoServer``, the function's
client pointed at it through ``SECRETS_MANAGER_ENDPOINT``), measured in one process,
interleaved round by round, reported as medians of 20 rounds:

* **baseline**: what a rotation minimally costs - ``GetSecretValue``,
  ``GetRandomPassword``, ``PutSecretValue``, ``UpdateSecretVersionStage`` with a plain
  boto3 client, and one verified-TLS login that runs ``SET PASSWORD`` (the statement
  MariaDB needs for a user changing its own password);
* **rotation**: ``createSecret``, ``setSecret``, ``testSecret``, ``finishSecret`` through
  ``app.lambda_handler``, with every state check, the pending-login probes, the grant
  and database check of testSecret, the pre-finish login check, logs and EMF metrics.

Each round uses a fresh database user and secret, so no step is a no-op. The calls each
side makes are counted and printed, so the ratio can be read against the work done.
Run it with ``make bench`` or ``.venv/bin/python benchmarks/rotation.py`` from the root.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT, ROOT / "src" / "secret_layer", ROOT / "src" / "rotation"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from harness.aws import MotoServer, offline_environment  # noqa: E402
from harness.mariadb import MariaDBServer  # noqa: E402

if TYPE_CHECKING:
    from types import ModuleType

ROUNDS = 20
WARMUP = 2
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class Counter:
    """Secrets Manager calls (a botocore after-call hook) and database logins."""

    def __init__(self) -> None:
        self.sm_calls = 0
        self.db_logins = 0

    def count_sm(self, **_: Any) -> None:
        self.sm_calls += 1


def make_user(mariadb: MariaDBServer, client: Any) -> tuple[str, str, str]:
    """A fresh database user (REQUIRE SSL) and its secret; returns (arn, user, password)."""
    username = f"bench_{uuid.uuid4().hex[:10]}"
    database = f"benchdb_{uuid.uuid4().hex[:8]}"
    password = "bench-Passw0rd!" + uuid.uuid4().hex[:8]
    mariadb.create_database_user(database=database, username=username, password=password)
    doc = {"engine": "mysql", "host": mariadb.host, "port": mariadb.port, "username": username,
           "password": password, "dbname": database, "ssl": True}  # fmt: skip
    arn = client.create_secret(Name=f"bench-{username}", SecretString=json.dumps(doc))["ARN"]
    return arn, username, password


def baseline_round(mariadb: MariaDBServer, client: Any, counter: Counter) -> float:
    """The minimal rotation: 4 raw calls, 1 verified-TLS login, 1 SET PASSWORD."""
    import pymysql

    from mysql import mysql_native_password_hash

    arn, username, password = make_user(mariadb, client)
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    old = next(v for v, s in stages.items() if "AWSCURRENT" in s)
    token = str(uuid.uuid4())
    started = time.perf_counter()
    value = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    new = client.get_random_password(PasswordLength=32, ExcludeCharacters="/@\"'\\ ")
    doc = json.loads(value["SecretString"]) | {"password": new["RandomPassword"]}
    client.put_secret_value(SecretId=arn, ClientRequestToken=token,
                            SecretString=json.dumps(doc), VersionStages=["AWSPENDING"])  # fmt: skip
    conn = pymysql.connect(host=mariadb.host, port=mariadb.port, user=username, password=password,
                           ssl_ca=mariadb.ca_path, ssl_verify_cert=True,
                           ssl_verify_identity=True)  # fmt: skip
    counter.db_logins += 1
    with conn, conn.cursor() as cur:
        cur.execute("SET PASSWORD = %s", (mysql_native_password_hash(doc["password"]),))
    client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                       MoveToVersionId=token, RemoveFromVersionId=old)  # fmt: skip
    return time.perf_counter() - started


def rotation_round(app: ModuleType, mariadb: MariaDBServer, client: Any) -> list[float]:
    """The four handler invocations; returns each step's duration in seconds."""
    from harness.rotation import begin_rotation, rotation_event

    arn, _username, _password = make_user(mariadb, client)
    token = begin_rotation(client, arn)
    per_step = []
    with contextlib.redirect_stdout(io.StringIO()):  # the function's logs and EMF
        for step in STEPS:
            started = time.perf_counter()
            app.lambda_handler(rotation_event(arn, token, step), None)
            per_step.append(time.perf_counter() - started)
    return per_step


def main() -> None:
    os.environ.update(offline_environment())
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        os.environ.pop(name, None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
    import boto3

    from harness.lambda_runtime import load_handler

    with MariaDBServer() as mariadb, MotoServer() as moto:
        os.environ.update(
            {
                "SECRETS_MANAGER_ENDPOINT": moto.endpoint_url,
                "RDS_CA_BUNDLE": mariadb.ca_path,
                "ROTATION_STRATEGY": "single-user",
                "ENVIRONMENT": "bench",
                "POWERTOOLS_SERVICE_NAME": "rotation-bench",
                "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            }
        )
        app = load_handler("rotation")
        app.install_runtime(None)
        client = boto3.client("secretsmanager", endpoint_url=moto.endpoint_url)

        # Count what the function does: its own client's calls and its logins.
        rt = app.runtime()
        function, base = Counter(), Counter()
        rt.store.client.meta.events.register("after-call.secrets-manager", function.count_sm)
        real_connect = rt.db._connect

        def counted_connect(*args: Any, **kwargs: Any) -> Any:
            function.db_logins += 1
            return real_connect(*args, **kwargs)

        rt.db._connect = counted_connect

        baseline: list[float] = []
        steps: list[list[float]] = []
        for index in range(WARMUP + ROUNDS):
            b = baseline_round(mariadb, client, base)
            per_step = rotation_round(app, mariadb, client)
            if index >= WARMUP:
                baseline.append(b)
                steps.append(per_step)
        rotation = [sum(s) for s in steps]
        rounds = WARMUP + ROUNDS
        base_ms = statistics.median(baseline) * 1000
        rot_ms = statistics.median(rotation) * 1000
        print(f"rotation benchmark: median of {ROUNDS} rounds ({WARMUP} warm-up rounds dropped),")
        print("  MariaDB over verified TLS and moto over HTTP, both on 127.0.0.1")
        print(f"  baseline  4 raw boto3 calls + 1 TLS login + SET PASSWORD : {base_ms:8.2f} ms")
        print(f"  rotation  4 handler invocations (all checks, logs, EMF)  : {rot_ms:8.2f} ms")
        print(f"  ratio rotation / baseline: {rot_ms / base_ms:.2f}x")
        for position, step in enumerate(STEPS):
            median_ms = statistics.median(s[position] for s in steps) * 1000
            print(f"    {step:<13} {median_ms:7.2f} ms")
        print(
            f"  work per rotation: {function.sm_calls / rounds:.0f} Secrets Manager calls and "
            f"{function.db_logins / rounds:.0f} database logins (baseline: 4 calls, "
            f"{base.db_logins / rounds:.0f} login)"
        )
        deciles = statistics.quantiles(rotation, n=10)
        print(f"  rotation p10 {deciles[0] * 1000:.2f} ms, p90 {deciles[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
