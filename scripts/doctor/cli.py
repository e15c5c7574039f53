"""``make doctor ENV=prod``: the pre-deployment checklist as one command.

The door of the doctor: parse the arguments into :class:`DoctorConfig`, read the
expectations from template.yaml/samconfig.toml, run the checks through the AWS
adapter, print the table. Exit status: 0 when nothing failed (warnings and skips
allowed), 1 when a check failed, 2 on a usage or template error.

Credentials are the ordinary ones (environment, profile, SSO). Set
``AWS_ENDPOINT_URL=http://127.0.0.1:<port>`` to check a local moto server instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.doctor.aws_adapter import AwsAdapter
from scripts.doctor.checks import run_checks
from scripts.doctor.expectations import from_template
from scripts.doctor.report import render_json, render_table
from scripts.exits import EXIT_INTERRUPTED, reader_gone
from scripts.sam_template import (
    TEMPLATE_PATH,
    DeployedTemplate,
    TemplateError,
    samconfig_parameters,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DoctorConfig", "main", "parse_args"]

ENVIRONMENTS = ("dev", "stg", "prod")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class DoctorConfig:
    environment: str
    app_name: str | None
    region: str | None
    stack_name: str | None
    template_path: Path
    output: str

    @property
    def endpoint_url(self) -> str | None:
        return os.environ.get("AWS_ENDPOINT_URL") or None


def parse_args(argv: Sequence[str] | None = None) -> DoctorConfig:
    parser = argparse.ArgumentParser(
        prog="make doctor",
        description="Check that an environment's secrets stack is deployed and healthy.",
        epilog="Set AWS_ENDPOINT_URL to check a local moto server instead of AWS.",
    )
    parser.add_argument("--env", "-e", required=True, choices=ENVIRONMENTS, dest="environment")
    parser.add_argument("--app", dest="app_name", help="AppName (default: samconfig/template)")
    parser.add_argument("--region", help="AWS region (default: samconfig.toml's for the env)")
    parser.add_argument("--stack-name", help="stack name (default: samconfig.toml's)")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH, dest="template_path")
    parser.add_argument("--output", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    return DoctorConfig(**vars(args))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        status = _run(parse_args(argv))
        # stdout is block-buffered in a pipe: a reader that went away shows here, where it
        # is handled, not in the interpreter's final flush (exit 120, "Exception ignored")
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `make doctor | head`
        return reader_gone()
    return status


def _run(config: DoctorConfig) -> int:
    endpoint = config.endpoint_url
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        print(
            f"error: AWS_ENDPOINT_URL={endpoint!r} is not a URL: give the scheme, e.g. "
            "http://127.0.0.1:<port> for a moto server (or unset it to check AWS)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        template = DeployedTemplate.for_environment(
            config.environment,
            app_name=config.app_name,
            region=config.region,
            template_path=config.template_path,
            samconfig_path=config.template_path.with_name("samconfig.toml"),
        )
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stack_name = config.stack_name
    if stack_name is None and config.app_name is None:
        stack_name = samconfig_parameters(
            config.environment, config.template_path.with_name("samconfig.toml")
        ).get("stack_name")
    expected = from_template(template, stack_name=stack_name)
    adapter = AwsAdapter(region=expected.region)
    results = run_checks(adapter, expected)
    if config.output == "json":
        print(render_json(results))
    else:
        where = config.endpoint_url or f"AWS {expected.region}"
        title = f"make doctor: {expected.prefix} (stack {expected.stack_name}) against {where}"
        print(render_table(results, title=title))
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK
