"""Unit tier: pure logic, no network. Every test here runs with sockets disabled."""

from __future__ import annotations

from pathlib import Path

import pytest

_UNIT_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _UNIT_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.disable_socket)
