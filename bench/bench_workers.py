"""Benchmark of the farm on the configuration the control room runs (issue 11).

Run from the repository root: ``python bench/bench_workers.py [--spills N] [--quick]``. Needs
the machine's RabbitMQ and Redis; it starts and stops its own Celery workers, each on a
private queue and a private control exchange, and talks to nothing but them.

Every run is the real configuration: the default chain (simulated beam, digitisation, TOF
reconstruction) on 200-trigger spills, the default reducers (ReducePyCountSpills,
ReducePyHistogramTDCADCCounts, ReducePyTOFPlot: the control room's 20 plots) and OutputPyImage.
Measured side by side, in interleaved rounds:

1. **headline**, images at the end of the run: ``pipeline_single_thread``; ``multi_process``
   with one worker of 1 and of 2 pool sub-processes; ``multiprocessing.Pool(2)`` doing the
   same spill side (chain + fill parts) with the parent adding the partials -- the ceiling
   with no framework at all;
2. **drawing during the run**: ``--refresh_rate 10`` at full speed against the same run with
   images at the end only, in single thread and in ``multi_process(2)``;
3. go.py's CPU per spill in ``multi_process(2)``, the rate one go.py could feed at that cost,
   and the worker cores that rate would keep busy at this chain's cost;
4. **merge-output alone**, reading stored partials (real ones, from this chain) out of
   SQLite: spills/s on one core;
5. the SQLite store's size (file + WAL) after each ``multi_process(2)`` run;
6. **the farm status's cost**: ``multi_process(2)`` with ``farm.json`` written every 2 s (the
   default, as in every other row) against the same run with ``--farm_status false``, round by
   round (target >= 0.97). ``--farm-only`` measures this pair alone.

**Rates** count physics spills, from the start (the first spill read; for ``multi_process``
the end of the workers' birth; for the Pool every process born) to the moment the end of the
run reached the outputs: every spill reduced. The end-of-run images are drawn after that by the
drawing process, the same 20 plots in every dataflow; that time is printed apart.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from farm import (WORKER_START_TIMEOUT, BenchWorker, ExecutorFactory, QuietProgress, Row,
                  TimedInput, private_app, sqlite_bytes, ticks_spent, tree_ticks, worker_env)

from maus_online import __version__, codec
from maus_online.configuration import default_configuration
from maus_online.dataflows import (MergeOutput, RunStatistics, SpillSide, assemble,
                                   spill_side_spec)
from maus_online.dataflows.merge_output import StoreReader
from maus_online.dataflows.multi_process import run_multi_process
from maus_online.dataflows.pipeline_single_thread import run_pipeline_single_thread
from maus_online.doc_store import (Retrying, StoredSpill, StreamContents, StreamState,
                                   open_doc_store)
from maus_online.errors import ConfigurationError
from maus_online.modules import OutputBase
from maus_online.registry import build_default_registry
from maus_online.specification import format_specification
from maus_online.spill import END_OF_RUN, PHYSICS_EVENT
from maus_online.tuning import tune_garbage_collector

#: Spills merge-output reads in section 4 (real stored spills, repeated).
MERGE_SPILLS = 3000


class BenchTimeout(Exception):
    """The whole benchmark ran longer than ``--timeout``."""


class EndOfRunClock(OutputBase):
    """An output that notes when the end of the run reached the outputs (every spill reduced;
    the final images are still being drawn)."""

    spill_fields = ()

    def __init__(self) -> None:
        self.ended: float | None = None
        self.cpu: float | None = None

    def save(self, document: dict[str, Any]) -> None:
        if document.get("daq_event_type") == END_OF_RUN and self.ended is None:
            self.ended, self.cpu = time.perf_counter(), time.process_time()


def stages_of(config: dict[str, Any]) -> tuple[Any, EndOfRunClock]:
    stages = assemble(config, build_default_registry())
    clock = EndOfRunClock()
    stages.outputters.append(clock)
    return stages, clock


def run_single_thread(config: dict[str, Any], label: str) -> Row:
    stages, clock = stages_of(config)
    timed = stages.inputter = TimedInput(stages.inputter)
    stats = RunStatistics()
    run_pipeline_single_thread(stages, config, stats, QuietProgress(stats))
    drawn = time.perf_counter()
    check_interrupted(stats)
    return Row(label, stats.physics_done, clock.ended - timed.started,
               parent_cpu=clock.cpu - timed.cpu_started, failed=stats.spills_failed,
               drawing=drawn - clock.ended)


def run_multi(config: dict[str, Any], worker: BenchWorker, label: str) -> Row:
    config = dict(config, doc_store_url=f"{config['doc_store_url']}.{uuid.uuid4().hex[:6]}")
    stages, clock = stages_of(config)
    stats = RunStatistics()
    factory = ExecutorFactory(worker.nodename)
    marks: dict[str, Any] = {}

    def executor(settled: dict[str, Any], **options: Any) -> Any:
        made = factory(settled, **options)  # outages=: the run's, as go.py's factory gets
        configure = made.configure

        def configure_and_mark(*args: Any) -> Any:
            reports = configure(*args)
            marks["cpu"], marks["workers"] = time.process_time(), tree_ticks(worker.process.pid)
            return reports

        made.configure = configure_and_mark
        return made

    run_multi_process(stages, config, stats, QuietProgress(stats), executor)
    drawn = time.perf_counter()
    workers = tree_ticks(worker.process.pid)
    check_interrupted(stats)
    if factory.made.configured_at is None:
        raise RuntimeError(f"{label}: the workers were never configured")
    return Row(label, stats.physics_done, clock.ended - factory.made.configured_at,
               parent_cpu=clock.cpu - marks["cpu"],
               worker_cpu=ticks_spent(marks["workers"], workers),
               worker_main_cpu=ticks_spent(marks["workers"], workers, worker.process.pid),
               failed=stats.spills_failed, store_bytes=sqlite_bytes(config["doc_store_url"]),
               drawing=drawn - clock.ended)


# Pool(2): the same spill side in each pool process, the parent adding the partials.
_pool_side: SpillSide | None = None


def _pool_init(config: dict[str, Any], barrier: Any) -> None:
    global _pool_side
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent handles Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    tune_garbage_collector()
    stages = assemble(config, build_default_registry())
    # What the workers store: the envelope and the partials.
    _pool_side = SpillSide.for_stages(stages, fields=())
    _pool_side.birth(config)
    barrier.wait()  # every process born before the clock starts


def _pool_process(spill: dict[str, Any]) -> bytes:
    return codec.dumps(_pool_side.process(spill))  # what crosses to the merge side


def run_pool(config: dict[str, Any], processes: int, label: str) -> Row:
    stages, clock = stages_of(config)
    stats = RunStatistics()
    merge = MergeOutput(stages.reducers, stages.outputters, config, stats)
    inputter = stages.inputter
    inputter.birth(config)
    # Not "fork": a child would inherit this process's pooled broker connection.
    context = multiprocessing.get_context("forkserver")
    barrier = context.Barrier(processes + 1)
    with context.Pool(processes, _pool_init, (config, barrier)) as pool:
        barrier.wait(timeout=WORKER_START_TIMEOUT)
        pids = [process.pid for process in pool._pool]
        before = {pid: tree_ticks(pid).get(pid, 0) for pid in pids}
        cpu0, start = time.process_time(), time.perf_counter()
        for body in pool.imap(_pool_process, inputter.emitter(), chunksize=1):
            merge.process(codec.loads(body))
        merge.finish()
        drawn = time.perf_counter()
        after = {pid: tree_ticks(pid).get(pid, 0) for pid in pids}
    inputter.death()
    return Row(label, stats.physics_done, clock.ended - start, parent_cpu=clock.cpu - cpu0,
               worker_cpu=ticks_spent(before, after), failed=stats.spills_failed,
               drawing=drawn - clock.ended)


def stored_partials(config: dict[str, Any], count: int) -> list[bytes]:
    """``count`` spills as the workers store them (envelope + partials), made by this chain."""
    stages = assemble(config, build_default_registry())
    side = SpillSide.for_stages(stages, fields=())
    side.birth(config)
    bodies = []
    stages.inputter.birth(config)
    for spill in stages.inputter.emitter():
        if spill.get("daq_event_type") == PHYSICS_EVENT:
            bodies.append(codec.dumps(side.process(spill)))
        if len(bodies) == count:
            break
    stages.inputter.death()
    side.death()
    return bodies


def run_merge_only(config: dict[str, Any], bodies: list[bytes], spills: int, label: str) -> Row:
    """merge-output over ``spills`` stored physics spills (``bodies`` repeated), one run."""
    url = f"{config['doc_store_url']}.merge-{uuid.uuid4().hex[:6]}"
    config = dict(config, doc_store_url=url, type_of_dataflow="multi_process_merge_output")
    store = open_doc_store(config)
    marker = {"maus_event_type": "Spill", "run_number": 1, "errors": {}}
    documents = [{**marker, "daq_event_type": "start_of_run", "spill_number": 0}]
    documents += [{**codec.loads(bodies[n % len(bodies)]), "spill_number": n + 1}
                  for n in range(spills)]
    documents.append({**marker, "daq_event_type": END_OF_RUN, "spill_number": spills + 1})
    for seq, document in enumerate(documents, start=1):
        store.put(StoredSpill.encode(seq, document))
    spill_side = spill_side_spec(assemble(config, build_default_registry()))
    store.save_stream(StreamState(len(documents), len(documents), True, "bench",
                                  StreamContents(spill_side.fillers, ())))
    stages, clock = stages_of(config)
    stats = RunStatistics()
    reader = StoreReader(MergeOutput(stages.reducers, stages.outputters, config, stats), store,
                         Retrying(10.0), config, stats, QuietProgress(stats))
    cpu0, start = time.process_time(), time.perf_counter()
    reader.open()
    while not reader.finished:
        reader.step()
    reader.close()
    drawn = time.perf_counter()
    store.close()
    return Row(label, stats.physics_done, clock.ended - start, parent_cpu=clock.cpu - cpu0,
               failed=stats.spills_failed, store_bytes=sqlite_bytes(url),
               drawing=drawn - clock.ended)


def check_interrupted(stats: RunStatistics) -> None:
    if stats.interrupted:
        raise KeyboardInterrupt


# --- Report -------------------------------------------------------------------------------

def ms(seconds: float | None, spills: int) -> str:
    return "-" if seconds is None or not spills else f"{1e3 * seconds / spills:.2f}"


def best(rows: list[Row]) -> Row:
    """The fastest of repeated measurements: other load on the machine only ever slows one."""
    return max(rows, key=lambda row: row.rate)


def median_of(rows: list[Row], attribute: str) -> float | None:
    values = [getattr(row, attribute) for row in rows if getattr(row, attribute) is not None]
    return statistics.median(values) if values else None


def table(results: dict[str, list[Row]], keys: list[str]) -> list[str]:
    lines = [(f"  {'dataflow':<50} {'spills':>6} {'spills/s':>9} {'go.py CPU':>10} "
              f"{'workers CPU':>12} {'final':>6}  spills/s"),
             (f"  {'':<50} {'':>6} {'best':>9} {'ms/spill':>10} {'ms/spill':>12} "
              f"{'draw s':>6}  all rounds")]
    for key in keys:
        rows = results[key]
        row = best(rows)
        failed = f"   FAILED {sum(r.failed for r in rows)}" if any(r.failed for r in rows) else ""
        drawing = median_of(rows, "drawing")
        lines.append(f"  {row.label:<50} {row.spills:>6} {row.rate:>9.1f} "
                     f"{ms(median_of(rows, 'parent_cpu'), row.spills):>10} "
                     f"{ms(median_of(rows, 'worker_cpu'), row.spills):>12} "
                     f"{drawing if drawing is not None else 0:>6.2f}  "
                     f"{'/'.join(f'{r.rate:.0f}' for r in rows)}{failed}")
    return lines


def ratio(label: str, numerators: list[Row], denominators: list[Row],
          target: float | None = None) -> str:
    """Round by round (the two of one round ran seconds apart); the target is judged on the
    median of the rounds' ratios, so a burst of load from other users spoils one round only."""
    rounds = [n.rate / d.rate if d.rate else float("nan")
              for n, d in zip(numerators, denominators)]
    line = (f"  {label:<44} median of rounds {statistics.median(rounds):5.2f} "
            f"({'/'.join(f'{r:.2f}' for r in rounds)})")
    if target is not None:
        line += f"   target >= {target:g}: {'met' if statistics.median(rounds) >= target else 'MISSED'}"
    return line


