"""``python -m scripts.capacity``: bad numbers are usage errors, not tracebacks or nonsense."""

from __future__ import annotations

import pytest
from scripts.capacity import main


@pytest.mark.parametrize(
    "args",
    [
        ["--containers", "-5"],
        ["--containers", "5", "--ttl-s", "0"],
        ["--containers", "5", "--ttl-s", "nan"],
        ["--containers", "5", "--secrets", "-1"],
        ["--containers", "5", "--cold-starts-per-s", "-2"],
        ["--containers", "5", "--canary-minutes", "-1"],
        ["--containers", "5", "--replicas", "two"],
    ],
    ids=lambda args: " ".join(args[-2:]),
)
def test_a_number_out_of_range_is_a_usage_error_naming_it(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # When
    with pytest.raises(SystemExit) as caught:
        main(args)
    # Then: exit 2 and the option named; nothing computed from it
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert args[-2] in err


def test_the_documented_command_still_computes(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--containers", "2000", "--secrets", "3", "--ttl-s", "300",
            "--cold-starts-per-s", "5", "--canary-minutes", "1"]  # fmt: skip
    assert main(argv) == 0
    assert "application GetSecretValue  20.00/s" in capsys.readouterr().out
