"""Every log line the layer writes during its tests, checked for secret values.

Tests register each secret value they store with :func:`remember`; the autouse fixture
in this folder's ``conftest.py`` (and the integration one) attaches :class:`LineCapture`
to the ``secret_service`` logger at DEBUG for every test and fails the test when any
line (message, context keys or traceback) contains a remembered value; the failure
shows those lines with the values masked.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING

from harness.secret_checks import assert_no_secret_in, masked

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "SECRET_VALUES",
    "LineCapture",
    "capture_layer_logs",
    "no_secret_in_layer_logs",
    "remember",
]

SECRET_VALUES: set[str] = set()
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def remember(*values: str) -> None:
    """Declare values that must never reach a log line."""
    SECRET_VALUES.update(v for v in values if v)


class LineCapture(logging.Handler):
    """Renders every record fully: message, every extra key, exception text."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        line = f"{record.levelname} {record.name} {record.getMessage()} {extras!r}"
        if record.exc_info:
            line += " " + self._formatter.formatException(record.exc_info)
        self.lines.append(line)

    def leaks(self) -> list[str]:
        """The lines holding a remembered value, the values masked (safe to print)."""
        return [
            masked(line, SECRET_VALUES)
            for line in self.lines
            if any(value in line for value in SECRET_VALUES)
        ]


@contextmanager
def capture_layer_logs() -> Iterator[LineCapture]:
    layer_logger = logging.getLogger("secret_service")
    handler = LineCapture()
    previous = layer_logger.level
    layer_logger.addHandler(handler)
    layer_logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        layer_logger.removeHandler(handler)
        layer_logger.setLevel(previous)


@contextmanager
def no_secret_in_layer_logs() -> Iterator[LineCapture]:
    """:func:`capture_layer_logs`, then fail if a line holds a remembered value.

    The failure shows the offending lines with the values masked, so the check that
    guards against a leak does not leak into the test output itself.
    """
    with capture_layer_logs() as capture:
        yield capture
    assert_no_secret_in(capture.lines, secrets=SECRET_VALUES)
