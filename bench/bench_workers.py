"""Benchmark of the ``multi_process`` dataflow on real Celery workers (issue 3, item 8).

Run from the repository root: ``python bench/bench_workers.py [--spills N] [--quick]``.
Needs the machine's RabbitMQ and Redis (the configuration's ``broker_url``,
``result_backend`` and ``spill_exchange_url``); it starts and stops its own Celery workers,
one at a time, each on a private queue, and talks to nothing but them.

Measured in one run, printed as a table with ratios:

1. a simulated run (the input emits small skeletons, the full default chain runs where the
   transforms run): ``pipeline_single_thread`` in this process; ``multi_process`` with one
   worker of 1 and of 2 pool sub-processes; a plain ``multiprocessing.Pool(2)`` running the
   same chain on the same skeletons and returning what the merge side would get (the
   zero-overhead reference);
2. a replay of recorded raw spills through the reconstruction alone: ``multi_process`` with 2
   sub-processes against ``Pool(2)`` fed by the same ``InputPyJSON`` emitter in the parent;
3. the framework's own CPU cost per spill: a do-nothing transform through Celery, one spill
   in flight, with an empty skeleton and with a 200-trigger reconstructed spill sent whole
   both ways, beside one orjson encode + decode of the same spill in this process.

Rates count physics spills only. Single thread: from the first spill read (transforms born) to
the end of the run; ``multi_process``: from the end of the workers' birth (``configure()``
returned) to the end of the run; ``Pool``: from every pool process born to the last result.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import platform
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from maus_online import __version__, codec
from maus_online.configuration import default_configuration
from maus_online.dataflows import ProgressDisplay, RunStatistics, assemble
from maus_online.dataflows.multi_process import run_multi_process
from maus_online.dataflows.pipeline_single_thread import run_pipeline_single_thread
from maus_online.doc_store import open_doc_store
from maus_online.errors import ConfigurationError
from maus_online.inputs import input_failed
from maus_online.modules import InputBase, MapBase, apply_map, fields_read
from maus_online.registry import build_default_registry
from maus_online.specification import (
    build_transform,
    format_specification,
    parse_specification,
)
from maus_online.spill import project
from maus_online.tuning import tune_garbage_collector
from tests.celery_workers import WorkerProcess

RECONSTRUCTION = "MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits, MapPyTOFSpacePoints)"
DO_NOTHING = "MapPyGroup()"
#: The merge side of every dataflow here (the brief's "default reducers"): spill counting only.
MERGE_REDUCERS = "ReducePyCountSpills"
CLK_TCK = os.sysconf("SC_CLK_TCK")
WORKER_START_TIMEOUT = 60.0
#: Longest wait for one spill in the framework-cost loop before the benchmark gives up.
ROUND_TRIP_TIMEOUT = 60.0


class BenchTimeout(Exception):
    """The whole benchmark ran longer than ``--timeout``."""


# --- Celery workers -----------------------------------------------------------------------

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


#: Celery remote control of this benchmark only: a private control exchange (see worker_env).
CONTROL_EXCHANGE = f"maus-bench-{uuid.uuid4().hex[:8]}"


def worker_env(scratch: Path) -> dict[str, str]:
    """The workers' environment: the checkout, and the benchmark's private control exchange.

    The broker is shared with whoever else runs go.py or the worker tests on this machine;
    their birth broadcasts would re-born the benchmark's workers mid-measurement (and ours
    theirs). Celery reads ``$CELERY_CONFIG_MODULE`` when the ``workers`` app loads its
    configuration, so the worker command stays the documented one.
    """
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
    """``app.control`` that pings and broadcasts to one node only.

    Both benchmark workers listen on the private control exchange; a birth must reach only
    the one being measured, however the executor discovers workers. Everything else
    (``inspect``, ...) is Celery's own control object, whose requests come back here.
    """

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


def make_executor(config: Mapping[str, Any], nodename: str) -> Any:
    """A CeleryExecutor on a private app, talking to ``nodename`` only, timing its birth."""
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
    app.control = OnlyTo(app.control, nodename)
    return TimedExecutor(config, app=app)


# --- CPU time of processes ----------------------------------------------------------------

def cpu_ticks(pid: int) -> int | None:
    """utime + stime of ``pid`` (all its threads), in clock ticks; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stream:
                    if int(stream.read().rsplit(b")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def tree_ticks(pid: int) -> dict[int, int]:
    """CPU ticks of ``pid`` and of each of its children, by PID."""
    ticks = {}
    for one in [pid, *children_of(pid)]:
        value = cpu_ticks(one)
        if value is not None:
            ticks[one] = value
    return ticks


def ticks_spent(before: dict[int, int], after: dict[int, int],
                only: int | None = None) -> float:
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


# --- Measurements -------------------------------------------------------------------------

@dataclass
class Row:
    label: str
    spills: int
    seconds: float
    parent_cpu: float | None = None   # seconds of CPU in this (go.py-side) process
    worker_cpu: float | None = None   # seconds of CPU in the workers (main + sub-processes)
    server_cpu: float | None = None   # seconds of CPU in redis-server and RabbitMQ (beam.smp)
    worker_main_cpu: float | None = None  # the part of worker_cpu spent in the main process
    failed: int = 0

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


def check_interrupted(stats: RunStatistics) -> None:
    if stats.interrupted:
        raise KeyboardInterrupt


def run_single_thread(config: dict[str, Any], label: str) -> Row:
    stages = assemble(config, build_default_registry())
    timed = stages.inputter = TimedInput(stages.inputter)
    stats = RunStatistics()
    run_pipeline_single_thread(stages, config, stats, QuietProgress(stats))
    end, cpu = time.perf_counter(), time.process_time()
    check_interrupted(stats)
    return Row(label, stats.physics_done, end - timed.started,
               parent_cpu=cpu - timed.cpu_started, failed=stats.spills_failed)


def run_multi(config: dict[str, Any], worker: BenchWorker, label: str,
              profile: cProfile.Profile | None = None) -> Row:
    stages = assemble(config, build_default_registry())
    stats = RunStatistics()
    progress = QuietProgress(stats)
    executor = make_executor(config, worker.nodename)
    marks: dict[str, Any] = {}

    configure = executor.configure

    def configure_and_mark(*args: Any, **kwargs: Any) -> Any:
        reports = configure(*args, **kwargs)
        marks["cpu"] = time.process_time()
        marks["workers"] = tree_ticks(worker.process.pid)
        if profile is not None:
            profile.enable()
        return reports

    executor.configure = configure_and_mark
    try:
        run_multi_process(stages, config, stats, progress, executor)
    finally:
        if profile is not None:
            profile.disable()
    end = time.perf_counter()
    cpu = time.process_time()
    workers = tree_ticks(worker.process.pid)
    check_interrupted(stats)
    if executor.configured_at is None:
        raise RuntimeError(f"{label}: the workers were never configured")
    return Row(label, stats.physics_done, end - executor.configured_at,
               parent_cpu=cpu - marks["cpu"], worker_cpu=ticks_spent(marks["workers"], workers),
               worker_main_cpu=ticks_spent(marks["workers"], workers, worker.process.pid),
               failed=stats.spills_failed)


# Pool(2): the zero-overhead reference. Module-level state of each pool process.
_pool_chain: MapBase | None = None
_pool_fields: list[str] | None = None


def _pool_init(spec: Any, config: dict[str, Any], fields: list[str] | None,
               barrier: Any) -> None:
    global _pool_chain, _pool_fields
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent handles Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    tune_garbage_collector()
    _pool_chain = build_transform(spec, build_default_registry())
    _pool_chain.birth(config)
    _pool_fields = fields
    barrier.wait()  # every process born before the clock starts


def _pool_process(spill: dict[str, Any]) -> dict[str, Any]:
    return project(apply_map(_pool_chain, spill), _pool_fields)


def run_pool(config: dict[str, Any], processes: int, label: str) -> Row:
    stages = assemble(config, build_default_registry())
    fields = fields_read([*stages.reducers, *stages.outputters])
    inputter = stages.inputter
    inputter.birth(config)
    # Not "fork": a forked child would inherit this process's pooled broker connection, and
    # kombu's after-fork clean-up in the child closes it under the parent's feet.
    context = multiprocessing.get_context("forkserver")
    barrier = context.Barrier(processes + 1)
    spills = failed = 0
    with context.Pool(processes, _pool_init,
                      (stages.specification, config, fields, barrier)) as pool:
        barrier.wait(timeout=WORKER_START_TIMEOUT)
        pids = [process.pid for process in pool._pool]
        before = {pid: cpu_ticks(pid) or 0 for pid in pids}
        cpu0, start = time.process_time(), time.perf_counter()
        physics = (spill for spill in inputter.emitter()
                   if spill.get("daq_event_type") == "physics_event" and not input_failed(spill))
        for result in pool.imap(_pool_process, physics, chunksize=1):
            spills += 1
            failed += bool(result.get("errors"))
        end, cpu = time.perf_counter(), time.process_time()
        after = {pid: cpu_ticks(pid) or 0 for pid in pids}
    inputter.death()
    return Row(label, spills, end - start, parent_cpu=cpu - cpu0,
               worker_cpu=ticks_spent(before, after), failed=failed)


def record_spills(config: dict[str, Any], path: Path) -> tuple[int, int]:
    """Simulate a run with the full chain here; write raw spills (daq_data only) as JSON lines."""
    stages = assemble(config, build_default_registry())
    stages.inputter.birth(config)
    stages.transformer.birth(config)
    count = 0
    with open(path, "wb") as stream:
        for spill in stages.inputter.emitter():
            if spill.get("daq_event_type") == "physics_event":
                spill = apply_map(stages.transformer, spill)
                spill.pop("mc_events", None)
                spill.pop("recon_events", None)
                count += 1
            stream.write(codec.dumps_line(spill))
    stages.transformer.death()
    stages.inputter.death()
    return count, path.stat().st_size


def reconstructed_spill(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The first recorded raw spill through the reconstruction: daq_data + recon_events."""
    with open(path, "rb") as stream:
        spill = next(s for s in map(codec.loads, stream)
                     if s.get("daq_event_type") == "physics_event")
    chain = build_transform(parse_specification(RECONSTRUCTION), build_default_registry())
    chain.birth(config)
    spill = apply_map(chain, spill)
    chain.death()
    return spill


def codec_cost(spill: dict[str, Any], repeats: int) -> tuple[float, float]:
    """CPU seconds of one orjson encode and of one decode of ``spill`` in this process.

    The decode includes freeing the previous decoded copy, as a process handling spill after
    spill pays it.
    """
    body = codec.dumps(spill)
    decoded = codec.loads(body)
    encode = decode = 0.0
    for _ in range(repeats):
        t0 = time.process_time()
        body = codec.dumps(spill)
        t1 = time.process_time()
        decoded = codec.loads(body)  # noqa: F841 - the old copy is freed here
        t2 = time.process_time()
        encode, decode = encode + t1 - t0, decode + t2 - t1
    return encode / repeats, decode / repeats


def framework_cost(config: dict[str, Any], worker: BenchWorker, spill: dict[str, Any],
                   count: int, label: str) -> Row:
    """Round trips of ``spill`` through a do-nothing transform, one in flight, sent back whole."""
    executor = make_executor(config, worker.nodename)
    spec = parse_specification(DO_NOTHING)
    store = open_doc_store(config)
    try:
        executor.configure(spec, config, config["run_number"], None)
        for _ in range(3):  # warm-up: connections, first-call costs
            _round_trip(executor, store, spill)
        servers = pids_named("redis-server", "beam.smp")
        servers0 = {pid: cpu_ticks(pid) for pid in servers}
        workers0, cpu0 = tree_ticks(worker.process.pid), time.process_time()
        start = time.perf_counter()
        for _ in range(count):
            _round_trip(executor, store, spill)
        end, cpu = time.perf_counter(), time.process_time()
        workers = tree_ticks(worker.process.pid)
        servers1 = {pid: cpu_ticks(pid) for pid in servers}
    finally:
        executor.close()
        store.close()
    known = [pid for pid in servers if servers0[pid] is not None and servers1[pid] is not None]
    server_cpu = (sum(servers1[pid] - servers0[pid] for pid in known) / CLK_TCK
                  if known else None)
    return Row(label, count, end - start, parent_cpu=cpu - cpu0,
               worker_cpu=ticks_spent(workers0, workers), server_cpu=server_cpu,
               worker_main_cpu=ticks_spent(workers0, workers, worker.process.pid))


def _round_trip(executor: Any, store: Any, spill: dict[str, Any]) -> None:
    """One spill to a worker and back through the document store (as merge-output reads it)."""
    seq = store.last_seq() + 1
    executor.submit(spill, seq)
    deadline = time.monotonic() + ROUND_TRIP_TIMEOUT
    while True:
        done = executor.collect(1.0)
        if done:
            if done[0].error is not None:
                raise RuntimeError(f"do-nothing transform failed: {done[0].error}")
            if len(store.get(seq).decode()) != len(spill):
                raise RuntimeError("the spill did not come back whole")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no result within {ROUND_TRIP_TIMEOUT:g} s")


# --- Report -------------------------------------------------------------------------------

def ms(seconds: float | None, spills: int) -> str:
    return "-" if seconds is None or not spills else f"{1e3 * seconds / spills:.2f}"


def table(rows: list[Row], rounds: list[str]) -> list[str]:
    lines = [(f"  {'dataflow':<46} {'spills':>6} {'wall s':>7} {'spills/s':>9} "
              f"{'go.py CPU':>10} {'workers CPU':>12}  spills/s"),
             (f"  {'':<46} {'':>6} {'':>7} {'':>9} {'ms/spill':>10} {'ms/spill':>12}  "
              "all rounds")]
    for row, every in zip(rows, rounds):
        failed = f"   FAILED {row.failed}" if row.failed else ""
        lines.append(f"  {row.label:<46} {row.spills:>6} {row.seconds:>7.2f} {row.rate:>9.1f} "
                     f"{ms(row.parent_cpu, row.spills):>10} "
                     f"{ms(row.worker_cpu, row.spills):>12}  {every}{failed}")
    return lines


def main_process_share(rows: list[Row]) -> list[str]:
    return [f"  {row.label}: workers CPU = main process {ms(row.worker_main_cpu, row.spills)}"
            f" + sub-processes {ms(row.worker_cpu - row.worker_main_cpu, row.spills)} ms/spill"
            for row in rows if row.worker_main_cpu is not None and row.worker_cpu is not None]


def ratio(label: str, numerators: list[Row], denominators: list[Row],
          target: float | None = None) -> str:
    """Best against best, and round by round (the two of one round ran seconds apart).

    The target is judged on the median of the rounds' ratios: a burst of load from other
    users then spoils one round, not the verdict.
    """
    def of(numerator: Row, denominator: Row) -> float:
        return numerator.rate / denominator.rate if denominator.rate else float("nan")

    rounds = [of(n, d) for n, d in zip(numerators, denominators)]
    typical = statistics.median(rounds)
    line = (f"  {label:<38} best/best {of(best(numerators), best(denominators)):5.2f}, "
            f"median of rounds {typical:5.2f} ({'/'.join(f'{r:.2f}' for r in rounds)})")
    if target is not None:
        line += f"   target >= {target:g}: {'met' if typical >= target else 'MISSED'}"
    return line


def versions() -> str:
    names = ("celery", "kombu", "redis", "orjson")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def hide_password(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


def print_profile(profile: cProfile.Profile, title: str, limit: int) -> None:
    for order in ("tottime", "cumulative"):
        stream = io.StringIO()
        pstats.Stats(profile, stream=stream).sort_stats(order).print_stats(limit)
        text = stream.getvalue()
        body = text[text.find("   ncalls"):] if "   ncalls" in text else text
        print(f"\n{title}: go.py side under cProfile, top {limit} by {order}")
        print(body.rstrip())


# --- Main ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=150,
                        help="physics spills per measurement (default 150)")
    parser.add_argument("--particles", type=int, default=200,
                        help="particles (triggers) per spill (default 200)")
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run: 30 spills, fewer framework round trips")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, profile the go.py side of an extra multi_process "
                             "run (2 sub-processes; simulated and replayed) with cProfile")
    parser.add_argument("--spill-validation", default=None,
                        help="spill_validation of InputPyJSON in the replay (default: the "
                             "configuration's default); the replay's go.py side is mostly this")
    parser.add_argument("--repeat", type=int, default=None,
                        help="interleaved rounds of every measurement; the best counts "
                             "(default 3, 1 with --quick)")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="stop (and stop the workers) after this many seconds (default 1200)")
    args = parser.parse_args(argv)
    if args.quick:
        args.spills = min(args.spills, 30)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.spills < 1 or args.repeat < 1:
        parser.error("--spills and --repeat must be at least 1")
    try:
        default_configuration({"particles_per_spill": args.particles} | (
            {} if args.spill_validation is None else {"spill_validation": args.spill_validation}))
    except ConfigurationError as exc:
        parser.error(str(exc))

    def on_alarm(*_: Any) -> None:
        raise BenchTimeout(f"the benchmark ran longer than --timeout {args.timeout:g} s")

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(max(1, int(args.timeout)))
    tune_garbage_collector()

    workers: list[BenchWorker] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench_workers-") as scratch:
            try:
                return run(args, Path(scratch), workers)
            finally:
                stop_all(workers)
    except KeyboardInterrupt:
        print("bench_workers: interrupted", file=sys.stderr)
        return 130
    except BenchTimeout as exc:
        print(f"bench_workers: {exc}", file=sys.stderr)
        return 1


def stop_all(workers: list[BenchWorker]) -> None:
    """Stop every worker started; a second Ctrl-C or the alarm must not leave one running."""
    signal.alarm(0)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker in workers:
            worker.stop()
        workers.clear()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def say(text: str) -> None:
    """Where the benchmark is, on standard error (the report goes to standard output)."""
    print(f"[bench_workers] {text}", file=sys.stderr, flush=True)


def best(rows: list[Row]) -> Row:
    """The fastest of repeated measurements: other load on the machine only ever slows one."""
    return max(rows, key=lambda row: row.rate)


def median_row(rows: list[Row]) -> Row:
    """Each figure the median over repeated measurements (CPU costs scatter both ways)."""
    def mid(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    return Row(rows[0].label, rows[0].spills, mid([r.seconds for r in rows]),
               parent_cpu=mid([r.parent_cpu for r in rows]),
               worker_cpu=mid([r.worker_cpu for r in rows]),
               server_cpu=mid([r.server_cpu for r in rows]),
               worker_main_cpu=mid([r.worker_main_cpu for r in rows]),
               failed=sum(r.failed for r in rows))


def run(args: argparse.Namespace, scratch: Path, workers: list[BenchWorker]) -> int:
    n = args.spills
    base = default_configuration({
        "particles_per_spill": args.particles, "spill_count": n, "progress": False,
        "reducers": [MERGE_REDUCERS], "outputters": [], "output_json_file_name": "",
        "image_directory": str(scratch / "images"),
        "doc_store_url": f"sqlite:///{scratch / 'doc_store.sqlite'}",
    })
    simulated = dict(base)
    merge_side = assemble(simulated, build_default_registry())
    return_fields = fields_read([*merge_side.reducers, *merge_side.outputters])
    recording = scratch / "recorded.jsonl"
    replay = dict(base, inputter="InputPyJSON", input_json_file_name=str(recording),
                  transformer=RECONSTRUCTION)
    if args.spill_validation is not None:
        replay = default_configuration({**replay, "spill_validation": args.spill_validation})
    env = worker_env(scratch)
    load_before = os.getloadavg()

    def start_worker(concurrency: int) -> BenchWorker:
        queue = f"maus-bench-{uuid.uuid4().hex[:8]}"
        worker = BenchWorker(queue, scratch, env, concurrency=concurrency,
                             name=f"bench-c{concurrency}-{uuid.uuid4().hex[:6]}")
        workers.append(worker.start())
        return worker

    def wait_ready(*started: BenchWorker) -> None:
        app = private_app(base)  # a worker that answers here listens on the private exchange
        try:
            for worker in started:
                worker.wait_ready(app, timeout=WORKER_START_TIMEOUT)
        finally:
            app.close()

    def on_queue(config: dict[str, Any], worker: BenchWorker, **more: Any) -> dict[str, Any]:
        return dict(config, task_queue=worker.queue, **more)

    say(f"recording {n} raw spills for the replay")
    recorded, recorded_bytes = record_spills(simulated, recording)
    empty = {"maus_event_type": "Spill", "daq_event_type": "physics_event",
             "run_number": base["run_number"], "spill_number": 1, "time_stamp": time.time(),
             "maus_online_version": __version__, "errors": {}}
    big = reconstructed_spill(recording, base)
    big_label = f"{len(big.get('recon_events', []))}-trigger reconstructed spill"
    trips_empty, trips_big = (100, 20) if args.quick else (max(300, n), n)

    say("starting workers -c 1 and -c 2 (each on its own queue; only one works at a time)")
    worker1, worker2 = start_worker(1), start_worker(2)
    wait_ready(worker1, worker2)
    cost_config = on_queue(base, worker1, max_spills_in_flight=1)

    results: dict[str, list[Row]] = {}
    measurements: list[tuple[str, Callable[[], Row]]] = [
        ("single", lambda: run_single_thread(simulated, "pipeline_single_thread (in-process)")),
        ("pool_sim", lambda: run_pool(simulated, 2, "multiprocessing.Pool(2), imap chunksize=1")),
        ("pool_replay", lambda: run_pool(replay, 2,
                                         "multiprocessing.Pool(2), parent reads the file")),
        ("multi1", lambda: run_multi(on_queue(simulated, worker1), worker1,
                                     "multi_process, 1 sub-process (-c 1)")),
        ("multi2", lambda: run_multi(on_queue(simulated, worker2), worker2,
                                     "multi_process, 2 sub-processes (-c 2)")),
        ("multi_replay", lambda: run_multi(on_queue(replay, worker2), worker2,
                                           "multi_process, 2 sub-processes (-c 2)")),
        ("cost_empty", lambda: framework_cost(cost_config, worker1, empty, trips_empty,
                                              "empty skeleton")),
        ("cost_big", lambda: framework_cost(cost_config, worker1, big, trips_big, big_label)),
    ]
    for round_number in range(1, args.repeat + 1):
        for key, measure in measurements:  # interleaved, so that a burst of load hits one round
            say(f"round {round_number}/{args.repeat}: {key}")
            results.setdefault(key, []).append(measure())
    codec_empty = codec_cost(empty, 2000)
    codec_big = codec_cost(big, 10 if args.quick else 40)
    profiles = []
    if args.profile:
        for title, config in (("simulated run", simulated), ("replay", replay)):
            say(f"profiling multi_process(2), {title}")
            profile = cProfile.Profile()
            run_multi(on_queue(config, worker2), worker2, title, profile)
            profiles.append((title, profile))
    for worker in (worker1, worker2):
        worker.stop()
        workers.remove(worker)
    load_after = os.getloadavg()

    # --- the report ---
    single, pool_sim, pool_replay, multi1, multi2, multi_replay = (
        best(results[key]) for key in ("single", "pool_sim", "pool_replay", "multi1",
                                       "multi2", "multi_replay"))
    cost_empty, cost_big = median_row(results["cost_empty"]), median_row(results["cost_big"])

    def on(numerator: str, denominator: str) -> tuple[list[Row], list[Row]]:
        return results[numerator], results[denominator]

    def all_rates(key: str) -> str:
        return "/".join(f"{row.rate:.0f}" for row in results[key])

    print(f"bench_workers: MAUS Online {__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}),"
          f" host {socket.gethostname()}")
    print(f"  {versions()}; broker {hide_password(base['broker_url'])}, result back end "
          f"{hide_password(base['result_backend'])}, spill exchange "
          f"{hide_password(base['spill_exchange_url'])}, all on loopback")
    print(f"  load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}: "
          f"other users of this machine slow some measurements")
    print(f"  {args.repeat} interleaved round(s); spills/s: the best round of each dataflow "
          f"(all rounds in the last column); ratios: best/best and round by round, targets "
          f"judged on the median of the rounds; section 3: medians")
    print("  workers: `celery -A workers worker -c N -l WARNING -Q <private queue> --purge "
          "--without-mingle --without-gossip`, remote control on a private exchange "
          "($CELERY_CONFIG_MODULE), births and pings sent to the measured node only")
    print("  garbage collector tuned (maus_online.tuning) here and in every worker and pool "
          "process; rates count physics spills; go.py CPU = this process, workers CPU = "
          "worker main + sub-processes (or the pool processes), from /proc")
    print(f"  merge side: reducers {MERGE_REDUCERS}, no outputs -> workers send back "
          f"return_fields {return_fields} (only the envelope: run, spill, type, errors); "
          f"the Pool returns spill.project() with the same fields")
    print()
    print(f"1. Simulated run: {n} physics spills x {args.particles} particles, "
          f"input InputPySpillGenerator (skeletons), transform on the workers")
    print(f"   chain {format_specification(merge_side.specification)}")
    print("   single thread: from the first spill read to the end of the run; multi_process: "
          "from configure() returned to the end; Pool: from every process born to the last "
          "result")
    print("\n".join(table([single, multi1, multi2, pool_sim],
                          [all_rates(k) for k in ("single", "multi1", "multi2", "pool_sim")])))
    print("\n".join(main_process_share([multi1, multi2])))
    print(ratio("multi_process(2) / single_thread", *on("multi2", "single"), 1.4))
    print(ratio("multi_process(2) / Pool(2)", *on("multi2", "pool_sim")))
    print(ratio("multi_process(1) / single_thread", *on("multi1", "single")))
    print(ratio("multi_process(2) / multi_process(1)", *on("multi2", "multi1")))
    print(ratio("Pool(2) / single_thread", *on("pool_sim", "single")))
    print()
    print(f"2. Replay: {recorded} recorded raw spills (daq_data only, {recorded_bytes / 1e6:.1f} "
          f"MB of JSON lines, {recorded_bytes / max(recorded, 1) / 1e6:.2f} MB/spill), "
          f"read by InputPyJSON (spill_validation {replay['spill_validation']!r}) in go.py")
    print(f"   chain {RECONSTRUCTION} on the workers / in the pool")
    print("\n".join(table([multi_replay, pool_replay],
                          [all_rates(k) for k in ("multi_replay", "pool_replay")])))
    print("\n".join(main_process_share([multi_replay])))
    print(ratio("multi_process(2) / Pool(2)", *on("multi_replay", "pool_replay"), 1.0))
    print()
    print(f"3. Framework CPU per spill: transform {DO_NOTHING} through Celery, worker -c 1, one "
          f"spill in flight (executor configure(..., return_fields=None), then submit/collect); "
          f"the spill goes in and comes back whole")
    print(f"   {'spill':<32} {'bytes':>10} {'trips':>6} {'wall ms':>8} {'go.py CPU':>10} "
          f"{'worker CPU':>11} {'(main+subs)':>12} {'servers':>8} {'orjson enc+dec':>15}")
    for row, (encode, decode), body in ((cost_empty, codec_empty, codec.dumps(empty)),
                                        (cost_big, codec_big, codec.dumps(big))):
        split = (f"{ms(row.worker_main_cpu, row.spills)}+"
                 f"{ms(row.worker_cpu - row.worker_main_cpu, row.spills)}")
        print(f"   {row.label:<32} {len(body):>10,} {row.spills:>6} "
              f"{ms(row.seconds, row.spills):>8} {ms(row.parent_cpu, row.spills):>10} "
              f"{ms(row.worker_cpu, row.spills):>11} {split:>12} "
              f"{ms(row.server_cpu, row.spills):>8} "
              f"{1e3 * (encode + decode):>7.3f} ({1e3 * encode:.2f}+{1e3 * decode:.2f})")
    print("   ms per spill. go.py and the worker each encode the spill once and decode it once "
          "per trip; 'servers' = redis-server + RabbitMQ CPU, shared with anything else using "
          f"them; /proc CPU times count in 1/{CLK_TCK} s ticks")
    for key, rows in results.items():
        for row in rows:
            if row.failed:
                print(f"WARNING: {row.label}: {row.failed} spills failed")
    for title, profile in profiles:
        print_profile(profile, f"multi_process(2), {title}", 20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
