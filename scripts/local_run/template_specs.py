"""What ``make local`` creates, read from template.yaml: one source of truth.

The secrets' names and how CloudFormation generates their values
(``GenerateSecretString``), the KMS alias, and each function's environment variables
(``Globals`` plus the function's own), all as the chosen environment deploys them.
Pure functions over :class:`scripts.sam_template.DeployedTemplate`; no AWS, no database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scripts.sam_template import TemplateError

if TYPE_CHECKING:
    from scripts.sam_template import DeployedTemplate

__all__ = [
    "GeneratedField",
    "SecretSpec",
    "function_environment",
    "key_alias",
    "secret_specs",
]

SECRET_KINDS = ("database", "jwt", "external-apis")
# GenerateSecretString keys that GetRandomPassword takes under the same name.
_PASSWORD_OPTIONS = (
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


@dataclass(frozen=True)
class GeneratedField:
    """One ``GenerateSecretString``: which key gets a random value, and how it is made."""

    key: str
    length: int
    options: dict[str, Any] = field(default_factory=dict)
    """GetRandomPassword's options, as the template spells them (ExcludeCharacters...)."""

    def get_random_password_args(self) -> dict[str, Any]:
        return {"PasswordLength": self.length, **self.options}


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    name: str
    kind: str
    document: dict[str, Any] = field(repr=False)
    """The JSON the template stores (SecretStringTemplate or SecretString), resolved."""
    generated: GeneratedField | None = None


def _kind(name: str) -> str:
    for kind in SECRET_KINDS:
        if name.endswith(f"-secret-{kind}"):
            return kind
    raise TemplateError(f"secret {name} is none of {SECRET_KINDS}: update scripts/local_run")


def _document(text: Any, logical_id: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise TemplateError(f"{logical_id}: its secret string cannot be resolved locally")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{logical_id}: its secret string is not JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise TemplateError(f"{logical_id}: its secret string is not a JSON object")
    return document


def secret_specs(template: DeployedTemplate) -> list[SecretSpec]:
    """Every secret the environment deploys, with its value's template and generation."""
    specs = []
    for resource in template.resources("AWS::SecretsManager::Secret"):
        if not resource.name:
            raise TemplateError(f"{resource.logical_id} has no Name: make local needs one")
        props = resource.properties
        generate = props.get("GenerateSecretString")
        if generate:
            specs.append(
                SecretSpec(
                    logical_id=resource.logical_id,
                    name=resource.name,
                    kind=_kind(resource.name),
                    document=_document(
                        generate.get("SecretStringTemplate", "{}"), resource.logical_id
                    ),
                    generated=GeneratedField(
                        key=str(generate["GenerateStringKey"]),
                        length=int(generate.get("PasswordLength", 32)),
                        options={k: generate[k] for k in _PASSWORD_OPTIONS if k in generate},
                    ),
                )
            )
        else:
            specs.append(
                SecretSpec(
                    logical_id=resource.logical_id,
                    name=resource.name,
                    kind=_kind(resource.name),
                    document=_document(props.get("SecretString"), resource.logical_id),
                )
            )
    missing = set(SECRET_KINDS) - {s.kind for s in specs}
    if missing:
        raise TemplateError(f"template.yaml defines no {sorted(missing)} secret")
    return specs


def key_alias(template: DeployedTemplate) -> str:
    for alias in template.resources("AWS::KMS::Alias"):
        if alias.name and alias.name.endswith("-secrets-key"):
            return alias.name
    raise TemplateError("template.yaml defines no alias/...-secrets-key")


def function_environment(template: DeployedTemplate, logical_id: str) -> dict[str, str]:
    """The function's environment variables: Globals, then its own, resolved."""
    globals_env = (
        ((template.template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
    ).get("Variables") or {}
    try:
        resource = template.template["Resources"][logical_id]
    except KeyError as exc:
        raise TemplateError(f"template.yaml has no resource {logical_id}") from exc
    own = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
    variables = {}
    for name, value in {**globals_env, **own}.items():
        resolved = template.resolve(value)
        variables[name] = "" if resolved is None else str(resolved)
    return variables
