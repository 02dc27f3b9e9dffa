"""A real CouchDB-protocol server for the tests: ``pouchdb-server`` from npm.

``make`` installs it into tests/couchdb/node_modules (``npm ci --ignore-scripts``, pinned by
tests/couchdb/package-lock.json). Its LevelDB back end loads the prebuilt binary that ships
inside the ``leveldown`` package, so no compiler is needed, and a server started on a data
directory keeps its databases across a restart.

Fixtures: ``couchdb_server`` (in memory, one per test session, for the contract tests) and
``couchdb_disk_server`` (on a fresh directory, one per test, for outage tests).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

PACKAGE_DIR = Path(__file__).resolve().parent / "couchdb"
SERVER_SCRIPT = PACKAGE_DIR / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
#: Seconds a starting server has to answer ``GET /``.
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CouchDBServer:
    """A ``pouchdb-server`` process on 127.0.0.1: consumes a data directory (or none, in
    memory), produces a CouchDB HTTP API at :attr:`url`.

    ``CouchDBServer(directory=tmp_path).start()``; :meth:`pause` and :meth:`resume` stop and
    restart the process on the same port and directory (an outage: connections are refused,
    and the data are back afterwards); :meth:`freeze` and :meth:`thaw` stop and continue it
    with SIGSTOP/SIGCONT (a hung server: clients time out).
    """

    def __init__(self, directory: Path | None = None, *, port: int | None = None) -> None:
        self.in_memory = directory is None
        self._scratch = tempfile.TemporaryDirectory(prefix="maus-pouchdb-") \
            if directory is None else None
        self.directory = Path(self._scratch.name if self._scratch else directory)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's root URL (a database is ``url + "/name"``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "pouchdb-server.out"

    def command(self) -> list[str]:
        node = shutil.which("node")
        if node is None or not SERVER_SCRIPT.exists():
            raise RuntimeError(f"pouchdb-server is not installed in {PACKAGE_DIR}: run "
                               "`make tests/couchdb/node_modules/.maus-installed` (or `make "
                               "test`), which needs npm (apt-get install npm)")
        command = [node, str(SERVER_SCRIPT), "--host", "127.0.0.1", "--port", str(self.port),
                   "--dir", str(self.directory), "--config",
                   str(self.directory / "config.json"), "--no-stdout-logs", "--no-color"]
        return command + (["--in-memory"] if self.in_memory else [])

    def start(self) -> "CouchDBServer":
        """Start the server and wait until it answers ``GET /``."""
        if self.process is not None:
            raise RuntimeError("the server is already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            # cwd: pouchdb-server writes its log.txt to the current directory.
            self.process = subprocess.Popen(self.command(), cwd=self.directory, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(self.url + "/", timeout=1).ok:
                    return
            except requests.RequestException:
                pass  # not listening yet
            try:
                # Waiting on the process paces the polls and notices a server that died.
                code = self.process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"pouchdb-server did not answer on {self.url} within "
                                       f"{START_TIMEOUT:g} s; its output: {self.output()}")
            else:
                self.process = None
                raise RuntimeError(f"pouchdb-server exited with status {code}: "
                                   f"{self.output()}")

    def output(self) -> str:
        """The end of what the server printed."""
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no output)"

    def stop(self) -> None:
        """Stop the server (its in-memory databases are gone; on-disk ones stay)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def pause(self) -> None:
        """Take the server away (connections are refused) until :meth:`resume`."""
        if self.in_memory:
            raise RuntimeError("an in-memory server loses its data when stopped: freeze() it")
        self.stop()

    def resume(self) -> None:
        """Start the server again on the same port and data directory."""
        self.start()

    def freeze(self) -> None:
        """SIGSTOP the server: it accepts connections but answers nothing until thawed."""
        assert self.process is not None, "the server is not running"
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        assert self.process is not None, "the server is not running"
        os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and remove its scratch directory (in-memory servers)."""
        self.stop()
        if self._scratch is not None:
            self._scratch.cleanup()

    def __enter__(self) -> "CouchDBServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@pytest.fixture(scope="session")
def couchdb_server() -> Iterator[CouchDBServer]:
    """One in-memory pouchdb-server for the test session (each test uses its own database)."""
    with CouchDBServer() as server:
        yield server


@pytest.fixture
def couchdb_disk_server(tmp_path) -> Iterator[CouchDBServer]:
    """A pouchdb-server on a fresh data directory, which survives pause() and resume()."""
    with CouchDBServer(tmp_path / "couchdb") as server:
        yield server
