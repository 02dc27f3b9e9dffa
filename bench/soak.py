"""Soak: a long ``multi_process`` run, and whether memory and the store stay flat (issue 12).

    .venv/bin/python bench/soak.py                 # 10,000 spills, one worker with -c 2
    .venv/bin/python bench/soak.py --spills 2000   # a shorter look

Runs the real ``go.py --type_of_dataflow multi_process`` on the default chain and plots, with
one real Celery worker on a private queue and control exchange (bench/farm.py), against the
machine's RabbitMQ and Redis and a SQLite store of its own. Every ``--sample`` seconds it
reads, from ``/proc``, the resident memory of go.py (with its drawing process) and of the
worker (its main process and sub-processes), and the size of the store's file and WAL.

It prints a line per sample while it runs, then, for each of the three, the value at the start
(the first sample after the first 10 % of the spills, once the caches are warm), the peak,
the end, and the growth from start to end. Not part of ``make test``: it takes minutes.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from farm import REPO_ROOT, BenchWorker, children_of, private_app, sqlite_bytes, worker_env

from maus_online.configuration import default_configuration
from maus_online.doc_store import open_doc_store

PAGE_KIB = 4  # /proc/<pid>/statm counts pages of 4 KiB on the project's machines


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB (0 for a process gone)."""
    total = 0
    for each in [pid, *_descendants(pid)]:
        try:
            total += int(Path(f"/proc/{each}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * PAGE_KIB / 1024


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        children = children_of(todo.pop())
        found += children
        todo += children
    return found


@dataclass
class Series:
    """One quantity over the run: samples of (spills done, value)."""

    name: str
    unit: str
    samples: list[tuple[int, float]] = field(default_factory=list)

    def summary(self, warm_after: int) -> str:
        warm = [value for done, value in self.samples if done >= warm_after] or \
            [value for _, value in self.samples]
        start, end, peak = warm[0], warm[-1], max(value for _, value in self.samples)
        return (f"{self.name:<22} start {start:9.1f} {self.unit}   peak {peak:9.1f} {self.unit}"
                f"   end {end:9.1f} {self.unit}   growth start->end {end - start:+8.1f} "
                f"{self.unit}")


def spills_done(url: str) -> int:
    """How many spills go.py's merge side has reduced (its consumer's cursor in the store)."""
    try:
        with open_doc_store({"doc_store_class": "sqlite", "doc_store_url": url}) as store:
            consumer = store.consumers().get("default")
            return consumer.cursor if consumer is not None else 0
    except Exception:  # noqa: BLE001 - not created yet, or busy: the next sample will tell
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=10_000)
    parser.add_argument("--particles", type=int, default=20,
                        help="particles per spill (default 20; go.py's own default is 200)")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="maus-soak-"))
    env = worker_env(scratch)
    queue = f"maus-soak-{uuid.uuid4().hex[:8]}"
    config = default_configuration()
    worker = BenchWorker(queue, scratch, env, concurrency=2).start()
    app = private_app(config)
    url = f"sqlite:///{scratch}/store.db"
    try:
        worker.wait_ready(app)
        command = [sys.executable, str(REPO_ROOT / "go.py"), "--type_of_dataflow",
                   "multi_process", "--task_queue", queue, "--progress", "false",
                   "--spill_count", str(args.spills), "--particles_per_spill",
                   str(args.particles), "--doc_store_url", url,
                   "--image_directory", str(scratch / "images")]
        print(f"soak: {args.spills} spills, {args.particles} particles each, multi_process with "
              f"one worker (-c 2), SQLite store in {scratch}", flush=True)
        series = [Series("go.py memory", "MiB"), Series("worker memory", "MiB"),
                  Series("store on disk", "MiB")]
        began = time.monotonic()
        with open(scratch / "go.log", "wb") as log:
            go = subprocess.Popen(command, cwd=scratch, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
            while go.poll() is None:
                done = spills_done(url)
                values = (rss_mib(go.pid), rss_mib(worker.process.pid),
                          sqlite_bytes(url) / 2**20)
                for each, value in zip(series, values):
                    each.samples.append((done, value))
                print(f"  {time.monotonic() - began:7.0f} s  {done:6d} spills  "
                      f"go.py {values[0]:7.1f} MiB  worker {values[1]:7.1f} MiB  "
                      f"store {values[2]:7.1f} MiB", flush=True)
                try:
                    go.wait(args.sample)  # the pace of the samples, and the end of the run
                except subprocess.TimeoutExpired:
                    pass
        elapsed = time.monotonic() - began
        output = (scratch / "go.log").read_text(errors="replace")
        if go.returncode != 0:
            print(output, file=sys.stderr)
            return 1
        print(f"\ngo.py ended after {elapsed:.0f} s ({args.spills / elapsed:.1f} spills/s):")
        for each in series:
            print("  " + each.summary(warm_after=args.spills // 10))
        return 0
    finally:
        worker.stop()
        app.close()


if __name__ == "__main__":
    sys.exit(main())
