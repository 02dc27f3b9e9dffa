"""go.py's view of its Celery farm, for ``farm.json``: heartbeats, ``inspect`` and the queue.

Every figure comes from a mechanism Celery or the broker already has, read in one thread of
go.py's own (:class:`FarmMonitor`), on connections of its own:

* **heartbeats**: every worker sends ``worker-heartbeat`` events every 2 s (Celery's default,
  task events or not), and ``worker-online`` / ``worker-offline`` when it starts and stops. A
  ``celery.events`` receiver feeds them into ``celery.events.state.State``: who is there, when
  each was last heard from, how many tasks each runs now (busy);
* **inspect**: the ``maus_farm`` command (workers/control.py), every few seconds and as soon
  as an unknown worker is heard: which queues each worker consumes (only those of go.py's
  ``task_queue`` are its farm), when it started, and each sub-process's configuration ID;
* **the queue's depth**: a passive ``queue_declare`` of ``task_queue`` on the broker, which
  answers with the number of spills waiting;
* go.py's own counts per worker (:class:`WorkerTally`), from the tasks' results: spills done,
  failed, and tasks the broker redelivered (its ``redelivered`` flag, which the task returns).

Task events are not asked for: heartbeats and results say all the page shows, and three event
messages per task would cost the farm's throughput (docs/workers.md, Farm status). A broker
that does not answer is tried again quietly every few seconds: Outages already tells the
shifter (MAUS-108), and the farm status says since when.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from celery import Celery
from celery.events.receiver import EventReceiver
from celery.events.state import State, Worker
from kombu.exceptions import OperationalError

from maus_online.farm_status import FarmSnapshot, WorkerSighting

from .app import configure_app

log = logging.getLogger(__name__)

#: A worker is lost after this many heartbeat intervals without a word (2 s each: 6 s, so
#: that farm.json says so within 10 s of the silence, at one write every 2 s).
LOST_AFTER_HEARTBEATS = 3
#: Seconds between two ``maus_farm`` queries, and how long one waits for the answers.
INSPECT_INTERVAL = 4.0
INSPECT_TIMEOUT = 1.0
#: Seconds between two looks at the queue's depth (farm.json is written every 2 s).
QUEUE_INTERVAL = 2.0
#: Longest wait for an event before the monitor takes its turn anyway (and sees a stop).
TURN_INTERVAL = 0.25
#: Seconds between two attempts to reach a broker that did not answer.
RECONNECT_INTERVAL = 2.0


class WorkerTally:
    """go.py's counts per worker, from the results it collects: spills done and failed, and
    tasks the broker redelivered. Counted in go.py's main thread, read by the monitor's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.redelivered: Counter[str] = Counter()

    def count(self, worker: str, spills: int, failed: int, redelivered: bool) -> None:
        with self._lock:
            self.done[worker] += spills
            self.failed[worker] += failed
            self.redelivered[worker] += int(redelivered)

    def of(self, worker: str) -> tuple[int, int, int]:
        with self._lock:
            return self.done[worker], self.failed[worker], self.redelivered[worker]


class _Receiver(EventReceiver):
    """Celery's event receiver, on go.py's connection, that gives the monitor a turn at
    every event and at least every TURN_INTERVAL s (kombu's ``on_iteration``)."""

    connect_max_retries = 1  # a broker that is down: back to the monitor's quiet loop

    def __init__(self, connection: Any, monitor: FarmMonitor) -> None:
        super().__init__(connection, handlers={"*": monitor.state.event}, app=monitor.app)
        self.monitor = monitor

    def create_connection(self) -> Any:
        return self.connection  # not a clone: the monitor reads the queue's depth on it

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        pass  # said by the monitor's loop, as "RabbitMQ down since"

    def on_iteration(self) -> None:
        self.monitor.turn(self.connection)


