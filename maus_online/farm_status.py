"""The farm status document, ``farm.json``: what go.py knows of its farm, rewritten every few s.

The image directory is the front-end's only interface (DESIGN §7a), so go.py writes the farm's
state there, atomically, every ``farm_status_interval`` seconds, from a thread of its own: the
document stays current while the main thread waits on a server. Its format is agreed with the
farm page (docs/workers.md, Farm status)::

    status = FarmStatus(config, counts, dataflow="multi_process", farm=monitor, note=print)
    status.start()          # writes farm.json now, then every farm_status_interval s
    ...
    status.close()          # the last write, with the run's final figures

The figures about workers come from a :class:`FarmView` (``workers.farm_monitor`` reads them
from Celery: heartbeats, ``inspect``, the broker's queue); this module only adds what needs
no server -- the rates over the last minute, which worker is lost, the alarms -- so that it
knows no Celery (DESIGN §8) and is tested without one.
"""
from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import orjson

from . import __version__
from .catalogue import CATALOGUE, say
from .doc_store import Retrying
from .errors import DocumentStoreError
from .outages import Outages

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FILE_NAME = "farm.json"
#: Seconds a rate is taken over: "spills/s over the last minute".
RATE_WINDOW = 60.0
#: Rate samples kept per worker (one per write) for the page's sparkline.
HISTORY = 30
ONLINE, BUSY, LOST = "online", "busy", "lost"


class RateWindow:
    """Spills/s over the last ``window`` seconds, from a running count sampled at each write.

    >>> rate = RateWindow(60.0)
    >>> rate.add(0.0, 0), rate.add(10.0, 50)
    (0.0, 5.0)
    >>> rate.add(100.0, 50)   # nothing done for 90 s: the last minute holds no spill
    0.0
    >>> list(rate.history)
    [0.0, 5.0, 0.0]
    """

    def __init__(self, window: float = RATE_WINDOW, history: int = HISTORY) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()
        self.history: deque[float] = deque(maxlen=history)

    def add(self, now: float, count: int) -> float:
        """Note that ``count`` spills were done by ``now``; return the rate over the window."""
        samples = self._samples
        if samples and (count < samples[-1][1] or now < samples[-1][0]):
            samples.clear()  # a counter that started again (a new go.py's executor)
        samples.append((now, count))
        # The base of the rate is the newest sample at or before the window's start.
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        start, base = samples[0]
        rate = (count - base) / (now - start) if now > start else 0.0
        self.history.append(round(rate, 3))
        return rate


@dataclass(frozen=True)
class WorkerSighting:
    """What the farm says of one worker: when it was last heard from (epoch s, go.py's clock),
    when it started, whether it said goodbye, how many tasks it runs, its sub-processes
    ``(pid, configuration ID)``, and go.py's counts of its spills."""

    name: str
    host: str
    last_heard: float | None = None
    joined: float | None = None
    offline: bool = False
    active: int = 0
    processes: tuple[tuple[int, str | None], ...] = ()
    spills_done: int = 0
    failures: int = 0
    redeliveries: int = 0


@dataclass(frozen=True)
class FarmSnapshot:
    """The farm as last seen: its workers, the configuration go.py gave them, the task queue
    and its depth at the broker (None: unknown), since when the broker has not answered (epoch
    s, None: it answers), and the silence after which a worker counts as lost."""

    workers: tuple[WorkerSighting, ...] = ()
    configuration_id: str | None = None
    queue: str | None = None
    queue_depth: int | None = None
    broker_down_since: float | None = None
    lost_after: float = 6.0


class FarmView(Protocol):
    """Where the farm's figures come from (``workers.farm_monitor.FarmMonitor``)."""

    def snapshot(self) -> FarmSnapshot:
        """The farm as last seen; never waits on a server."""

    def close(self) -> None:
        """Stop looking."""


@dataclass(frozen=True)
class RunCounts:
    """go.py's own counts of the run, as the dataflow keeps them."""

    run_number: Any = None
    spills_read: int = 0
    spills_in_flight: int = 0
    spills_done: int = 0
    spills_failed: int = 0


