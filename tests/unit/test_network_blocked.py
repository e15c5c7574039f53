"""The unit tier's promise: no test in it can open a network connection."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError


def test_unit_tests_cannot_open_a_socket() -> None:
    # Given the unit tier, When a test opens a TCP socket, Then it is refused.
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
