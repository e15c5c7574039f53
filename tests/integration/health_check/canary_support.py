"""Helpers for the canary's integration tests: output parsing, a hanging endpoint."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from botocore.awsrequest import AWSResponse

if TYPE_CHECKING:
    from types import TracebackType

NAMESPACE = "GoalMandala/SecretsCanary"
SERVICE = "goal-mandala-secrets"
EVENT_PATH = Path(__file__).resolve().parents[3] / "events" / "health_check.json"


def scheduled_event() -> dict[str, Any]:
    return json.loads(EVENT_PATH.read_text())  # type: ignore[no-any-return]


def stdout_documents(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split captured stdout into EMF documents and structured log lines.

    Every non-empty line must be JSON: the canary prints nothing else.
    """
    emf: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        document = json.loads(line)
        (emf if "_aws" in document else logs).append(document)
    return emf, logs


def emf_by_secret(emf: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = {}
    for document in emf:
        assert document["SecretName"] not in by_name, "one EMF document per secret"
        by_name[document["SecretName"]] = document
    return by_name


def metric_names(document: dict[str, Any]) -> set[str]:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    return {metric["Name"] for metric in directive["Metrics"]}


class Blackhole:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers.

    The stand-in for a frozen database or an unreachable-but-routed API endpoint:
    connects succeed, reads hang until the client's timeout. ``stop()`` closes every
    accepted connection, so a client still waiting sees the connection drop.
    """

    def __init__(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._server.settimeout(0.05)  # so the accept loop notices stop()
        self.port = int(self._server.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="blackhole", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._drain()
        self._server.close()
        for conn in self._accepted:
            conn.close()

    @property
    def connections(self) -> int:
        """Every connection a client has made, accepted or still in the listen backlog.

        The backlog is drained first: the accept thread may not have run yet on a loaded
        machine, and a count that depends on it would make the tests flaky.
        """
        if not self._stopped.is_set():
            self._drain()
        return len(self._accepted)

    def _drain(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # TimeoutError: the backlog is empty
                return
            self._accepted.append(conn)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted.append(conn)


def throttle_hook(secret_id: str) -> Any:
    """A botocore ``before-call`` hook answering ThrottlingException for one secret."""

    def hook(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        body = params.get("body") or b"{}"
        if json.loads(body).get("SecretId") != secret_id:
            return None
        response = AWSResponse("https://secretsmanager.invalid", 400, {}, None)
        parsed = {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return response, parsed

    return hook
