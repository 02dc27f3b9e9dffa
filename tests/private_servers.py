"""A RabbitMQ node and a Redis server of a test's own, to stop and start in the middle of a run.

The fault-injection tests take servers away (issue 12: ``rabbitmqctl stop_app``, Redis shut
down). They never touch the machine's own RabbitMQ and Redis, which the rest of the suite and
CI use: each starts a private server on free ports of 127.0.0.1, with its data in the test's
directory, and stops it at the end whatever happens, so the machine's services are left as
they were even when a test fails.

* :class:`PrivateRabbitMQ` -- a second RabbitMQ node (``rabbitmq-server`` with its own node
  name, ports and database; the Debian package's script runs it as the ``rabbitmq`` user).
  :meth:`~PrivateRabbitMQ.stop_app` and :meth:`~PrivateRabbitMQ.start_app` are the outage.
* :class:`PrivateRedis` -- ``redis-server`` on its own port, nothing saved to disk (as the
  machine's is): :meth:`~PrivateRedis.shutdown` and :meth:`~PrivateRedis.restart` are the
  outage, and a restart loses what it held, as a real Redis restart without persistence does.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.couchdb_server import free_port
from tests.processes import wait_until

#: Seconds a private server has to start answering (a RabbitMQ node boots in ~10 s here).
START_TIMEOUT = 90.0


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateRabbitMQ:
    """A RabbitMQ node of one test: consumes a directory, produces :attr:`url` (guest/guest,
    vhost ``/``), listening on 127.0.0.1 and on the ``also`` addresses (a test's own network
    namespace addresses), on the same port."""

    def __init__(self, directory: Path, also: tuple[str, ...] = ()) -> None:
        if shutil.which("rabbitmq-server") is None:
            pytest.skip("rabbitmq-server is not installed: the broker-outage tests need it")
        self.directory = directory
        self.also = also
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"maus-test-{uuid.uuid4().hex[:8]}@localhost"
        self.process: subprocess.Popen | None = None

    def url_at(self, address: str = "127.0.0.1") -> str:
        return f"amqp://guest:guest@{address}:{self.port}//"

    @property
    def url(self) -> str:
        return self.url_at()

    def _configuration(self) -> str:
        """rabbitmq.conf: the listeners, and guest allowed beyond loopback when there are
        other addresses (only the test's own namespace can reach them)."""
        lines = [f"listeners.tcp.{n} = {address}:{self.port}"
                 for n, address in enumerate(("127.0.0.1", *self.also), start=1)]
        if self.also:
            lines.append("loopback_users = none")
        return "\n".join(lines) + "\n"

    def _environment(self) -> dict[str, str]:
        base = self.directory
        (base / "plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text(self._configuration())
        for name in ("mnesia", "log"):
            (base / name).mkdir(exist_ok=True)
        if os.geteuid() == 0:  # the package's wrapper drops to the rabbitmq user
            shutil.chown(base, "rabbitmq", "rabbitmq")
            for path in base.rglob("*"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        return {**os.environ, "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                # The clustering port too listens on loopback only.
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface "
                                                       "{127,0,0,1}",
                "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(base / "log"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "plugins"),
                "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "no-advanced.config")}

    def start(self) -> PrivateRabbitMQ:
        with open(self.directory / "rabbitmq.out", "wb") as log:
            self.process = subprocess.Popen(["rabbitmq-server"], env=self._environment(),
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        wait_until(lambda: _answers(self.port) or self.process.poll() is not None,
                   "the private RabbitMQ node to listen", START_TIMEOUT)
        assert self.process.poll() is None, self.log()
        return self

    def _ctl(self, *command: str) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.node, *command], check=True,
                       capture_output=True, timeout=60)

    def stop_app(self) -> None:
        """The outage: the node stops serving AMQP (connections are closed and refused)."""
        self._ctl("stop_app")

    def start_app(self) -> None:
        self._ctl("start_app")
        wait_until(lambda: _answers(self.port), "the private RabbitMQ node to listen again",
                   START_TIMEOUT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        path = self.directory / "rabbitmq.out"
        return path.read_text(errors="replace") if path.exists() else ""


class PrivateRedis:
    """A ``redis-server`` of one test on 127.0.0.1 (and the ``also`` addresses):
    :meth:`url` of database ``n``."""

    def __init__(self, directory: Path, also: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.also = also
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, database: int = 0, address: str = "127.0.0.1") -> str:
        return f"redis://{address}:{self.port}/{database}"

    def start(self) -> PrivateRedis:
        with open(self.directory / "redis.out", "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", *self.also, "--protected-mode", "no",
                 "--port", str(self.port), "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: _answers(self.port) or self.process.poll() is not None,
                   "the private Redis to listen", START_TIMEOUT)
        assert self.process.poll() is None, (self.directory / "redis.out").read_text()
        return self

    def shutdown(self) -> None:
        """The outage: the server goes away, and with it everything it held."""
        self.stop()

    def restart(self) -> None:
        self.start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def private_rabbitmq():
    # Not under tmp_path: the node runs as the rabbitmq user, who cannot enter pytest's
    # private directories.
    directory = Path(tempfile.mkdtemp(prefix="maus-test-rabbitmq-"))
    server = PrivateRabbitMQ(directory)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def private_redis(tmp_path):
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(directory)
    try:
        yield server.start()
    finally:
        server.stop()