class StoreWatch:
    """Whether the document store answers go.py: down since the first failed call, up again at
    the first call that succeeds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.down_since: float | None = None

    def failed(self) -> None:
        if self.down_since is None:
            self.down_since = self.clock()

    def answered(self) -> None:
        self.down_since = None


class WatchedRetrying(Retrying):
    """:class:`~maus_online.doc_store.Retrying` that tells a :class:`StoreWatch` how each
    attempt went (the farm status's "document store" entry)."""

    def __init__(self, timeout: float, note: Callable[[str], None], watch: StoreWatch) -> None:
        super().__init__(timeout, note)
        self.watch = watch

    def call(self, what: str, function: Callable[..., Any], *args: object) -> Any:
        def watched(*arguments: object) -> Any:
            try:
                result = function(*arguments)
            except DocumentStoreError:
                self.watch.failed()
                raise
            self.watch.answered()
            return result

        return super().call(what, watched, *args)


def servers_of(outages: Outages, watch: StoreWatch
               ) -> Callable[[], dict[str, float | None]]:
    """The servers of a farm and since when each is down (epoch s; None: it answers), from
    the run's :class:`~maus_online.outages.Outages` (the result back end and the spill
    exchange both count as Redis) and the document store's :class:`StoreWatch`."""

    def servers() -> dict[str, float | None]:
        down: dict[str, float | None] = {"RabbitMQ": None, "Redis": None,
                                         "document store": watch.down_since}
        for outage in list(outages.down.values()):  # copied: the main thread changes it
            name = "Redis" if outage.server.startswith("Redis") else outage.server
            if name in down and down[name] is None:
                down[name] = outage.since_wall.timestamp()
        return down

    return servers


def iso(epoch: float | None) -> str | None:
    """``2026-12-01T12:00:00.000Z`` (UTC, milliseconds), as the front-end's documents have it."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _local_time(epoch: float | None) -> str:
    return "never" if epoch is None else datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


def _alarm(code: str, **fields: object) -> dict[str, str]:
    return {"id": code, "text": CATALOGUE[code].text.format(**fields)}


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` as JSON through a temporary file and a rename: a reader sees the
    old document or the new one, never a part of either."""
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.",
                                     suffix=".tmp", delete=False) as stream:
        stream.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    try:
        os.chmod(stream.name, 0o644)  # the web server may run as another user
        os.replace(stream.name, path)
    except OSError:
        Path(stream.name).unlink(missing_ok=True)
        raise


