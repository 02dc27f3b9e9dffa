"""Real Celery workers for the tests: `celery -A workers worker` in a subprocess of its own.

Each worker consumes a queue private to its test, so tests cannot see each other's spills,
and runs in its own session, so a test can SIGKILL the whole worker like a node that dies.
Test-only maps (a slow one, one that raises what cannot be pickled, one whose birth fails, one
with configuration keys of its own) reach workers and go.py the way any third-party module
does: an entry point of a distribution on ``PYTHONPATH``.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from maus_online.configuration import default_configuration
from tests.conftest import REPO_ROOT
from tests.processes import Background

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

PLUGIN_MODULE = '''
"""Modules that exist only to exercise failure handling on the workers and in drawing."""
import os
import threading
import time

import boost_histogram as bh

from maus_online.modules import MapBase
from reducers.matplotlib_histogram import ReducePyMatplotlibHistogram
from reducers.plotting import Plot


class MapPySlowDown(MapBase):
    """Takes 0.1 s per physics spill, so that a worker is always busy when it is killed."""

    def process(self, spill):
        if spill.get("daq_event_type") == "physics_event":
            time.sleep(0.1)
            spill["slowed_down"] = True
        return spill


class Unpicklable(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()  # a lock cannot be pickled


class MapPyRaiseUnpicklable(MapBase):
    def process(self, spill):
        if spill.get("daq_event_type") == "physics_event":
            raise_it(spill["spill_number"])
        return spill


def raise_it(number):
    raise Unpicklable(f"deliberate failure in spill {number}")


class MapPyBirthFails(MapBase):
    def birth(self, config):
        raise RuntimeError("calibration database unreachable (deliberate)")


class MapPyTagged(MapBase):
    """Writes a tag of its own configuration keys into each physics spill: a plug-in that
    declares its keys instead of editing conf/defaults.toml."""

    config_keys = {
        "test_plugin_tag": {"type": "str", "default": "untagged",
                            "help": "What MapPyTagged writes into each physics spill."},
        "test_plugin_repeat": {"type": "int", "default": 1, "minimum": 1,
                               "help": "How many times MapPyTagged repeats its tag."},
    }

    def birth(self, config):
        self.tag = config["test_plugin_tag"] * config["test_plugin_repeat"]

    def process(self, spill):
        if spill.get("daq_event_type") == "physics_event":
            spill["plugin_tag"] = self.tag
        return spill


class ReducePyGatedDraw(ReducePyMatplotlibHistogram):
    """Draws its one plot only once its gate file exists, or ends the drawing process when
    told: a test holds the drawing process busy, or kills it, without timing anything."""

    spill_fields = ()
    config_keys = {
        "test_draw_gate": {"type": "str", "default": "",
                           "help": "File whose existence lets ReducePyGatedDraw draw."},
        "test_draw_crash": {"type": "bool", "default": False,
                            "help": "ReducePyGatedDraw ends the drawing process instead."},
    }

    def configure(self, config):
        self.gate, self.crash = config["test_draw_gate"], config["test_draw_crash"]

    def book(self):
        self.count = bh.Histogram(bh.axis.Integer(0, 3), storage=bh.storage.Int64())

    def histograms(self):
        return {"count": self.count}

    def fill(self, spill):
        self.count.fill([1])

    def plots(self):
        return [Plot("gated", "Gated", "A plot drawn when the test says.", ("test",),
                     {"Spills": self.count})]

    def render(self, plot, label):
        if self.crash:
            os._exit(3)
        deadline = time.monotonic() + 60
        while self.gate and not os.path.exists(self.gate):
            if time.monotonic() > deadline:
                raise TimeoutError("the test never opened the gate")
            time.sleep(0.01)
        return f"PNG of {label}".encode()
'''


def write_plugin(directory: Path) -> Path:
    """A distribution declaring the test maps in the ``maus_online.modules`` group."""
    (directory / "maus_test_plugin.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    info = directory / "maus_test_plugin-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: maus-test-plugin\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[maus_online.modules]\n" + "".join(
        f"{name} = maus_test_plugin:{name}\n"
        for name in ("MapPySlowDown", "MapPyRaiseUnpicklable", "MapPyBirthFails",
                     "MapPyTagged", "ReducePyGatedDraw")))
    return directory


def subprocess_env(plugin_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_dir), str(REPO_ROOT),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class WorkerProcess:
    """One ``celery worker`` node, started, waited for, queried and stopped by a test."""

    def __init__(self, queue: str, log_dir: Path, env: dict[str, str], *,
                 concurrency: int = 2, name: str | None = None, purge: bool = True) -> None:
        self.name = name or f"test-{uuid.uuid4().hex[:6]}"
        self.nodename = f"{self.name}@{socket.gethostname()}"
        self.purge = purge  # a worker joining a running go.py must not drop its tasks
        self.queue, self.env, self.concurrency = queue, env, concurrency
        self.log_path = log_dir / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        command = [sys.executable, "-m", "celery", "-A", "workers", "worker",
                   "-c", str(self.concurrency), "-l", "INFO", *(["--purge"] if self.purge else []),
                   "-n", self.nodename,
                   "-Q", self.queue, "--without-mingle", "--without-gossip"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, app: Any, timeout: float = START_TIMEOUT) -> WorkerProcess:
        deadline = time.monotonic() + timeout
        while not app.control.ping(destination=[self.nodename], timeout=0.5):
            assert self.process.poll() is None, f"worker died at start:\n{self.log()}"
            assert time.monotonic() < deadline, f"worker not ready in {timeout} s:\n{self.log()}"
        return self

    def configuration(self, app: Any) -> dict[str, Any]:
        """The worker's answer to ``maus_configuration``."""
        replies = app.control.broadcast("maus_configuration", reply=True, timeout=10,
                                        destination=[self.nodename])
        assert replies, f"{self.nodename} did not answer maus_configuration"
        return replies[0][self.nodename]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --- Fixtures shared by the test modules that run real workers ----------------------------

GO_TIMEOUT = 240


@pytest.fixture(scope="module")
def celery_app():
    from workers.app import create_app

    app = create_app(default_configuration())
    yield app
    app.close()


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory):
    return subprocess_env(write_plugin(tmp_path_factory.mktemp("plugin")))


@pytest.fixture
def queue():
    return f"maus-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def start_workers(celery_app, worker_env, queue, tmp_path):
    """``start_workers(count, concurrency)``: ready workers on this test's queue."""
    started: list[WorkerProcess] = []

    def start(count: int = 1, concurrency: int = 2) -> list[WorkerProcess]:
        new = [WorkerProcess(queue, tmp_path, worker_env, concurrency=concurrency).start()
               for _ in range(count)]
        started.extend(new)
        return [worker.wait_ready(celery_app) for worker in new]

    yield start
    for worker in started:
        worker.stop()


def go_command(queue, *args):
    return [sys.executable, str(REPO_ROOT / "go.py"), "--progress", "false",
            "--task_queue", queue, *args]


@contextlib.contextmanager
def go_in_background(queue, worker_env, cwd, *args):
    """A go.py process running while the block runs (a :class:`tests.processes.Background`:
    its output readable meanwhile); killed if it is still there after."""
    process = Background(go_command(queue, *args), cwd=cwd, env=worker_env, name="go")
    try:
        yield process
    finally:
        process.stop()


def run_go(queue, worker_env, cwd, *args, timeout=GO_TIMEOUT):
    return subprocess.run(go_command(queue, *args), cwd=cwd, env=worker_env,
                          capture_output=True, text=True, timeout=timeout)
