"""A small evaluator for the CloudWatch Logs JSON filter patterns the template uses.

Supports what ``template.yaml`` writes: ``{ ... }`` around comparisons
``$.a.b = "value"`` / ``$.a.b != "value"`` (``*`` is a wildcard), joined with ``&&`` and
``||`` and grouped with parentheses. A selector that names no field in the event
matches neither ``=`` nor ``!=``, as in CloudWatch Logs. Anything else raises, so a
pattern the evaluator does not understand cannot pass a test by accident.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FilterPatternError", "matches"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) | (?P<and>&&) | (?P<or>\|\|)
      | (?P<cmp>\$(?P<path>(?:\.[A-Za-z0-9_]+)+)\s*(?P<op>!=|=)\s*"(?P<value>[^"]*)")
    )""",
    re.VERBOSE,
)


class FilterPatternError(ValueError):
    """The pattern uses syntax this evaluator does not support."""


def _tokens(pattern: str) -> list[tuple[str, Any]]:
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise FilterPatternError(f"not a JSON filter pattern: {pattern!r}")
    body = body[1:-1].strip()
    tokens: list[tuple[str, Any]] = []
    position = 0
    while position < len(body):
        match = _TOKEN.match(body, position)
        if match is None or match.end() == position:
            raise FilterPatternError(f"cannot parse at {body[position : position + 40]!r}")
        position = match.end()
        if match.group("cmp"):
            tokens.append(("cmp", (match.group("path")[1:].split("."), match.group("op"),
                                   match.group("value"))))  # fmt: skip
        else:
            kind = next(k for k in ("open", "close", "and", "or") if match.group(k))
            tokens.append((kind, None))
        while position < len(body) and body[position].isspace():
            position += 1
    return tokens


def _field(event: dict[str, Any], path: list[str]) -> Any:
    node: Any = event
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _wildcard(expected: str, actual: str) -> bool:
    """CloudWatch's string match: ``*`` is the only wildcard."""
    regex = ".*".join(re.escape(part) for part in expected.split("*"))
    return re.fullmatch(regex, actual, flags=re.DOTALL) is not None


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], event: dict[str, Any]) -> None:
        self.tokens = tokens
        self.position = 0
        self.event = event

    def peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def take(self, kind: str) -> Any:
        if self.peek() != kind:
            raise FilterPatternError(f"expected {kind} at token {self.position}")
        value = self.tokens[self.position][1]
        self.position += 1
        return value

    def expression(self) -> bool:
        result = self.term()
        operators: set[str] = set()
        while (operator := self.peek()) in ("and", "or"):
            self.position += 1
            operators.add(str(operator))
            right = self.term()
            result = (result and right) if operator == "and" else (result or right)
        if len(operators) > 1:
            raise FilterPatternError("&& and || mixed without parentheses")
        return result

    def term(self) -> bool:
        if self.peek() == "open":
            self.take("open")
            value = self.expression()
            self.take("close")
            return value
        path, op, expected = self.take("cmp")
        actual = _field(self.event, path)
        if actual is None or isinstance(actual, dict | list):
            return False
        equal = _wildcard(expected, str(actual))
        return equal if op == "=" else not equal


def matches(pattern: str, event: dict[str, Any]) -> bool:
    """True when the CloudWatch Logs JSON filter ``pattern`` selects ``event``."""
    parser = _Parser(_tokens(pattern), event)
    result = parser.expression()
    if parser.position != len(parser.tokens):
        raise FilterPatternError(f"unexpected token {parser.peek()} at {parser.position}")
    return result