class FarmStatus:
    """Consumes go.py's counts (``counts``), the farm's :class:`FarmSnapshot` (``farm``; None in
    a dataflow without workers) and the servers' states (``servers``: name to the epoch it went
    down, or None); produces ``farm.json`` in ``image_directory`` and the alarms.

    A worker not heard from for ``lost_after`` seconds is lost: said once (MAUS-146) and shown
    on the progress line (:meth:`progress_text`) while it lasts; back, it is said once too
    (MAUS-147). A sub-process that runs another configuration than go.py gave is flagged
    ``stale`` (MAUS-148); a worker that started after go.py is announced (MAUS-149).
    """

    def __init__(self, config: Mapping[str, Any], counts: Callable[[], RunCounts], *,
                 dataflow: str, farm: FarmView | None = None,
                 servers: Callable[[], Mapping[str, float | None]] = dict,
                 configuration_id: str | None = None, note: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(config["image_directory"]) / FILE_NAME
        self.interval = float(config["farm_status_interval"])
        self.counts, self.dataflow, self.farm = counts, dataflow, farm
        self.servers, self.note, self.clock = servers, note, clock
        self.configuration_id = configuration_id
        self.started = clock()
        self.run_rate = RateWindow()
        self._rates: dict[str, RateWindow] = {}
        self._lost: dict[str, float | None] = {}
        self._stale: set[tuple[str, int, str | None]] = set()
        self._known: set[str] = set()
        self._failing = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="maus-farm-status", daemon=True)
        self._progress: str | None = None

    # --- The document -------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        """The farm status as it is now (and the notes of what changed since the last one)."""
        now = self.clock()
        snapshot = self.farm.snapshot() if self.farm is not None else FarmSnapshot()
        counts = self.counts()
        go_id = snapshot.configuration_id if self.farm is not None else self.configuration_id
        sightings = sorted(snapshot.workers, key=lambda sighting: sighting.name)
        workers = [self._worker(sighting, snapshot, go_id, now) for sighting in sightings]
        return {
            "format_version": FORMAT_VERSION, "written": iso(now), "written_epoch": round(now, 3),
            "dataflow": self.dataflow, "farm": self.farm is not None,
            "go": {"configuration_id": go_id, "version": __version__,
                   "host": socket.gethostname(), "pid": os.getpid()},
            "run": {"run_number": counts.run_number, "spills_read": counts.spills_read,
                    "spills_in_flight": counts.spills_in_flight,
                    "spills_done": counts.spills_done, "spills_failed": counts.spills_failed,
                    "spills_per_second": round(self.run_rate.add(now, counts.spills_done), 2),
                    "queue_depth": snapshot.queue_depth, "queue": snapshot.queue},
            "servers": self._servers(snapshot),
            "workers": workers,
            "alarms": self._alarms(sightings, workers, go_id),
        }

    def _worker(self, sighting: WorkerSighting, snapshot: FarmSnapshot, go_id: str | None,
                now: float) -> dict[str, Any]:
        heard = sighting.last_heard
        if sighting.offline or heard is None or now - heard > snapshot.lost_after:
            state = LOST
        else:
            state = BUSY if sighting.active else ONLINE
        rates = self._rates.setdefault(sighting.name, RateWindow())
        rate = rates.add(now, sighting.spills_done)
        return {
            "name": sighting.name, "host": sighting.host, "state": state,
            "last_heard": iso(heard),
            "last_heard_epoch": None if heard is None else round(heard, 3),
            "joined": iso(sighting.joined),
            "processes": [{"pid": pid, "configuration_id": config_id,
                           "stale": go_id is not None and config_id != go_id}
                          for pid, config_id in sighting.processes],
            "spills_done": sighting.spills_done, "spills_per_second": round(rate, 2),
            "rate_history": list(rates.history),
            "failures": sighting.failures, "redeliveries": sighting.redeliveries,
        }

    def _servers(self, snapshot: FarmSnapshot) -> dict[str, dict[str, Any]]:
        down = dict(self.servers())
        if "RabbitMQ" in down and down["RabbitMQ"] is None:
            # go.py's own calls succeed, but the farm's view cannot reach the broker.
            down["RabbitMQ"] = snapshot.broker_down_since
        return {name: {"up": since is None, "since": iso(since)} for name, since in down.items()}

    def _alarms(self, sightings: list[WorkerSighting], workers: list[dict[str, Any]],
                go_id: str | None) -> list[dict[str, str]]:
        """The alarms of this document; what began or ended since the last one is noted."""
        alarms, lost, stale = [], {}, set()
        for sighting, worker in zip(sightings, workers):
            name = worker["name"]
            if worker["state"] == LOST:
                lost[name] = worker["last_heard_epoch"]
                alarms.append(_alarm("MAUS-146", worker=name,
                                     since=_local_time(worker["last_heard_epoch"])))
            for process in worker["processes"]:
                if process["stale"]:
                    stale.add((name, process["pid"], process["configuration_id"]))
                    alarms.append(_alarm("MAUS-148", worker=name, pid=process["pid"],
                                         theirs=process["configuration_id"], ours=go_id))
            joined = sighting.joined
            if name not in self._known and joined is not None and joined > self.started:
                self.note(say("MAUS-149", worker=name, host=worker["host"],
                              since=_local_time(joined)))
            self._known.add(name)
        for name in lost.keys() - self._lost.keys():
            self.note(say("MAUS-146", worker=name, since=_local_time(lost[name])))
        for name in self._lost.keys() - lost.keys():
            self.note(say("MAUS-147", worker=name,
                          seconds=f"{self.clock() - (self._lost[name] or self.started):.0f}"))
        for name, pid, theirs in stale - self._stale:
            self.note(say("MAUS-148", worker=name, pid=pid, theirs=theirs, ours=go_id))
        self._lost, self._stale = lost, stale
        self._progress = " | ".join(
            f"{alarm['id']} {alarm['text']}" for alarm in alarms if alarm["id"] == "MAUS-146"
        ) or None
        return alarms

    def progress_text(self) -> str | None:
        """What the progress line adds while a worker is lost (None: every worker answers)."""
        return self._progress

    # --- Writing ------------------------------------------------------------------------

    def write(self) -> None:
        """Write the document now; a failure is said once (MAUS-145) and the run goes on."""
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_document(self.path, self.document())
            except OSError as exc:
                if not self._failing:
                    self.note(say("MAUS-145", path=self.path, reason=exc))
                self._failing = True
                return
            self._failing = False

    def start(self) -> FarmStatus:
        self.write()
        self._thread.start()
        return self

    def _loop(self) -> None:
        # On a fixed schedule, not a fixed pause after each write: the time a write takes
        # does not stretch the interval the farm page relies on.
        due = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due = max(due + self.interval, time.monotonic())
            try:
                self.write()
            except Exception as exc:  # noqa: BLE001 - a bug here must not end the run
                if not self._failing:
                    log.error("%s", say("MAUS-145", path=self.path, reason=exc), exc_info=True)
                self._failing = True

    def close(self) -> None:
        """Stop the thread; write the run's last figures; stop the farm's view."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.write()
        finally:
            if self.farm is not None:
                self.farm.close()