def print_farm_cost(results: dict[str, list[Row]]) -> None:
    print("6. The farm status's cost: multi_process(2), farm.json every 2 s against none")
    print("\n".join(table(results, ["multi2", "multi2_nofarm"])))
    print(ratio("farm status on / off", results["multi2"], results["multi2_nofarm"], 0.97))
    # The same cost as CPU, which other users of the machine disturb less than the wall
    # clock: on a farm whose cores are all busy, throughput goes as 1 / CPU per spill.
    cpu = {key: sum(median_of(results[key], field) or 0.0
                    for field in ("parent_cpu", "worker_cpu")) / results[key][0].spills
           for key in ("multi2", "multi2_nofarm")}
    on, off = cpu["multi2"], cpu["multi2_nofarm"]
    print(f"  CPU per spill, go.py + workers (medians): on {1e3 * on:.2f} ms, off "
          f"{1e3 * off:.2f} ms: off / on {off / on:.3f}")


def versions() -> str:
    found = []
    for name in ("celery", "kombu", "redis", "orjson", "boost-histogram", "matplotlib"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def say(text: str) -> None:
    """Where the benchmark is, on standard error (the report goes to standard output)."""
    print(f"[bench_workers] {text}", file=sys.stderr, flush=True)


# --- Main ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=150,
                        help="physics spills per run (default 150)")
    parser.add_argument("--particles", type=int, default=200,
                        help="particles (triggers) per spill (default 200)")
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run: 30 spills, one round")
    parser.add_argument("--repeat", type=int, default=None,
                        help="interleaved rounds of every measurement (default 3, 1 with --quick)")
    parser.add_argument("--farm-only", action="store_true",
                        help="measure only section 6: multi_process(2) with the farm status "
                             "on and off")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="stop (and stop the workers) after this many seconds (default 1800)")
    args = parser.parse_args(argv)
    if args.quick:
        args.spills = min(args.spills, 30)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.spills < 1 or args.repeat < 1:
        parser.error("--spills and --repeat must be at least 1")
    try:
        default_configuration({"particles_per_spill": args.particles})
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


