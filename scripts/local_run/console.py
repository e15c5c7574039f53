"""What ``make local`` prints: set-up lines, numbered steps, tables, the verdict.

Everything printed is also kept (``transcript``) so the run can prove afterwards that
no secret value was ever shown.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Console", "format_table"]

TOTAL_STEPS = 5


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return lines


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.1f}"
    return str(value)


class Console:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self.transcript: list[str] = []

    def line(self, text: str = "") -> None:
        self.transcript.append(text)
        self._stream.write(text + "\n")
        self._stream.flush()

    def setup(self, label: str, detail: str) -> None:
        self.line(f"  setup  {label:<9} {detail}")

    def step(self, number: int, title: str) -> None:
        self.line()
        self.line(f"[{number}/{TOTAL_STEPS}] {title}")

    def detail(self, text: str) -> None:
        self.line(f"      {text}")

    def check(self, description: str, held: bool) -> None:
        self.line(f"      {'ok ' if held else 'FAIL'} {description}")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        for text in format_table(headers, rows):
            self.detail(text)

    def function_output(self, text: str) -> None:
        """A function's own log lines (``--verbose``)."""
        for raw in text.splitlines():
            if raw.strip():
                self.line(f"        | {raw}")
