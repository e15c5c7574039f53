"""Offline AWS for tests, benchmarks and ``make local``: moto, on 127.0.0.1 only.

``offline_environment()`` is the set of variables that keeps boto3 from ever looking
for real credentials, the instance metadata service or a real endpoint.
``MotoServer`` is a moto server in a thread on a free loopback port, for code paths
where the real HTTP client matters (retries, timeouts, connection pools).
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Self

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from types import TracebackType

    from werkzeug.serving import BaseWSGIServer

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
    """A moto server on ``127.0.0.1`` and a free port; ``endpoint_url`` points at it.

    The port is bound here and held until ``stop``: the server serves on this very
    socket. (moto's ThreadedMotoServer binds a port by number, so a port chosen free
    and released could be taken meanwhile, and its start then waits forever.)
    """

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()
        self.port = int(self._socket.getsockname()[1])
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

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
        try:
            self._server = make_server(
                "127.0.0.1",
                self.port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=self._socket.fileno(),
            )
        except BaseException:
            self._socket.close()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"moto-server-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            if self._thread is not None:
                self._thread.join()
            server.server_close()
        self._socket.close()