def run(args: argparse.Namespace, scratch: Path, workers: list[BenchWorker]) -> int:
    n = args.spills
    at_end = default_configuration({
        "particles_per_spill": args.particles, "spill_count": n, "progress": False,
        "refresh_rate": n + 1, "image_directory": str(scratch / "images"),
        "doc_store_url": f"sqlite:///{scratch / 'store.sqlite'}"})
    every_10 = dict(at_end, refresh_rate=10)
    no_farm = dict(at_end, farm_status=False)
    env = worker_env(scratch)
    load_before = os.getloadavg()

    def start_worker(concurrency: int) -> BenchWorker:
        worker = BenchWorker(f"maus-bench-{uuid.uuid4().hex[:8]}", scratch, env,
                             concurrency=concurrency,
                             name=f"bench-c{concurrency}-{uuid.uuid4().hex[:6]}")
        workers.append(worker.start())
        return worker

    say("starting workers -c 1 and -c 2 (each on its own queue; only one works at a time)")
    worker1, worker2 = start_worker(1), start_worker(2)
    app = private_app(at_end)
    try:
        for worker in (worker1, worker2):
            worker.wait_ready(app, timeout=WORKER_START_TIMEOUT)
    finally:
        app.close()

    def on(config: dict[str, Any], worker: BenchWorker) -> dict[str, Any]:
        return dict(config, task_queue=worker.queue)

    say("making real stored partials for merge-output alone")
    bodies = [] if args.farm_only else stored_partials(at_end, min(n, 150))
    merge_spills = 300 if args.quick else MERGE_SPILLS
    measurements: list[tuple[str, Callable[[], Row]]] = [
        ("single", lambda: run_single_thread(at_end, "pipeline_single_thread")),
        ("multi1", lambda: run_multi(on(at_end, worker1), worker1,
                                     "multi_process, 1 sub-process (-c 1)")),
        ("multi2", lambda: run_multi(on(at_end, worker2), worker2,
                                     "multi_process, 2 sub-processes (-c 2)")),
        # Right after its pair: the two of a round run seconds apart.
        ("multi2_nofarm", lambda: run_multi(on(no_farm, worker2), worker2,
                                            "multi_process(2), farm status off")),
        ("pool", lambda: run_pool(at_end, 2, "multiprocessing.Pool(2): spill side, parent adds")),
        ("single10", lambda: run_single_thread(every_10, "pipeline_single_thread, refresh 10")),
        ("multi2_10", lambda: run_multi(on(every_10, worker2), worker2,
                                        "multi_process(2), refresh 10")),
        ("merge", lambda: run_merge_only(at_end, bodies, merge_spills,
                                         "merge-output alone, stored partials")),
    ]
    if args.farm_only:
        measurements = [m for m in measurements if m[0] in ("multi2", "multi2_nofarm")]
    results: dict[str, list[Row]] = {}
    for round_number in range(1, args.repeat + 1):
        order = list(measurements)
        if round_number % 2 == 0:  # the farm status pair in turn first and second in a round
            pair = [i for i, (key, _) in enumerate(order) if key in ("multi2", "multi2_nofarm")]
            order[pair[0]], order[pair[1]] = order[pair[1]], order[pair[0]]
        for key, measure in order:  # interleaved: a burst of load hits one round
            say(f"round {round_number}/{args.repeat}: {key}")
            results.setdefault(key, []).append(measure())
    load_after = os.getloadavg()

    print(f"bench_workers: MAUS Online {__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}),"
          f" host {socket.gethostname()}")
    print(f"  {versions()}; RabbitMQ and Redis on loopback, SQLite store in a scratch directory")
    print(f"  load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"  {args.repeat} interleaved round(s); spills/s: the best round (all rounds in the "
          f"last column); CPU: medians; ratios: round by round, judged on their median")
    print(f"  the real configuration: chain {format_specification(assemble(at_end, build_default_registry()).specification)}")
    print(f"    reducers {', '.join(at_end['reducers'])}; outputs {', '.join(at_end['outputters'])};"
          f" {n} physics spills x {args.particles} triggers; histogram_drawing "
          f"{at_end['histogram_drawing']!r}")
    print("  rates: from the start (first spill read / workers born / pool born) until the end "
          "of the run reached the outputs (every spill reduced); 'final draw s': the end-of-run "
          "images drawn after that (the same 20 plots everywhere)")
    print()
    if args.farm_only:
        print_farm_cost(results)
        return 0
    print(f"1. Images at the end of the run (refresh_rate {n + 1})")
    print("\n".join(table(results, ["single", "multi1", "multi2", "pool"])))
    print(ratio("multi_process(2) / single_thread", results["multi2"], results["single"], 1.4))
    print(ratio("Pool(2) / single_thread (the ceiling)", results["pool"], results["single"]))
    print(ratio("multi_process(2) / Pool(2)", results["multi2"], results["pool"]))
    print(ratio("multi_process(1) / single_thread", results["multi1"], results["single"]))
    print()
    print("2. Drawing during the run: refresh_rate 10 at full speed, against images at the end")
    print("\n".join(table(results, ["single10", "multi2_10"])))
    print(ratio("single_thread: refresh 10 / at the end", results["single10"],
                results["single"], 0.7))
    print(ratio("multi_process(2): refresh 10 / at the end", results["multi2_10"],
                results["multi2"], 0.7))
    print()
    multi2 = results["multi2"]
    go_ms = 1e3 * median_of(multi2, "parent_cpu") / multi2[0].spills
    worker_ms = 1e3 * median_of(multi2, "worker_cpu") / multi2[0].spills
    ceiling = 1e3 / go_ms
    print("3. go.py's own CPU in multi_process(2) (input, submitting, collecting, reading the "
          "store, adding the partials)")
    print(f"  {go_ms:.2f} ms per spill (target <= 1.5: {'met' if go_ms <= 1.5 else 'MISSED'}): "
          f"one go.py could feed {ceiling:.0f} spills/s; at this chain's {worker_ms:.1f} ms of "
          f"worker CPU per spill that keeps {ceiling * worker_ms / 1e3:.0f} worker cores busy")
    print()
    merge = results["merge"]
    bytes_per_spill = statistics.median(len(body) for body in bodies)
    merge_best = best(merge)
    print(f"4. merge-output alone: {merge_best.spills} stored physics spills (envelope + partials, "
          f"median {bytes_per_spill / 1e3:.1f} kB each, as the workers store them) read from "
          "SQLite, added, images at the end")
    print("\n".join(table(results, ["merge"])))
    print(f"  {merge_best.rate:.0f} spills/s on one core (target >= 2000: "
          f"{'met' if merge_best.rate >= 2000 else 'MISSED'})")
    print()
    sizes = [row.store_bytes for row in multi2 + results["multi2_10"]]
    print(f"5. SQLite store (file + WAL) after each {n}-spill multi_process(2) run: "
          f"{', '.join(f'{size / 1e6:.1f}' for size in sizes)} MB (target < 50 MB: "
          f"{'met' if max(sizes) < 50e6 else 'MISSED'})")
    print()
    print_farm_cost(results)
    for rows in results.values():
        for row in rows:
            if row.failed:
                print(f"WARNING: {row.label}: {row.failed} spills failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
