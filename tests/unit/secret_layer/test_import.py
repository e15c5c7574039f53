"""Importing the package is cheap and inert: no boto3, no client, no environment read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import os, sys
reads = []
class Spy(dict):
    def get(self, *a): reads.append(a[0]); return super().get(*a)
    def __getitem__(self, k): reads.append(k); return super().__getitem__(k)
os.environ = Spy(os.environ)
import secret_service
assert "boto3" not in sys.modules, "boto3 imported"
assert "botocore" not in sys.modules, "botocore imported"
assert "pymysql" not in sys.modules, "pymysql imported"
assert not [r for r in reads if r.startswith(("SECRETS_", "RDS_", "AWS_"))], reads
print("inert")
"""


def test_importing_secret_service_imports_no_aws_sdk_and_reads_no_environment() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src" / "secret_layer"), "PATH": "/usr/bin:/bin"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "inert"
