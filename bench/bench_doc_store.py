"""Benchmark of the document-store back ends: puts/s and cursor reads/s, side by side.

Run from the repository root: ``python bench/bench_doc_store.py [--spills N] [--seconds S]``.

Every back end gets the same default-sized documents: physics spills made by the default
transform chain (``MapPyGroup`` of the seven TOF maps, default configuration, so ~3 MB of
JSON each), encoded once with the store's codec (``StoredSpill.encode``). For each back end,
in a fresh, empty store:

* **put**: up to ``--spills`` puts (distinct ``seq``, the documents taken in turn, each body
  made distinct by trailing blanks), stopped after ``--seconds``; what input-transform's
  workers do;
* **cursor read**: ``read(cursor, last, limit=BATCH)`` from 0 until everything put is read,
  stopped after ``--seconds``; what merge-output does (``BATCH`` as merge-output reads).

Back ends: ``memory``; ``sqlite`` on a file in a temporary directory; ``mongodb`` through
**mongomock** (an in-process Python fake: it measures the back end's own code and the fake,
not a MongoDB server, which cannot be installed here); ``couchdb`` against **pouchdb-server**
(tests/couchdb_server.py, LevelDB on disk, on 127.0.0.1) or ``--couchdb-url``; and a real
MongoDB whenever ``MAUS_TEST_MONGODB_URL`` is set. Ratios are against sqlite, the embedded
default.
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maus_online.configuration import default_configuration  # noqa: E402
from maus_online.doc_store import DocumentStore, StoredSpill  # noqa: E402
from maus_online.maps import MODULES  # noqa: E402
from maus_online.modules import MapPyGroup  # noqa: E402

#: Spills per cursor read, as merge-output reads them (maus_online/dataflows/merge_output.py).
BATCH = 50
#: Distinct spills made by the chain; the puts take them in turn.
DISTINCT = 4


def make_spills(count: int) -> list[StoredSpill]:
    config = default_configuration({})
    group = MapPyGroup(*(cls() for cls in MODULES))
    group.birth(config)
    spills = [group.process({"maus_event_type": "Spill", "daq_event_type": "physics_event",
                             "run_number": 1, "spill_number": n, "errors": {}})
              for n in range(1, count + 1)]
    group.death()
    return [StoredSpill.encode(n, spill) for n, spill in enumerate(spills, 1)]


@dataclass
class Result:
    label: str
    puts: int
    put_s: float
    reads: int
    read_s: float
    bytes_each: float

    @property
    def puts_per_s(self) -> float:
        return self.puts / self.put_s

    @property
    def reads_per_s(self) -> float:
        return self.reads / self.read_s


def measure(label: str, store: DocumentStore, spills: list[StoredSpill], limit: int,
            seconds: float) -> Result:
    size = sum(len(spill.body) for spill in spills) / len(spills)
    puts = 0
    put_s = 0.0  # the time in put() only, not in making the document
    while puts < limit and put_s < seconds:
        template = spills[puts % len(spills)]
        puts += 1
        # Every body distinct, as a run's are (trailing blanks: the same JSON), so that no
        # store can skip writing a body it already holds (pouchdb-server's attachments would).
        document = StoredSpill(puts, template.run_number, puts, template.body + b" " * puts,
                               time.time())
        began = time.perf_counter()
        store.put(document)
        put_s += time.perf_counter() - began
    assert store.count() == puts, f"{label}: {store.count()} stored, {puts} put"

    cursor = reads = 0
    began = time.perf_counter()
    while cursor < puts and time.perf_counter() - began < seconds:
        batch = store.read(cursor, puts, BATCH)
        assert batch and batch[0].seq == cursor + 1, f"{label}: read out of order"
        assert len(batch[-1].body) > 0
        cursor = batch[-1].seq
        reads += len(batch)
    read_s = time.perf_counter() - began
    return Result(label, puts, put_s, reads, read_s, size)


@contextmanager
def back_ends(args, scratch: Path) -> Iterator[list[tuple[str, Callable[[], DocumentStore]]]]:
    """(label, opener) for each back end, with the servers they need running."""
    import mongomock

    from maus_online.doc_store.couchdb import CouchDBDocumentStore
    from maus_online.doc_store.memory import MemoryDocumentStore
    from maus_online.doc_store.mongodb import MongoDBDocumentStore
    from maus_online.doc_store.sqlite import SQLiteDocumentStore
    from tests.couchdb_server import CouchDBServer

    def name() -> str:
        return f"maus_bench_{uuid.uuid4().hex[:8]}"

    openers: list[tuple[str, Callable[[], DocumentStore]]] = [
        ("memory", lambda: MemoryDocumentStore()),
        ("sqlite (file, WAL)", lambda: SQLiteDocumentStore(f"sqlite:///{scratch}/{name()}.db")),
        ("mongodb via mongomock (in-process fake)", lambda: MongoDBDocumentStore(
            f"mongodb://127.0.0.1:27017/{name()}", client=mongomock.MongoClient())),
    ]
    server = None
    if args.couchdb_url:
        openers.append((f"couchdb at {args.couchdb_url}",
                        lambda: CouchDBDocumentStore(f"{args.couchdb_url.rstrip('/')}/{name()}")))
    else:
        server = CouchDBServer(scratch / "pouchdb").start()
        openers.append(("couchdb via pouchdb-server (LevelDB)",
                        lambda: CouchDBDocumentStore(f"{server.url}/{name()}")))
    if os.environ.get("MAUS_TEST_MONGODB_URL"):
        base = os.environ["MAUS_TEST_MONGODB_URL"].rstrip("/")
        openers.append(("mongodb (real server)", lambda: MongoDBDocumentStore(f"{base}/{name()}")))
    try:
        yield openers
    finally:
        if server is not None:
            server.close()


def versions() -> str:
    import mongomock
    import pymongo
    import requests

    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except OSError:
        node = "absent"
    package = Path(__file__).resolve().parent.parent / "tests/couchdb/node_modules/pouchdb-server"
    pouchdb = "absent"
    if (package / "package.json").exists():
        import json

        pouchdb = json.loads((package / "package.json").read_text())["version"]
    return (f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, pymongo "
            f"{pymongo.version}, mongomock {mongomock.__version__}, requests "
            f"{requests.__version__}, pouchdb-server {pouchdb} on Node {node}")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # not Linux: platform.processor() below
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=60,
                        help="most puts per back end (default 60)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="time limit of each phase per back end (default 10)")
    parser.add_argument("--couchdb-url", default="",
                        help="a CouchDB server to use instead of a pouchdb-server started here")
    args = parser.parse_args(argv)

    print(f"machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}")
    print(f"software: {versions()}")
    began = time.perf_counter()
    spills = make_spills(DISTINCT)
    size = sum(len(spill.body) for spill in spills) / len(spills)
    print(f"documents: {DISTINCT} physics spills from the default chain "
          f"({len(MODULES)} maps, default configuration), {size / 1e6:.2f} MB of JSON each, "
          f"made in {time.perf_counter() - began:.1f} s")
    print(f"per back end: up to {args.spills} puts, then cursor reads of {BATCH}; each phase "
          f"stops after {args.seconds:g} s\n")

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="maus-bench-store-") as scratch, \
            back_ends(args, Path(scratch)) as openers:
        for label, opener in openers:
            store = opener()
            try:
                results.append(measure(label, store, spills, args.spills, args.seconds))
            finally:
                store.close()
            last = results[-1]
            print(f"  measured {label}: {last.puts} puts, {last.reads} read", flush=True)

    reference = next(result for result in results if result.label.startswith("sqlite"))
    print()
    header = (f"{'back end':<40} {'puts':>5} {'puts/s':>8} {'MB/s':>7} {'reads':>6} "
              f"{'reads/s':>8} {'MB/s':>7} {'put ×sqlite':>12} {'read ×sqlite':>13}")
    print(header)
    print("-" * len(header))
    for result in results:
        print(f"{result.label:<40} {result.puts:>5} {result.puts_per_s:>8.1f} "
              f"{result.puts_per_s * result.bytes_each / 1e6:>7.1f} {result.reads:>6} "
              f"{result.reads_per_s:>8.1f} {result.reads_per_s * result.bytes_each / 1e6:>7.1f} "
              f"{result.puts_per_s / reference.puts_per_s:>12.2f} "
              f"{result.reads_per_s / reference.reads_per_s:>13.2f}")
    print("\nmongomock is a Python fake of MongoDB (it copies every document in Python): its "
          "row measures this back end's code, not a MongoDB server; set MAUS_TEST_MONGODB_URL "
          "for a real one.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
