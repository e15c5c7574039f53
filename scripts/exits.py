"""How the command-line tools end when their reader or their user goes away."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

__all__ = ["EXIT_INTERRUPTED", "reader_gone"]

EXIT_INTERRUPTED = 128 + signal.SIGINT


def reader_gone() -> int:
    """stdout's reader closed the pipe (``make local | head``): stop writing, quietly.

    Points stdout at /dev/null so the interpreter's final flush does not raise again,
    and returns the status a process killed by SIGPIPE has.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE
