"""scripts/lint_iam_policies.py given a file it cannot use: a usage error, not a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from scripts.lint_iam_policies import main

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "No such file or directory"),
        ("{not json", "not JSON"),
        ('{"Parameters": {}}', "has no Resources"),
    ],
    ids=["missing", "not-json", "no-resources"],
)
def test_an_unusable_translated_template_is_named_with_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, reason: str
) -> None:
    # Given
    path = tmp_path / "dev.json"
    if content is not None:
        path.write_text(content)
    # When
    status = main([str(path)])
    # Then: exit 2 before parliament is even imported, naming the file and the reason
    err = capsys.readouterr().err
    assert status == 2
    assert str(path) in err
    assert reason in err
