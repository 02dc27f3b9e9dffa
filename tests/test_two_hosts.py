"""Two hosts on one machine: a worker on a farm node of its own, whose network link is cut in
the middle of a run and restored (issue 12).

The test makes the second host itself: a network namespace joined to this one by a veth pair
(`ip netns`, Debian's iproute2). A RabbitMQ node and a Redis of the test's own listen on
127.0.0.1 and on this side's veth address; the worker runs inside the namespace and reaches
them only over the veth link; go.py runs here. Mid-run the link goes down (`ip link set
down`) for a few seconds and comes back. Nothing is lost, the worker goes on, and the final
bins equal a single-thread run. Skipped, saying why, where namespaces cannot be made (not
root, no iproute2).
"""
from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from maus_online.configuration import default_configuration
from tests.celery_workers import REPO_ROOT, go_in_background, run_go
from tests.private_servers import PrivateRabbitMQ, PrivateRedis
from tests.processes import Background, wait_until
from tests.test_outages import reduced
from tests.test_split_dataflows import sidecars

SPILLS = 30
COMMON = ["--particles_per_spill", "20", "--random_seed", "9", "--spill_count", str(SPILLS)]
#: Seconds the farm node's link stays down.
CUT = 6.0


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class FarmNode:
    """A network namespace joined to this one by a veth pair: ``host_address`` on this side,
    ``node_address`` inside. :meth:`cut` and :meth:`restore` take this side's end down and up."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.namespace = f"maus-node-{tag}"
        self.host_link, self.node_link = f"mh{tag}", f"mn{tag}"
        subnet = 1 + secrets.randbelow(250)
        self.host_address, self.node_address = f"10.213.{subnet}.1", f"10.213.{subnet}.2"

    def create(self) -> FarmNode:
        ip("netns", "add", self.namespace)
        ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.node_link)
        ip("link", "set", self.node_link, "netns", self.namespace)
        ip("addr", "add", f"{self.host_address}/24", "dev", self.host_link)
        ip("link", "set", self.host_link, "up")
        inside = ("netns", "exec", self.namespace, "ip")
        ip(*inside, "addr", "add", f"{self.node_address}/24", "dev", self.node_link)
        ip(*inside, "link", "set", self.node_link, "up")
        ip(*inside, "link", "set", "lo", "up")
        return self

    def cut(self) -> None:
        ip("link", "set", self.host_link, "down")

    def restore(self) -> None:
        ip("link", "set", self.host_link, "up")

    def command(self, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *command]

    def remove(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30)


@pytest.fixture
def farm_node():
    if shutil.which("ip") is None:
        pytest.skip("iproute2 (ip) is not installed: the two-host test makes its hosts with it")
    node = FarmNode()
    try:
        node.create()
    except subprocess.CalledProcessError as exc:
        node.remove()
        pytest.skip(f"cannot make a network namespace here ({exc.stderr.decode().strip()}): "
                    "the two-host test needs root (CAP_NET_ADMIN)")
    try:
        yield node
    finally:
        node.remove()


@pytest.fixture
def servers(farm_node, tmp_path):
    """RabbitMQ and Redis listening on 127.0.0.1 and on the veth address of this side."""
    # Not under tmp_path: the node runs as the rabbitmq user (tests/private_servers.py).
    directory = Path(tempfile.mkdtemp(prefix="maus-test-rabbitmq-"))
    (tmp_path / "redis").mkdir()
    broker = PrivateRabbitMQ(directory, also=(farm_node.host_address,))
    redis = PrivateRedis(tmp_path / "redis", also=(farm_node.host_address,))
    try:
        yield broker.start(), redis.start()
    finally:
        broker.stop()
        redis.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_farm_node_whose_link_is_cut_mid_run_loses_nothing(
        farm_node, servers, worker_env, queue, tmp_path):
    broker, redis = servers
    here = {**worker_env, "MAUS_BROKER_URL": broker.url, "MAUS_RESULT_BACKEND": redis.url(0),
            "MAUS_SPILL_EXCHANGE_URL": redis.url(1)}
    there = {**worker_env, "MAUS_BROKER_URL": broker.url_at(farm_node.host_address),
             "MAUS_RESULT_BACKEND": redis.url(0, farm_node.host_address),
             "MAUS_SPILL_EXCHANGE_URL": redis.url(1, farm_node.host_address)}
    name = f"node-{uuid.uuid4().hex[:6]}"
    worker = Background(farm_node.command(
        sys.executable, "-m", "celery", "-A", "workers", "worker", "-c", "2", "-l", "INFO",
        "-n", f"{name}@farm", "-Q", queue, "--without-mingle", "--without-gossip"),
        cwd=REPO_ROOT, env=there, name=name, log_dir=tmp_path)
    from workers.app import create_app

    app = create_app({**default_configuration(), "broker_url": broker.url,
                      "result_backend": redis.url(0)})
    try:
        wait_until(lambda: app.control.ping(destination=[f"{name}@farm"], timeout=0.5),
                   "the worker in its namespace answering", 90, process=worker)
        single = run_go(queue, here, tmp_path, *COMMON, "--image_directory", "single")
        assert single.returncode == 0, single.stderr
        url = f"sqlite:///{tmp_path}/store.db"
        with go_in_background(queue, here, tmp_path, *COMMON, "--spill_interval", "0.2",
                              "--type_of_dataflow", "multi_process", "--doc_store_url", url,
                              "--image_directory", "multi") as go:
            wait_until(lambda: reduced(tmp_path) >= 6, "the run under way", process=go)
            farm_node.cut()
            try:
                time.sleep(CUT)  # the fault itself: how long the link stays down
            finally:
                farm_node.restore()
            stdout, stderr = go.communicate(timeout=300)
        assert go.returncode == 0, stdout + stderr + worker.output()
        assert "Traceback" not in stderr
        assert f"spills by worker: {name}@farm {SPILLS}" in stdout, stdout  # it went on
        assert sidecars(tmp_path / "multi") == sidecars(tmp_path / "single")
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # a warm shutdown, as systemd stops a worker
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.stop()
        app.close()
