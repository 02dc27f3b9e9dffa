"""The Celery executor: how go.py's ``multi_process`` dataflow runs transforms on the workers.

Implements :class:`maus_online.dataflows.Executor`. Birth is a remote-control broadcast
(``maus_birth``) answered per worker; spills go out as ``execute_transform`` tasks, small ones
inline and big ones through the spill exchange (the claim check, DESIGN §5); the workers write
the transformed spills into the document store themselves, and results come back as statuses.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult
from kombu.exceptions import OperationalError

from maus_online import __version__, codec
from maus_online.catalogue import say
from maus_online.dataflows.executor import Completed, WorkerReport
from maus_online.dataflows.spill_side import SpillSideSpec
from maus_online.errors import ExecutorError
from maus_online.outages import Outages
from maus_online.specification import format_specification

from .app import TASK_NAME, app as default_app, configure_app
from .errors import one_line
from .farm_monitor import FarmMonitor, WorkerTally
from .spill_exchange import SpillExchange, input_key

log = logging.getLogger(__name__)

#: A spill whose JSON is bigger than this travels through the spill exchange, not the message.
INLINE_LIMIT = 16 * 1024
#: Longest single wait on the result back end inside :meth:`CeleryExecutor.collect`.
POLL_INTERVAL = 0.05
#: Seconds one query waits for workers to answer while go.py looks for them.
PING_TIMEOUT = 1.0
#: How often a refused spill is sent again after its worker was born anew (a worker that
#: (re)started during the run knows no configuration until go.py gives it one).
MAX_REBIRTHS = 2
#: Configuration keys the workers never receive: they reach the broker with their own.
NOT_BROADCAST = ("broker_url", "result_backend")


#: Who carries what, as the outage messages name them.
BROKER = "RabbitMQ"
EXCHANGE = "Redis (spill exchange)"


@dataclass
class _Task:
    """A submitted batch: its Celery result (None while the broker was down and it waits to
    be sent), its input keys in the exchange, its arguments."""

    result: AsyncResult | None
    stored: list[str]
    kwargs: dict[str, Any]
    rebirths: int = 0

    @property
    def seqs(self) -> list[int]:
        return [item["seq"] for item in self.kwargs["batch"]]


def _failure(error: Any) -> str | None:
    """The text go.py records for a spill the worker could not transform (None: it did)."""
    if error is None:
        return None
    error = error if isinstance(error, dict) else {"message": str(error)}
    return f"failed: {one_line(error)}\n{error.get('traceback', '')}".rstrip()


class CeleryExecutor:
    """Consumes spills and the run's configuration; produces transformed spills from workers.

    ``config`` is the one configuration it works with: the broker and queue it talks to, and
    what it broadcasts to the workers at each birth (the dataflow makes the executor after it
    has made the store's URL absolute, so the workers open the same store).

    **Outages** (``outages``; docs/recovery.md#paused): a batch the broker does not take is
    kept and sent again when it answers; a result path that fails (the back end's server
    down) is waited out. When a server comes back, every batch still in flight is sent again:
    a result published while go.py was cut off may be lost, and a batch done twice writes the
    same ``seq`` numbers twice, which replaces. Only an outage longer than
    ``server_outage_timeout`` ends the run (:class:`~maus_online.outages.ServerDown`).
    """

    def __init__(self, config: Mapping[str, Any], app: Any = None, *,
                 outages: Outages | None = None) -> None:
        self.config = config
        self.app = configure_app(app or default_app, config)
        self.outages = outages or Outages(config["server_outage_timeout"], log.warning)
        _quiet_backend_retries()
        self.exchange = SpillExchange(config["spill_exchange_url"], config["spill_exchange_ttl"])
        #: The server behind the result back end, as the outage messages name it.
        self.results_server = _server_of(config["result_backend"])
        self._recoveries = 0
        self.config_id: str | None = None
        self._processes = 0
        self._pending: dict[str, _Task] = {}
        #: Ticket of each task in flight, by Celery task ID (a resent spill has a new ID).
        self._tickets: dict[str, str] = {}
        #: Task IDs whose results arrived (Celery called back while draining the back end).
        self._arrived: deque[str] = deque()
        self._birth: dict[str, Any] = {}
        #: Spills done and failed, and tasks redelivered, per worker (the farm status).
        self.tally = WorkerTally()

    def farm_view(self) -> FarmMonitor:
        """A running view of the farm that consumes this executor's queue (farm.json)."""
        return FarmMonitor(self.config, self.app, configuration_id=lambda: self.config_id,
                           tally=self.tally).start()

    # --- Birth ----------------------------------------------------------------------------

    def configure(self, spill_side: SpillSideSpec, run_number: Any) -> list[WorkerReport]:
        config = self.config
        timeout = float(config["worker_birth_timeout"])
        deadline = time.monotonic() + timeout
        workers = self._discover(deadline)
        if not workers:
            queue = self.config["task_queue"]
            raise ExecutorError(say("MAUS-101", timeout=f"{timeout:g}", broker=self._broker(),
                                    queue=queue))
        config_id = f"{uuid.uuid4().hex[:12]}-run{run_number}"
        remaining = max(1.0, deadline - time.monotonic())
        birth = {"spill_side": spill_side.as_dict(), "config_id": config_id,
                 "configuration": {k: v for k, v in config.items() if k not in NOT_BROADCAST},
                 "version": __version__}
        replies = self._broadcast("maus_birth", {**birth, "timeout": 0.9 * remaining},
                                  timeout=remaining, limit=len(workers), destination=workers)
        reports = [self._report(name, replies.get(name), remaining) for name in sorted(
            set(workers) | set(replies))]
        failed = [report for report in reports if not report.updated]
        if failed:
            details = "; ".join(f"{r.name}: {r.detail}" for r in failed)
            raise ExecutorError(say("MAUS-102", failed=len(failed), total=len(reports),
                                    specification=format_specification(spill_side.transform),
                                    details=details))
        self.config_id = config_id
        self._birth = birth
        self._processes = sum(max(1, len(r.processes)) for r in reports)
        return reports

    def concurrency(self) -> int:
        return max(1, self._processes)

    def _discover(self, deadline: float) -> list[str]:
        """The workers that consume this go.py's task queue (others are none of its business:
        another go.py may be configuring them for its own run)."""
        queue = self.config["task_queue"]
        while True:
            try:
                answers = self.app.control.inspect(timeout=PING_TIMEOUT).active_queues() or {}
            except OperationalError as exc:
                raise ExecutorError(say("MAUS-104", broker=self._broker(), reason=exc)) from exc
            names = sorted(name for name, queues in answers.items()
                           if any(q.get("name") == queue for q in queues or ()))
            if names or time.monotonic() >= deadline:
                return names

    def _broadcast(self, command: str, arguments: dict[str, Any], timeout: float,
                   limit: int, destination: list[str]) -> dict[str, Any]:
        try:
            replies = self.app.control.broadcast(command, arguments=arguments, reply=True,
                                                 timeout=timeout, limit=limit,
                                                 destination=destination)
        except OperationalError as exc:
            raise ExecutorError(say("MAUS-104", broker=self._broker(), reason=exc)) from exc
        return {name: reply for answer in replies or [] for name, reply in answer.items()}

    @staticmethod
    def _report(name: str, reply: Any, timeout: float) -> WorkerReport:
        if reply is None:
            return WorkerReport(name, False, f"no answer within {timeout:.0f} s")
        if "ok" in reply:
            processes = reply["ok"].get("processes", {})
            pids = ", ".join(processes) or "its main process"
            return WorkerReport(name, True, f"sub-processes {pids}", processes)
        error = reply.get("error")
        if isinstance(error, dict):
            reasons = "; ".join(f"PID {pid}: {one_line(e) if isinstance(e, dict) else e}"
                                for pid, e in error.get("failed", {}).items())
            return WorkerReport(name, False, reasons or str(error.get("reason")),
                                error.get("processes", {}))
        return WorkerReport(name, False, str(error))

    def _broker(self) -> str:
        return self.app.connection_for_write().as_uri()  # as_uri() hides the password

    # --- Spills -----------------------------------------------------------------------------

    def submit(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> str:
        if self.config_id is None:
            raise ExecutorError("no configuration was born on the workers before a spill")
        ticket = uuid.uuid4().hex
        items, stored = [], []
        for seq, spill in batch:
            body = codec.dumps(spill)
            key = self._claim_check(f"{ticket}:{seq}", body) if len(body) > INLINE_LIMIT else None
            if key is not None:
                stored.append(key)
                items.append({"seq": seq, "spill_key": key})
            else:
                items.append({"seq": seq, "spill": spill})
        kwargs = {"batch": items, "config_id": self.config_id}
        task = self._pending[ticket] = _Task(None, stored, kwargs)
        self._send(task, ticket, ticket)
        return ticket

    def _claim_check(self, name: str, body: bytes) -> str | None:
        """The spill's key in the exchange; None while Redis is down: the spill then travels
        in the task message itself, so that an exchange outage pauses nothing."""
        try:
            key = self.exchange.put(input_key(name), body)
        except ExecutorError as exc:
            self.outages.failed(EXCHANGE, self.exchange.url, exc)
            return None
        self.outages.answered(EXCHANGE)
        return key

    def _send(self, task: _Task, ticket: str, task_id: str) -> None:
        """Publish ``task``; while the broker does not take it, keep it unsent (``result`` None)
        for :meth:`collect` to send again."""
        kwargs = task.kwargs
        try:
            # kwargsrepr: Celery would otherwise format the whole spill for its logs.
            result = self.app.send_task(TASK_NAME, kwargs=kwargs, task_id=task_id,
                                        queue=self.config["task_queue"],
                                        kwargsrepr=f"{{'seqs': {task.seqs}}}")
        except self._connection_errors as exc:
            # Celery subscribes to the result before it publishes: either server may refuse.
            task.result = None
            self._failed(exc)
            return
        self.outages.answered(BROKER)
        task.result = result
        self._tickets[task_id] = ticket
        try:
            # Called back when the result's message is drained from the back end: go.py
            # never asks the back end about a task that has not finished.
            result.then(self._result_arrived)
        except self._connection_errors as exc:
            # Sent, but nobody listens for its result: sent again when the back end is back.
            self._failed(exc, self.results_server)

    def _result_arrived(self, result: AsyncResult) -> None:
        self._arrived.append(result.id)

    def collect(self, timeout: float) -> list[Completed]:
        deadline = time.monotonic() + timeout
        while True:
            self._after_outages()
            done = self._take_arrived()
            remaining = deadline - time.monotonic()
            if done or not self._pending:
                return done
            # At least one short drain, even with no time left: collect(0) takes what has
            # finished without waiting (0 itself would mean "no timeout" to Celery).
            self._drain(max(0.001, min(POLL_INTERVAL, remaining)))
            if remaining <= 0:
                return self._take_arrived()

    def _take_arrived(self) -> list[Completed]:
        done: list[Completed] = []
        while self._arrived:
            ticket = self._tickets.pop(self._arrived.popleft(), None)
            if ticket in self._pending and not self._resent(ticket, self._pending[ticket]):
                done += self._complete(ticket)
        return done

    def _drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` on the oldest task sent: that drains every result arriving
        meanwhile. A back end that fails is an outage waited out, never the run's end."""
        sent = [task.result for task in self._pending.values() if task.result is not None]
        if not sent:
            time.sleep(timeout)  # everything waits for the broker: look again shortly
            return
        try:
            sent[0].get(timeout=timeout, propagate=False)
        except CeleryTimeoutError:
            pass
        except self._connection_errors as exc:
            self._failed(exc, self.results_server)
            time.sleep(timeout)
            return
        self.outages.answered(self.results_server)

    def _failed(self, exc: BaseException, server: str | None = None) -> None:
        """Count a failed call as an outage of the server that refused it (``server``, or
        the one ``exc`` comes from), quoting the first cause rather than Celery's wrapper."""
        if server is None:
            backend = tuple(getattr(self.app.backend, "connection_errors", ()) or ())
            from_backend = isinstance(exc, (*backend, RuntimeError))
            server = self.results_server if from_backend else BROKER
        url = self._broker() if server == BROKER else self.config["result_backend"]
        self.outages.failed(server, url, exc.__cause__ or exc)

    def _after_outages(self) -> None:
        """Send what the broker did not take; after an outage, every batch still in flight
        (its result may have been published while go.py was cut off)."""
        recovered = self.outages.recoveries != self._recoveries
        self._recoveries = self.outages.recoveries
        for ticket, task in list(self._pending.items()):
            if task.result is None or recovered:
                if task.result is not None:
                    self._tickets.pop(task.result.id, None)
                    self._forget(task.result)
                self._send(task, ticket, uuid.uuid4().hex)
                if task.result is None:
                    return  # the broker is still down: keep the rest for the next look

    def _resent(self, ticket: str, task: _Task) -> bool:
        """Whether a refused spill was sent again, after its worker was given the run's
        configuration (it started, or restarted, after the run's birth)."""
        value = task.result.result
        if not (isinstance(value, dict) and value.get("status") == "refused"
                and task.rebirths < MAX_REBIRTHS):
            return False
        worker = value.get("hostname", "?")
        timeout = float(self.config["worker_birth_timeout"])
        replies = self._broadcast("maus_birth", {**self._birth, "timeout": 0.9 * timeout},
                                  timeout=timeout, limit=1, destination=[worker])
        report = self._report(worker, replies.get(worker), timeout)
        log.warning("%s", say("MAUS-134", worker=worker,
                              seq=", ".join(map(str, task.seqs)),
                              outcome="updated" if report.updated else report.detail))
        self._forget(task.result)
        task.rebirths += 1
        self._send(task, ticket, uuid.uuid4().hex)
        return True

    def _complete(self, ticket: str) -> list[Completed]:
        task = self._pending.pop(ticket)
        try:
            completed = self._completed(ticket, task)
            value = task.result.result if isinstance(task.result.result, dict) else {}
            self.tally.count(completed[0].worker if completed else "?", len(completed),
                             sum(c.error is not None for c in completed),
                             bool(value.get("redelivered")))
            return completed
        finally:
            self._forget(task.result)  # the back end keeps nothing of a collected spill
            try:
                self.exchange.delete(*task.stored)
            except ExecutorError as exc:  # the keys expire by themselves
                log.debug("spill exchange keys left to expire: %s", exc)

    def _forget(self, result: AsyncResult | None) -> None:
        """Drop a result from the back end; when the back end is away, it expires by itself."""
        if result is None:
            return
        try:
            result.forget()
        except self._connection_errors as exc:
            log.debug("result %s left to expire: %s", result.id, exc)

    @property
    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        """What a server that does not answer raises, through Celery, kombu or redis-py."""
        backend = getattr(self.app.backend, "connection_errors", ()) or ()
        return (OperationalError, ConnectionError, OSError, RuntimeError, *backend)

    @staticmethod
    def _completed(ticket: str, task: _Task) -> list[Completed]:
        """One Completed per spill of the task: the worker says which of them failed."""
        result, value = task.result, task.result.result
        if result.state != "SUCCESS" or not isinstance(value, dict):
            error = f"task {result.state}: {value!r}\n{result.traceback or ''}".rstrip()
            return [Completed(ticket, seq, error) for seq in task.seqs]
        worker = f"{value.get('hostname', '?')}"
        if value.get("status") != "ok":
            error = value.get("error") or {}
            text = f"{value.get('status')}: {one_line(error)}\n{error.get('traceback', '')}"
            return [Completed(ticket, seq, text.rstrip(), worker) for seq in task.seqs]
        failed = value.get("failed") or {}
        return [Completed(ticket, seq, _failure(failed.get(str(seq))), worker)
                for seq in task.seqs]

    def close(self) -> None:
        for task in self._pending.values():
            self._forget(task.result)
        self._pending.clear()
        self._tickets.clear()
        self._arrived.clear()
        self.exchange.close()


def _quiet_backend_retries() -> None:
    """Celery's Redis back end logs every reconnection attempt as an ERROR (one a second)
    and a CRITICAL banner after twenty; go.py's own outage message (MAUS-108) says it once,
    with what to do. Shown still with log_level DEBUG."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in ("celery.backends.redis", "celery.backends.asynchronous"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _server_of(url: str) -> str:
    """The server a back-end URL names, as the outage messages call it."""
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("rpc", "amqp", "pyamqp"):
        return BROKER
    return {"redis": "Redis", "rediss": "Redis"}.get(scheme, scheme)
