"""Offline AWS for tests, benchmarks and ``make local``: moto, on 127.0.0.1 only.

``offline_environment()`` is the set of variables that keeps boto3 from ever looking
for real credentials, the instance metadata service or a real endpoint.
``MotoServer`` is a moto server in a thread on a free loopback port, for code paths
where the real HTTP client matters (retries, timeouts, connection pools).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Self

from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["DEFAULT_REGION", "MotoServer", "offline_environment"]

DEFAULT_REGION = "ap-northeast-1"


def offline_environment(*, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Environment variables that make boto3 use fake credentials and no IMDS."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


class MotoServer:
    """A moto server on ``127.0.0.1`` and a free port; ``endpoint_url`` points at it."""

    def __init__(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
