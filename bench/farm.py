"""What the benchmarks that run real Celery workers share: workers, private control, CPU from /proc.

* :class:`BenchWorker` -- ``celery -A workers worker`` as the brief starts one (``-l WARNING``),
  on a private queue;
* :func:`worker_env` and :func:`private_app` -- a remote-control exchange of the benchmark's
  own, so that another go.py on the machine (the tests, a shifter) cannot re-born the
  measured workers, nor the benchmark theirs;
* :func:`executor_factory` -- the ``CeleryExecutor`` go.py would make, talking to one node only,
  remembering when the workers' birth ended (the clock of a ``multi_process`` rate starts
  there);
* CPU seconds of processes and their children, read from ``/proc`` (clock ticks).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from maus_online.dataflows import ProgressDisplay, RunStatistics  # noqa: E402
from maus_online.modules import InputBase  # noqa: E402
from tests.celery_workers import WorkerProcess  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
WORKER_START_TIMEOUT = 60.0
#: Celery remote control of one benchmark run only: a private control exchange.
CONTROL_EXCHANGE = f"maus-bench-{uuid.uuid4().hex[:8]}"


class BenchWorker(WorkerProcess):
    """A worker as the brief starts it: ``-l WARNING``, so logging costs no CPU per task."""

    def start(self) -> BenchWorker:
        command = [sys.executable, "-m", "celery", "-A", "workers", "worker",
                   "-c", str(self.concurrency), "-l", "WARNING", "-Q", self.queue, "--purge",
                   "-n", self.nodename, "--without-mingle", "--without-gossip"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self


def worker_env(scratch: Path) -> dict[str, str]:
    """The workers' environment: the checkout, and the benchmark's private control exchange
    (Celery reads ``$CELERY_CONFIG_MODULE`` when the ``workers`` app loads its
    configuration, so the worker command stays the documented one)."""
    (scratch / "bench_celeryconfig.py").write_text(
        f"control_exchange = {CONTROL_EXCHANGE!r}\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), str(scratch), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["CELERY_CONFIG_MODULE"] = "bench_celeryconfig"
    return env


def private_app(config: Mapping[str, Any]) -> Any:
    """A Celery app of ``config`` on the benchmark's control exchange."""
    from workers.app import create_app

    app = create_app(config)
    app.conf.control_exchange = CONTROL_EXCHANGE  # before app.control is first made
    return app


class OnlyTo:
    """``app.control`` that pings and broadcasts to one node only; everything else (``inspect``)
    is Celery's own control object."""

    def __init__(self, control: Any, nodename: str) -> None:
        self._control, self._destination = control, [nodename]

    def ping(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("destination", self._destination)
        return self._control.ping(*args, **kwargs)

    def broadcast(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("destination", self._destination)
        return self._control.broadcast(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._control, name)


class ExecutorFactory:
    """Makes the ``CeleryExecutor`` of a run (as go.py's factory does), on a private app that
    talks to ``nodename`` only; ``made`` is the last one, ``configured_at`` when its birth ended."""

    def __init__(self, nodename: str) -> None:
        self.nodename = nodename
        self.made: Any = None

    def __call__(self, config: Mapping[str, Any], **options: Any) -> Any:
        from workers.executor import CeleryExecutor

        class TimedExecutor(CeleryExecutor):
            configured_at: float | None = None

            def configure(self, *args: Any, **kwargs: Any) -> Any:
                reports = super().configure(*args, **kwargs)
                self.configured_at = time.perf_counter()
                return reports

            def close(self) -> None:
                try:
                    super().close()
                finally:
                    self.app.close()

        app = private_app(config)
        app.control = OnlyTo(app.control, self.nodename)
        self.made = TimedExecutor(config, app=app, **options)
        return self.made


# --- CPU time of processes ----------------------------------------------------------------

def cpu_ticks(pid: int) -> int | None:
    """utime + stime of ``pid`` (all its threads), in clock ticks; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def _stat_pids() -> Iterator[tuple[int, bytes]]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stream:
                    yield int(entry), stream.read().rsplit(b")", 1)[1]
            except OSError:
                continue


def children_of(pid: int) -> list[int]:
    return [child for child, rest in _stat_pids() if int(rest.split()[1]) == pid]


def tree_ticks(pid: int) -> dict[int, int]:
    """CPU ticks of ``pid`` and of each of its children, by PID."""
    ticks = {}
    for one in [pid, *children_of(pid)]:
        value = cpu_ticks(one)
        if value is not None:
            ticks[one] = value
    return ticks


def ticks_spent(before: dict[int, int], after: dict[int, int], only: int | None = None) -> float:
    """Seconds of CPU between two :func:`tree_ticks` (a new child counts from zero)."""
    return sum(value - before.get(pid, 0) for pid, value in after.items()
               if only is None or pid == only) / CLK_TCK


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as stream:
                    if stream.read().strip() in names:
                        found.append(int(entry))
            except OSError:
                continue
    return found


# --- Runs -----------------------------------------------------------------------------------

@dataclass
class Row:
    """One measured run: spills, wall seconds, and CPU seconds where they were measured."""

    label: str
    spills: int
    seconds: float
    parent_cpu: float | None = None   # this (go.py-side) process
    worker_cpu: float | None = None   # the workers (main + sub-processes) or the pool
    server_cpu: float | None = None   # redis-server and RabbitMQ (beam.smp)
    worker_main_cpu: float | None = None  # the part of worker_cpu spent in the main process
    failed: int = 0
    store_bytes: int | None = None    # the SQLite store and its WAL, after the run
    drawing: float | None = None      # seconds the end-of-run images took after the last spill

    @property
    def rate(self) -> float:
        return self.spills / self.seconds if self.seconds > 0 else 0.0


class QuietProgress(ProgressDisplay):
    """No progress line; the dataflow's notes (workers' birth reports) are kept, not printed."""

    def __init__(self, stats: RunStatistics) -> None:
        super().__init__(stats, enabled=False)
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


class TimedInput(InputBase):
    """Wraps an input; remembers when the dataflow asked for its first spill."""

    def __init__(self, inner: InputBase) -> None:
        self.inner = inner
        self.started: float | None = None
        self.cpu_started: float | None = None

    def birth(self, config: Mapping[str, Any]) -> None:
        self.inner.birth(config)

    def emitter(self) -> Iterator[dict[str, Any]]:
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        return self.inner.emitter()

    def death(self) -> None:
        self.inner.death()


def sqlite_bytes(url: str) -> int:
    """Bytes of a SQLite store's file and its write-ahead log."""
    path = Path(url.removeprefix("sqlite:///"))
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal"))
               if p.exists())
