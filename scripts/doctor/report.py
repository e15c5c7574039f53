"""Render check results: a plain-text table with a hint under every failure, or JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from scripts.doctor.checks import Status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scripts.doctor.checks import CheckResult

__all__ = ["render_json", "render_table", "summary"]

_MAX_TARGET = 64


def summary(results: Sequence[CheckResult]) -> str:
    counts = Counter(r.status for r in results)
    verdict = "FAILED" if counts[Status.FAIL] else "READY"
    return (
        f"{verdict}: {counts[Status.PASS]} passed, {counts[Status.FAIL]} failed, "
        f"{counts[Status.WARN]} warnings, {counts[Status.SKIP]} skipped"
    )


def render_table(results: Sequence[CheckResult], *, title: str) -> str:
    rows = [
        (r.check, r.target if len(r.target) <= _MAX_TARGET else "…" + r.target[-_MAX_TARGET + 1 :])
        for r in results
    ]
    check_w = max([len("CHECK"), *(len(c) for c, _ in rows)])
    target_w = max([len("TARGET"), *(len(t) for _, t in rows)])
    lines = [title, ""]
    lines.append(f"{'CHECK':<{check_w}}  {'TARGET':<{target_w}}  RESULT  DETAIL")
    lines.append(f"{'-' * check_w}  {'-' * target_w}  ------  {'-' * 30}")
    for (check, target), result in zip(rows, results, strict=True):
        lines.append(
            f"{check:<{check_w}}  {target:<{target_w}}  {result.status:<6}  {result.detail}"
        )
        if result.hint and result.status in {Status.FAIL, Status.WARN}:
            lines.append(f"{'':<{check_w}}  {'':<{target_w}}  {'':<6}  hint: {result.hint}")
    lines += ["", summary(results)]
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult]) -> str:
    return json.dumps(
        {
            "ok": not any(r.failed for r in results),
            "checks": [
                {
                    "check": r.check,
                    "target": r.target,
                    "status": str(r.status),
                    "detail": r.detail,
                    "hint": r.hint,
                }
                for r in results
            ],
        },
        indent=2,
    )
