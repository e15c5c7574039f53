"""Assertions about secret values that never print the values when they fail.

pytest's assertion rewriting shows every operand of a failed ``assert``, the arguments
of any call inside it included: ``assert new == old`` or ``assert same(new, old)`` put
both values in the test output (and a CI log). These helpers raise
:class:`AssertionError` themselves, with a message naming the field and a short digest of
each side (enough to tell "empty" from "another value") but never the value;
:class:`HiddenSecret` is a string whose repr hides it, for values used inside an ``assert``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "SECRET_KEYS",
    "HiddenSecret",
    "assert_no_secret_in",
    "assert_other_secret",
    "assert_same_secret",
    "hide_secret_values",
    "masked",
]

MASK = "***"
SECRET_KEYS = frozenset({"password", "signingKey", "apiKey"})


def _digest(value: str) -> str:
    return f"sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]} len={len(value)}"


class HiddenSecret(str):
    """A secret value that is the string everywhere except in its repr.

    pytest prints the repr of every operand of a failed ``assert`` (and of a dict or call
    argument holding it), so a value read back as a :class:`HiddenSecret` can be used
    freely in ``assert logs_in(user, doc["password"])`` without reaching the test output.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<secret {_digest(self)}>"


def hide_secret_values(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the string values of :data:`SECRET_KEYS` made :class:`HiddenSecret`."""
    return {
        key: HiddenSecret(value) if key in SECRET_KEYS and isinstance(value, str) else value
        for key, value in document.items()
    }


def assert_same_secret(actual: str, expected: str, *, what: str = "secret") -> None:
    """Fail, quoting neither value, unless ``actual`` equals ``expected``."""
    if not hmac.compare_digest(actual.encode(), expected.encode()):
        raise AssertionError(
            f"{what} differs from the expected value ({_digest(actual)} != {_digest(expected)})"
        )


def assert_other_secret(new: str, old: str, *, what: str = "secret") -> None:
    """Fail, without quoting the value, when ``new`` is still ``old``."""
    if hmac.compare_digest(new.encode(), old.encode()):
        raise AssertionError(f"{what} did not change ({_digest(new)})")


def masked(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty value of ``secrets`` replaced by ``***``."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def assert_no_secret_in(texts: Iterable[str], *, secrets: Iterable[str]) -> None:
    """Fail when any text holds a value of ``secrets``; the report shows them masked."""
    values = [s for s in secrets if s]
    leaking = [text for text in texts if any(value in text for value in values)]
    if leaking:
        shown = "\n".join(masked(text, values) for text in leaking)
        raise AssertionError(f"{len(leaking)} text(s) hold a secret value (masked):\n{shown}")
