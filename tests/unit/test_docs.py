"""The docs cannot rot silently: commands, names and numbers are checked against the code.

* every ``make <target>`` shown in README.md or docs/ is a real Makefile target;
* troubleshooting.md has a section for every error type the code defines;
* operations.md names every metric the canary and the rotation function emit;
* capacity.md's table is what ``scripts/capacity.py`` computes;
* links between the docs point at files and sections that exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1].parent
DOCS = ROOT / "docs"
OWN_DOCS = ("operations", "troubleshooting", "security", "capacity", "architecture")
ERROR_MODULES = (
    "src/secret_layer/secret_service/errors.py",
    "src/rotation/rotation_errors.py",
    "src/health_check/canary_errors.py",
)


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def code_spans(markdown: str) -> list[str]:
    """Fenced blocks and inline code: where a doc shows a command."""
    fenced = re.findall(r"```[a-z]*\n(.*?)```", markdown, flags=re.DOTALL)
    without = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    return fenced + re.findall(r"`([^`\n]+)`", without)


def make_commands(markdown: str) -> set[str]:
    found = set()
    for span in code_spans(markdown):
        found.update(re.findall(r"(?:^|[\s;&|(])make ([a-z][a-z0-9-]*)", span))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^a-z0-9 -]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


DOC_FILES = sorted(
    [
        ROOT / "README.md",
        *DOCS.glob("*.md"),
        *(p for p in ROOT.glob("*/README.md") if not p.parent.name.startswith(".")),
    ]
)


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_command_shown_is_a_real_target(path: Path) -> None:
    # Given
    targets = makefile_targets()
    # When
    shown = make_commands(path.read_text())
    # Then
    assert shown <= targets, f"{path.name} shows make {sorted(shown - targets)}"


def test_the_readme_shows_the_two_quick_start_commands_and_the_tools() -> None:
    # When
    shown = make_commands((ROOT / "README.md").read_text())
    # Then
    assert {"local", "test", "doctor"} <= shown


def test_the_command_finder_sees_commands_and_ignores_prose() -> None:
    # Given
    markdown = "To make sure, run `make doctor ENV=prod`.\n```bash\nmake local  # x\n```\n"
    # When / Then
    assert make_commands(markdown) == {"doctor", "local"}


def error_names(module: str) -> list[str]:
    tree = ast.parse((ROOT / module).read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name.endswith("Error")
    ]


@pytest.mark.parametrize("module", ERROR_MODULES)
def test_troubleshooting_has_a_section_for_every_error_type(module: str) -> None:
    # Given
    sections = anchors(DOCS / "troubleshooting.md")
    # When
    names = error_names(module)
    # Then
    assert names
    missing = [n for n in names if n.lower() not in sections]
    assert missing == [], f"docs/troubleshooting.md lacks ### {missing}"


def test_operations_names_every_metric_the_functions_emit() -> None:
    # Given
    import canary_metrics
    import rotation_metrics

    text = (DOCS / "operations.md").read_text()
    # When
    metrics = set(canary_metrics.METRIC_UNITS) | set(rotation_metrics.METRIC_UNITS)
    # Then
    missing = sorted(m for m in metrics if f"`{m}`" not in text)
    assert missing == [], f"docs/operations.md does not mention {missing}"


def test_the_capacity_table_is_what_the_model_computes() -> None:
    # Given
    from scripts.capacity import markdown_table

    text = (DOCS / "capacity.md").read_text()
    # When
    shown = re.search(
        r"<!-- capacity-table:start.*?-->\n(.*?)\n<!-- capacity-table:end -->", text, re.DOTALL
    )
    # Then
    assert shown is not None
    assert shown.group(1) == markdown_table(), "regenerate: python -m scripts.capacity --table"


def test_the_capacity_model_matches_the_published_prices() -> None:
    # Given 1,000 containers, 3 secrets, TTL 300 s
    from scripts.capacity import estimate

    # When
    e = estimate(containers=1000, secrets=3, ttl_s=300, canary_minutes=0)
    # Then 10 calls/s, 25.92 M calls a month at $0.05 per 10,000
    assert e.app_calls_per_s == 10
    assert e.calls_per_month == 25_920_000
    assert e.api_cost_usd_per_month == pytest.approx(129.6)
    assert e.storage_cost_usd_per_month == pytest.approx(1.2)


@pytest.mark.parametrize("name", [*OWN_DOCS, "../README"])
def test_links_between_docs_point_at_existing_files_and_sections(name: str) -> None:
    # Given
    path = (DOCS / f"{name}.md").resolve()
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    # When
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    # Then
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        assert file.exists(), f"{name}.md links to missing {target}"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{name}.md links to missing {link}"


def test_the_doctors_hints_point_at_existing_sections() -> None:
    # Given
    source = (ROOT / "scripts" / "doctor" / "checks.py").read_text()
    from scripts.doctor.checks import ALARM_HINTS

    # When
    referenced = set(re.findall(r"\{OPERATIONS\}#([a-z0-9-]+)", source))
    referenced |= {keyword for keyword, _ in ALARM_HINTS} | {"alarms"}
    # Then
    missing = referenced - anchors(DOCS / "operations.md")
    assert missing == set(), f"docs/operations.md lacks sections {sorted(missing)}"


def test_the_readmes_layer_defaults_are_the_codes() -> None:
    # Given the README's configuration table: `VARIABLE` (default)
    from secret_service.config import ENV_VARIABLES, ServiceConfig

    shown = dict(re.findall(r"`(\w+)` \(([\d.]+)\)", (ROOT / "README.md").read_text()))
    # When
    layer = {name: value for name, value in shown.items() if name in ENV_VARIABLES}
    # Then every default shown for a layer variable is ServiceConfig's
    assert set(layer) >= {"SECRETS_CACHE_TTL_S", "SECRETS_RETRY_MAX_ATTEMPTS"}
    wrong = {
        name: (value, getattr(ServiceConfig(), ENV_VARIABLES[name][0]))
        for name, value in layer.items()
        if float(value) != float(getattr(ServiceConfig(), ENV_VARIABLES[name][0]))
    }
    assert wrong == {}, f"README.md shows (shown, code) defaults that differ: {wrong}"


def test_every_rotation_strategy_shown_in_a_secret_is_one_the_function_accepts() -> None:
    # Given every "rotationStrategy": "..." in the docs' example secrets
    from rotation_model import Strategy

    shown = {
        (path.name, value)
        for path in DOC_FILES
        for value in re.findall(r'"rotationStrategy":\s*"([^"]*)"', path.read_text())
    }
    # When
    accepted = {strategy.value for strategy in Strategy}
    # Then
    assert shown, "the docs show at least one example"
    assert {(name, v) for name, v in shown if v not in accepted} == set()


def test_the_readmes_parameter_defaults_are_the_templates() -> None:
    # Given the README's configuration paragraph: `Parameter` (default)
    from scripts.sam_template import load_template

    parameters = load_template()["Parameters"]
    shown = re.findall(r"`(\w+)` \(([\d.]+)[;)]", (ROOT / "README.md").read_text())
    # When
    in_template = {name: value for name, value in shown if name in parameters}
    # Then every default shown is the template's
    assert set(in_template) >= {"RotationPeriodDays", "JwtRotationPeriodDays", "CanaryRateMinutes"}
    wrong = {
        name: (value, parameters[name]["Default"])
        for name, value in in_template.items()
        if float(value) != float(parameters[name]["Default"])
    }
    assert wrong == {}, f"README.md shows (shown, template) defaults that differ: {wrong}"


# CamelCase names the docs quote from elsewhere (AWS APIs, other libraries).
FOREIGN_NAMES = {
    "GetParameterError",  # Powertools
    "DescribeDBInstances",  # RDS API
    "SecretsManagerRDSMySQLRotationSingleUser",  # AWS's rotation function
    "DisableKey",  # KMS API (CloudTrail event)
    "StopLogging",  # CloudTrail API (CloudTrail event)
}


def test_every_name_quoted_in_the_docs_exists_in_the_code_or_template() -> None:
    # Given every `CamelCaseName` the README and docs/ quote (parameters, resources,
    # metrics, error classes...)
    known = "".join(
        [
            (ROOT / "template.yaml").read_text(),
            (ROOT / "samconfig.toml").read_text(),
            *(
                path.read_text()
                for folder in ("src", "scripts", "harness")
                for path in (ROOT / folder).rglob("*.py")
            ),
        ]
    )
    quoted = {
        (path.name, name)
        for path in [ROOT / "README.md", *DOCS.glob("*.md")]
        for name in re.findall(r"`([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)`", path.read_text())
    }
    # When
    unknown = {(doc, name) for doc, name in quoted if name not in known}
    # Then
    assert unknown - {(doc, name) for doc, name in unknown if name in FOREIGN_NAMES} == set()
