"""End-to-end spills/s of the split dataflow against pipeline_single_thread (issue 4, item 9).

Run from the repository root: ``python bench/bench_split_dataflow.py [--spills N]
[--couchdb-url URL | --no-couchdb]``. Needs the machine's RabbitMQ and Redis; it starts one Celery worker
with 2 pool sub-processes on a private queue and stops it at the end.

Compared, on the same simulated run (default chain, default reducers and image output; images
drawn every ``--refresh-rate`` spills, by default only at the end of the run, so that drawing
does not hide the dataflow's own cost):

1. ``pipeline_single_thread``: one go.py process;
2. ``multi_process_input_transform`` + ``multi_process_merge_output``: two go.py processes
   started together on a fresh SQLite store, the transforms on the worker; timed from the
   start of both to the end of the later one (worker birth included: the shifter waits for it);
3. the same on CouchDB: the server ``--couchdb-url`` names, or else a pouchdb-server on a
   scratch directory started by the benchmark (the tests' one: ``make test`` installs it).

Every timing is the wall time of whole go.py processes, so it includes start-up (~1 s).
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.celery_workers import WorkerProcess, subprocess_env, write_plugin  # noqa: E402

TIMEOUT = 1800


def go(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO_ROOT / "go.py"), "--progress", "false",
                             *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, label: str) -> None:
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    if process.returncode != 0:
        raise SystemExit(f"{label} failed ({process.returncode}):\n{stdout}\n{stderr}")


def timed_single(common: list[str], scratch: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    finish(go(*common, "--image_directory", str(scratch / "single"), cwd=scratch, env=env),
           "pipeline_single_thread")
    return time.perf_counter() - start


def timed_split(common: list[str], store: list[str], label: str, scratch: Path,
                env: dict[str, str]) -> float:
    start = time.perf_counter()
    merge = go(*common, *store, "--type_of_dataflow", "multi_process_merge_output",
               "--image_directory", str(scratch / label), cwd=scratch, env=env)
    produce = go(*common, *store, "--type_of_dataflow", "multi_process_input_transform",
                 cwd=scratch, env=env)
    finish(produce, f"{label} input-transform")
    finish(merge, f"{label} merge-output")
    return time.perf_counter() - start


def timed_couchdb(url: str, common: list[str], scratch: Path, env: dict[str, str]) -> float:
    from tests.couchdb_server import CouchDBServer

    server = None if url else CouchDBServer(scratch / "couchdb").start()
    try:
        base = url or server.url
        couch = ["--doc_store_class", "couchdb", "--doc_store_url",
                 f"{base.rstrip('/')}/bench_{uuid.uuid4().hex[:8]}"]
        return timed_split(common, couch, "couchdb", scratch, env)
    finally:
        if server is not None:
            server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=100, help="physics spills per run")
    parser.add_argument("--refresh-rate", type=int, default=100_000,
                        help="draw the images every N spills (default: at the end of the run)")
    parser.add_argument("--couchdb-url", default="",
                        help="measure CouchDB at this server URL (default: start pouchdb-server)")
    parser.add_argument("--no-couchdb", action="store_true", help="leave CouchDB out")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="maus-bench-split-") as directory:
        scratch = Path(directory)
        env = subprocess_env(write_plugin(scratch))
        queue = f"maus-bench-split-{uuid.uuid4().hex[:8]}"
        common = ["--spill_count", str(args.spills), "--task_queue", queue,
                  "--refresh_rate", str(args.refresh_rate)]
        worker = WorkerProcess(queue, scratch, env, concurrency=2).start()
        try:
            from workers.app import create_app
            from maus_online.configuration import default_configuration

            app = create_app(default_configuration())
            worker.wait_ready(app, timeout=120)
            app.close()
            rows = [("pipeline_single_thread (1 process)", timed_single(common, scratch, env))]
            sqlite = ["--doc_store_class", "sqlite",
                      "--doc_store_url", f"sqlite:///{scratch / 'store.sqlite'}"]
            rows.append(("split on SQLite (2 go.py + worker -c 2)",
                         timed_split(common, sqlite, "sqlite", scratch, env)))
            if not args.no_couchdb:
                rows.append(("split on CouchDB (2 go.py + worker -c 2)",
                             timed_couchdb(args.couchdb_url, common, scratch, env)))
        finally:
            worker.stop()
    print(f"bench_split_dataflow: {args.spills} simulated physics spills, default chain and "
          f"reducers, images every {args.refresh_rate} spills, on {platform.node()} ({os.cpu_count()} cores, Python "
          f"{platform.python_version()})")
    baseline = rows[0][1]
    print(f"{'dataflow':45} {'wall s':>8} {'spills/s':>9} {'vs single':>10}")
    for label, seconds in rows:
        print(f"{label:45} {seconds:8.2f} {args.spills / seconds:9.1f} "
              f"{baseline / seconds:9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
