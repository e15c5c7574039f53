"""The layer's integration tests: moto over HTTP, the real MariaDB; logs checked for values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.unit.secret_layer.logcheck import no_secret_in_layer_logs

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.unit.secret_layer.logcheck import LineCapture


@pytest.fixture(autouse=True)
def layer_logs() -> Iterator[LineCapture]:
    """Every test here: capture the layer's log lines; no remembered secret value in them."""
    with no_secret_in_layer_logs() as capture:
        yield capture