class FarmMonitor:
    """Consumes the farm's heartbeats, ``maus_farm`` answers and the broker's queue depth;
    produces :class:`~maus_online.farm_status.FarmSnapshot` (:meth:`snapshot`, never waiting).

    ``config`` is go.py's (broker, ``task_queue``); ``app`` is the executor's, whose control
    and event exchanges it shares on an app of its own (the executor's broadcasts collect
    their replies on a queue this thread must not read from); ``configuration_id`` says which
    configuration go.py gave the workers last, and ``tally`` counts their spills.
    """

    def __init__(self, config: Mapping[str, Any], app: Any, *,
                 configuration_id: Any = lambda: None, tally: WorkerTally | None = None) -> None:
        self.queue = config["task_queue"]
        self.app = configure_app(Celery("maus_farm_monitor", set_as_current=False, fixups=[]),
                                 config)
        self.app.conf.update(control_exchange=app.conf.control_exchange,
                             event_exchange=app.conf.event_exchange)
        self.configuration_id = configuration_id
        self.tally = tally or WorkerTally()
        self.state = State(callback=self._heard_event)
        #: When each worker was last heard from (epoch s) and whether it said goodbye.
        self._heard: dict[str, float] = {}
        self._offline: set[str] = set()
        #: The last ``maus_farm`` answer of each worker of this farm.
        self._farm: dict[str, dict[str, Any]] = {}
        self._inspect_now = False
        self._asked_for: str | None = None
        self._next_inspect = 0.0
        self._next_queue = 0.0
        self._queue_channel: Any = None
        self._depth: int | None = None
        self._broker_down_since: float | None = None
        self._snapshot = FarmSnapshot(queue=self.queue)
        self._receiver: _Receiver | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maus-farm-monitor", daemon=True)

    def start(self) -> FarmMonitor:
        self._thread.start()
        return self

    def snapshot(self) -> FarmSnapshot:
        """The farm as this thread last saw it, with go.py's counts and configuration as they
        are now (the last write of a run has every spill)."""
        seen = self._snapshot
        workers = tuple(replace(sighting, **dict(zip(
            ("spills_done", "failures", "redeliveries"), self.tally.of(sighting.name))))
            for sighting in seen.workers)
        return replace(seen, workers=workers, configuration_id=self.configuration_id())

    def close(self) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=2 * RECONNECT_INTERVAL)
        self.app.close()

    # --- The thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            connection = self.app.connection_for_read()
            errors = (*connection.connection_errors, *connection.channel_errors, OSError,
                      OperationalError)  # kombu's wrapper of a connection that failed
            try:
                with connection:
                    self._receiver = _Receiver(connection, self)
                    if self._stop.is_set():
                        return
                    for _ in self._receiver.consume(limit=None, timeout=None, wakeup=True,
                                                    safety_interval=TURN_INTERVAL):
                        pass
            except errors as exc:
                if self._broker_down_since is None:
                    self._broker_down_since = time.time()
                    log.debug("farm monitor: broker unreachable: %s", exc)
            except Exception:  # noqa: BLE001 - the run goes on without a farm status figure
                log.exception("farm monitor: unexpected error; trying again")
            self._queue_channel = None
            self._depth = None
            self._publish()
            self._stop.wait(RECONNECT_INTERVAL)

    def turn(self, connection: Any) -> None:
        """At every event and every TURN_INTERVAL s: look at what is due, then publish."""
        self._broker_down_since = None
        now = time.monotonic()
        if now >= self._next_queue:
            self._next_queue = now + QUEUE_INTERVAL
            self._depth = self._queue_depth(connection)
        # Asked again at once after a birth, so that the new configuration shows in seconds.
        configuration = self.configuration_id()
        if now >= self._next_inspect or self._inspect_now or configuration != self._asked_for:
            self._next_inspect = now + INSPECT_INTERVAL
            self._inspect_now, self._asked_for = False, configuration
            self._inspect()
        self._publish()

    def _heard_event(self, state: State, event: Mapping[str, Any]) -> None:
        kind, hostname = event.get("type", ""), event.get("hostname")
        if not kind.startswith("worker-") or hostname is None:
            return
        self._heard[hostname] = event.get("local_received") or time.time()
        if kind == "worker-offline":
            self._offline.add(hostname)
        else:
            self._offline.discard(hostname)
            if kind == "worker-online":
                # A worker joined (is it this farm's?) or restarted (new sub-processes).
                self._inspect_now = True

    def _queue_depth(self, connection: Any) -> int | None:
        try:
            if self._queue_channel is None:
                self._queue_channel = connection.channel()
            _, depth, _ = self._queue_channel.queue_declare(queue=self.queue, passive=True)
            return depth
        except connection.channel_errors:
            self._queue_channel = None  # no such queue yet (the broker closed the channel)
            return None

    def _inspect(self) -> None:
        alive = sum(1 for worker in self.state.workers.values() if worker.alive)
        replies = self.app.control.broadcast("maus_farm", reply=True, timeout=INSPECT_TIMEOUT,
                                             limit=alive or None)
        now = time.time()
        for reply in replies or ():
            for name, answer in reply.items():
                if not isinstance(answer, dict) or "queues" not in answer:
                    continue  # another project's worker, or an older MAUS Online
                self._heard[name] = max(self._heard.get(name, 0.0), now)
                if self.queue in answer["queues"]:
                    self._farm[name] = answer
                else:
                    self._farm.pop(name, None)

    def _publish(self) -> None:
        """Make the snapshot the writer reads (a new object: it never sees one half made)."""
        sightings = []
        for name, answer in self._farm.items():
            worker: Worker | None = self.state.workers.get(name)
            processes = tuple(sorted((int(pid), config_id) for pid, config_id
                                     in (answer.get("processes") or {}).items()))
            sightings.append(WorkerSighting(
                name=name, host=name.partition("@")[2] or name,
                last_heard=self._heard.get(name), joined=answer.get("started"),
                offline=name in self._offline,
                active=int(getattr(worker, "active", 0) or 0), processes=processes))
        # The heartbeat interval the farm's workers announce (Celery's default: 2 s).
        freq = max([float(getattr(self.state.workers.get(name), "freq", 0) or 0)
                    for name in self._farm] + [2.0])
        self._snapshot = FarmSnapshot(
            workers=tuple(sightings), queue=self.queue, queue_depth=self._depth,
            broker_down_since=self._broker_down_since,
            lost_after=LOST_AFTER_HEARTBEATS * freq)
