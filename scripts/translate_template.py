"""Translate ``template.yaml`` with samtranslator, once per environment, offline.

The result is the plain CloudFormation that ``sam deploy`` would create for that
environment (its samconfig.toml parameter overrides applied as parameter defaults),
which checkov and the IAM policy linter inspect and ``tests/template`` asserts on.

    python scripts/translate_template.py [--env dev|stg|prod ...] [--out-dir DIR]

writes ``DIR/<env>.json`` (default ``.aws-sam/translated``). No AWS call: the AWS
managed-policy map is empty and the region is fixed.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

__all__ = [
    "ENVIRONMENTS",
    "TEMPLATE_PATH",
    "TemplateTranslationError",
    "deploy_parameters",
    "load_template",
    "parse_parameter_overrides",
    "read_samconfig",
    "samconfig_overrides",
    "translate_template",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
SAMCONFIG_PATH = REPO_ROOT / "samconfig.toml"
ENVIRONMENTS = ("dev", "stg", "prod")
DEFAULT_REGION = "ap-northeast-1"


class TemplateTranslationError(ValueError):
    """template.yaml or samconfig.toml cannot be read or translated."""


class _NoManagedPolicies:
    """samtranslator asks IAM for AWS managed policy ARNs; offline, there are none."""

    def load(self) -> dict[str, str]:
        return {}


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a SAM template, short-form tags (``!Sub``, ``!Ref``...) included."""
    import yaml  # type: ignore[import-untyped]  # PyYAML, what samtranslator parses with
    from samtranslator.yaml_helper import yaml_parse

    try:
        document = yaml_parse(path.read_text())
    except OSError as exc:
        raise TemplateTranslationError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or "unparsable"
        raise TemplateTranslationError(f"{path} is not valid YAML ({where}: {problem})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateTranslationError(f"{path} is not a template: it has no Resources section")
    for section in ("Parameters", "Mappings", "Conditions", "Outputs"):
        if not isinstance(document.get(section) or {}, dict):
            raise TemplateTranslationError(f"{path}: {section} must be a mapping of names")
    for logical_id, resource in document["Resources"].items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateTranslationError(
                f"{path}: resource {logical_id} is not a mapping with a Type"
            )
    return document


def read_samconfig(path: Path) -> dict[str, Any]:
    """``samconfig.toml`` parsed; unreadable or not TOML is a TemplateTranslationError."""
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TemplateTranslationError(f"cannot read {path}: {exc}") from exc


def samconfig_overrides(environment: str, path: Path = SAMCONFIG_PATH) -> dict[str, str]:
    """``parameter_overrides`` of ``[<environment>.deploy.parameters]`` as a dict."""
    section = deploy_parameters(read_samconfig(path), environment, where=path.name)
    if section is None:
        raise TemplateTranslationError(
            f"{path.name} has no [{environment}.deploy.parameters] section"
        )
    raw = section.get("parameter_overrides", "")
    return parse_parameter_overrides(raw, where=f"{path.name} [{environment}]")


def deploy_parameters(
    config: dict[str, Any], environment: str, *, where: str
) -> dict[str, Any] | None:
    """The ``[<environment>.deploy.parameters]`` table of a parsed samconfig, or ``None``.

    A key on the way that holds something other than a table is a
    :class:`TemplateTranslationError` naming it.
    """
    node: Any = config
    trail: list[str] = []
    for key in (environment, "deploy", "parameters"):
        if key not in node:
            return None
        node = node[key]
        trail.append(key)
        if not isinstance(node, dict):
            raise TemplateTranslationError(f"{where}: {'.'.join(trail)} must be a table")
    return dict(node)


def parse_parameter_overrides(raw: object, *, where: str) -> dict[str, str]:
    """samconfig's ``parameter_overrides`` as ``{name: value}``.

    A string is split as a shell would (``Email=\"a b\"``), a list holds one NAME=VALUE
    per item. Anything else, or an entry without ``=``, is a
    :class:`TemplateTranslationError` naming ``where`` and the entry.
    """
    try:
        if isinstance(raw, str):
            words = shlex.split(raw)
        elif isinstance(raw, list):
            words = [str(item) for item in raw]
        else:
            raise TemplateTranslationError(
                f"{where} parameter_overrides must be a string or a list of NAME=VALUE"
            )
    except ValueError as exc:  # shlex: an unclosed quote
        raise TemplateTranslationError(f"{where} parameter_overrides: {exc}") from exc
    overrides: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            raise TemplateTranslationError(
                f"{where} parameter_overrides entry {word!r} is not NAME=VALUE"
            )
        overrides[name] = value
    return overrides


def translate_template(
    environment: str,
    *,
    use_samconfig: bool = True,
    parameters: dict[str, str] | None = None,
    template_path: Path = TEMPLATE_PATH,
) -> dict[str, Any]:
    """The CloudFormation template SAM deploys for ``environment``.

    Parameter values (samconfig's overrides for the environment, then ``parameters``)
    become the parameters' defaults, so the output is self-contained.
    """
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    # samtranslator's own usage metrics are never published offline; their warning is noise.
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)
    document = load_template(template_path)
    values = {"Environment": environment}
    if use_samconfig:
        values.update(samconfig_overrides(environment))
    values.update(parameters or {})
    for name, value in values.items():
        if name not in document["Parameters"]:
            raise TemplateTranslationError(f"template.yaml has no parameter {name!r}")
        document["Parameters"][name]["Default"] = value
    for resource in document["Resources"].values():  # as `sam package` does
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://artifacts/{props[key].strip('/')}.zip"
    try:
        translator = Translator(
            None, Parser(), boto_session=boto3.session.Session(region_name=DEFAULT_REGION)
        )
        translated: dict[str, Any] = translator.translate(
            document, {}, get_managed_policy_map=_NoManagedPolicies().load
        )
    except InvalidDocumentException as exc:
        raise TemplateTranslationError(f"SAM cannot translate template.yaml: {exc}") from exc
    return translated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", choices=ENVIRONMENTS, dest="environments")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / ".aws-sam" / "translated")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for environment in args.environments or ENVIRONMENTS:
        try:
            translated = translate_template(environment)
        except TemplateTranslationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        target = args.out_dir / f"{environment}.json"
        target.write_text(json.dumps(translated, indent=1, sort_keys=True) + "\n")
        print(f"{target}: {len(translated['Resources'])} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
