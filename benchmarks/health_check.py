"""Benchmark: one canary run over 20 secrets against 20 sequential raw reads.

Both sides talk HTTP to the same moto server on 127.0.0.1 (``harness.aws.MotoServer``),
measured in the same process and interleaved round by round, and reported as medians:

* **baseline**: 20 ``GetSecretValue`` calls, one after another, with a plain boto3 client;
* **canary**: one full handler invocation (``events/health_check.json``): per secret a
  cache-bypassing read through ``secret_service``, format validation, ``DescribeSecret``
  and rotation arithmetic; secrets checked concurrently; EMF + logs + JSON summary.

The canary makes twice the API calls of the baseline (GetSecretValue + DescribeSecret
per secret), so a second baseline does those 40 calls sequentially too. Each scenario
runs twice: at moto's own speed, and with a simulated network round trip per call (a
``before-send`` sleep, as a real endpoint's latency). Run it with
``make bench`` or ``.venv/bin/python benchmarks/health_check.py`` from the repo root.
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT, ROOT / "src" / "secret_layer", ROOT / "src" / "health_check"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from harness.aws import MotoServer, offline_environment  # noqa: E402

if TYPE_CHECKING:
    from types import ModuleType

SECRET_COUNT = 20
ROUNDS = 9
# 0: moto's own speed (in-process, so the GIL serialises server and client threads);
# 10: a typical in-region Secrets Manager round trip, where concurrency pays.
LATENCIES_MS = (0.0, 10.0)
KINDS = ("jwt", "external-apis", "token")


def secret_value(kind: str, index: int) -> str:
    if kind == "jwt":
        return json.dumps({"signingKey": f"bench-signing-key-{index:04d}-" + "x" * 32})
    if kind == "external-apis":
        return json.dumps({"provider": "stripe", "apiKey": f"sk-bench-{index:04d}"})
    return f"opaque-bench-token-{index:04d}"


def main() -> None:
    os.environ.update(offline_environment())
    # The canary refuses the Powertools switches that would silence its metrics.
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "POWERTOOLS_METRICS_DISABLED",
        "POWERTOOLS_DEV",
    ):
        os.environ.pop(name, None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log

    import boto3

    from harness.lambda_runtime import load_handler

    with MotoServer() as server:
        setup = boto3.client("secretsmanager", endpoint_url=server.endpoint_url)
        names = []
        for index in range(SECRET_COUNT):
            kind = KINDS[index % len(KINDS)]
            name = f"bench-{index:02d}-dev-secret-{kind}"
            setup.create_secret(Name=name, SecretString=secret_value(kind, index))
            names.append(name)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": server.endpoint_url,
                "ENVIRONMENT": "bench",
                "POWERTOOLS_METRICS_NAMESPACE": "Bench/SecretsCanary",
                "POWERTOOLS_SERVICE_NAME": "bench-secrets",
                "SECRET_IDS": ",".join(names),
                "PROBE_TIMEOUT_MS": "5000",
            }
        )
        canary = load_handler("health_check")
        print(f"canary health check over {SECRET_COUNT} secrets, moto server on 127.0.0.1")
        print(f"median of {ROUNDS} interleaved rounds, after one warm-up round")
        for latency_ms in LATENCIES_MS:
            measure(canary, names, server.endpoint_url, latency_ms=latency_ms)
        canary.clear_caches()


def measure(canary: ModuleType, names: list[str], endpoint_url: str, *, latency_ms: float) -> None:
    """One scenario: every API call first waits ``latency_ms`` (the network, simulated)."""
    import boto3
    from botocore.config import Config

    from harness.lambda_runtime import FakeLambdaContext

    boto3.setup_default_session()  # a fresh session: its hooks reach every client made now
    if latency_ms:
        assert boto3.DEFAULT_SESSION is not None

        def network(**_: Any) -> None:
            time.sleep(latency_ms / 1000)

        boto3.DEFAULT_SESSION.events.register("before-send.secrets-manager", network)
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    canary.clear_caches()  # the canary makes its client from this session too
    event = json.loads((ROOT / "events" / "health_check.json").read_text())

    def baseline_reads() -> float:
        started = time.perf_counter()
        for name in names:
            client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
        return time.perf_counter() - started

    def baseline_reads_and_describes() -> float:
        started = time.perf_counter()
        for name in names:
            client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
            client.describe_secret(SecretId=name)
        return time.perf_counter() - started

    def canary_run() -> float:
        sink = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(sink):
            summary = canary.lambda_handler(event, FakeLambdaContext(timeout_ms=60_000))
        elapsed = time.perf_counter() - started
        if not summary["ok"] or summary["secrets_checked"] != SECRET_COUNT:
            raise SystemExit(f"canary run was not healthy: {json.dumps(summary)[:500]}")
        documents = [line for line in sink.getvalue().splitlines() if '"_aws"' in line]
        if len(documents) != SECRET_COUNT:
            raise SystemExit(f"expected {SECRET_COUNT} EMF documents, got {len(documents)}")
        return elapsed

    baseline_reads()  # warm-up: connection pools, moto's first-request costs
    baseline_reads_and_describes()
    canary_run()
    reads, pairs, runs = [], [], []
    for _ in range(ROUNDS):
        reads.append(baseline_reads())
        pairs.append(baseline_reads_and_describes())
        runs.append(canary_run())

    read_ms = statistics.median(reads) * 1000
    pair_ms = statistics.median(pairs) * 1000
    run_ms = statistics.median(runs) * 1000
    n = SECRET_COUNT
    print(f"\n-- simulated network latency per call: {latency_ms:g} ms")
    print(f"  baseline: {n} sequential GetSecretValue               {read_ms:8.1f} ms")
    print(f"  baseline: {n} sequential GetSecretValue+DescribeSecret {pair_ms:8.1f} ms")
    print(f"  canary:   one run (read, validate, describe, EMF, logs) {run_ms:8.1f} ms")
    print(f"  ratio canary / sequential reads:             {run_ms / read_ms:5.2f}x")
    print(f"  ratio canary / sequential reads + describes: {run_ms / pair_ms:5.2f}x")


if __name__ == "__main__":
    main()
