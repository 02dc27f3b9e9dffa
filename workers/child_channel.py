"""The control channel between a worker's main process and each of its pool sub-processes.

Celery delivers a broadcast to the main process only, and a pool job reaches *some* idle
sub-process, not a chosen one. So each sub-process listens on its own Unix socket, named by
its PID, in a directory only the worker's user can enter; the main process asks each
sub-process by PID and gets a confirmation from that PID. Requests and replies are JSON.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any, Callable

from maus_online import codec
from maus_online.catalogue import say

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
#: How often a caller retries a sub-process whose socket is not open yet (it is starting).
RETRY_INTERVAL = 0.05


def make_channel_directory() -> Path:
    """A private directory (mode 0700) for the sockets of one worker's sub-processes."""
    return Path(tempfile.mkdtemp(prefix="maus-worker-"))


def socket_path(directory: Path, pid: int) -> Path:
    return directory / f"{pid}.sock"


class ChildChannel:
    """Serves requests to this sub-process on ``<directory>/<pid>.sock`` in a daemon thread."""

    def __init__(self, directory: Path, handler: Handler) -> None:
        self.path = socket_path(directory, os.getpid())
        self.handler = handler
        self._listener = Listener(str(self.path), family="AF_UNIX")
        self._thread = threading.Thread(target=self._serve, name="maus-child-channel",
                                        daemon=True)

    def start(self) -> ChildChannel:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                connection = self._listener.accept()
            except OSError:
                return  # the listener was closed: the process is ending
            with connection:
                self._answer(connection)

    def _answer(self, connection: Connection) -> None:
        try:
            request = codec.loads(connection.recv_bytes())
            reply = self.handler(request)
        except Exception as exc:  # noqa: BLE001 - the caller gets the reason, not a hang
            reply = {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc),
                                            "pid": os.getpid()}}
        try:
            connection.send_bytes(codec.dumps(reply))
        except OSError as exc:
            log.warning("%s", say("MAUS-205", pid=os.getpid(), reason=exc))

    def close(self) -> None:
        self._listener.close()


def ask_child(directory: Path, pid: int, request: dict[str, Any], timeout: float
              ) -> dict[str, Any]:
    """Send ``request`` to sub-process ``pid``; its reply, or an error record on time-out."""
    deadline = time.monotonic() + timeout
    path = str(socket_path(directory, pid))
    while True:
        try:
            connection = Client(path, family="AF_UNIX")
            break
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            # A sub-process that was just forked opens its socket a moment later.
            if time.monotonic() >= deadline:
                return _timeout(pid, f"its control socket did not open ({exc.strerror})",
                                timeout)
            time.sleep(RETRY_INTERVAL)
    with connection:
        connection.send_bytes(codec.dumps(request))
        if not connection.poll(max(0.0, deadline - time.monotonic())):
            return _timeout(pid, "it did not answer", timeout)
        try:
            return codec.loads(connection.recv_bytes())
        except EOFError:
            return {"ok": False, "pid": pid, "error": {
                "type": "ChildLost", "message": f"sub-process {pid} closed its channel "
                                                "without answering (did it die?)", "pid": pid}}


def _timeout(pid: int, what: str, timeout: float) -> dict[str, Any]:
    return {"ok": False, "pid": pid, "error": {
        "type": "Timeout", "message": f"sub-process {pid}: {what} within {timeout:.1f} s",
        "pid": pid}}
