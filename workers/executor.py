"""The Celery executor: how go.py's ``multi_process`` dataflow runs transforms on the workers.

Implements :class:`maus_online.dataflows.Executor`. Birth is a remote-control broadcast
(``maus_birth``) answered per worker; spills go out as ``execute_transform`` tasks, small ones
inline and big ones through the spill exchange; results come back as keys and statuses, and
the transformed spill is read from the exchange (the claim check, DESIGN §5).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult
from kombu.exceptions import OperationalError

from maus_online import __version__, codec
from maus_online.dataflows.executor import Completed, WorkerReport
from maus_online.errors import ExecutorError
from maus_online.specification import Specification, format_specification

from .app import TASK_NAME, app as default_app, configure_app
from .errors import one_line
from .spill_exchange import SpillExchange, input_key

#: A spill whose JSON is bigger than this travels through the spill exchange, not the message.
INLINE_LIMIT = 16 * 1024
#: Longest single wait on the result back end inside :meth:`CeleryExecutor.collect`.
POLL_INTERVAL = 0.05
#: Seconds one query waits for workers to answer while go.py looks for them.
PING_TIMEOUT = 1.0
WORKER_GUIDE = "docs/workers.md"


class CeleryExecutor:
    """Consumes spills and the run's configuration; produces transformed spills from workers."""

    def __init__(self, config: Mapping[str, Any], app: Any = None) -> None:
        self.config = config
        self.app = configure_app(app or default_app, config)
        self.exchange = SpillExchange(config["spill_exchange_url"], config["spill_exchange_ttl"])
        self.config_id: str | None = None
        self._processes = 0
        self._pending: dict[str, tuple[AsyncResult, str | None]] = {}

    # --- Birth ----------------------------------------------------------------------------

    def configure(self, specification: Specification, config: Mapping[str, Any],
                  run_number: Any, return_fields: list[str] | None = None
                  ) -> list[WorkerReport]:
        timeout = float(config["worker_birth_timeout"])
        deadline = time.monotonic() + timeout
        workers = self._discover(deadline)
        if not workers:
            queue = self.config["task_queue"]
            raise ExecutorError(
                f"no worker answered within {timeout:g} s on the broker {self._broker()} "
                f"for the queue {queue!r}; start workers with "
                f"`celery -A workers worker -c 2 -l INFO` ({WORKER_GUIDE})")
        config_id = f"{uuid.uuid4().hex[:12]}-run{run_number}"
        remaining = max(1.0, deadline - time.monotonic())
        replies = self._broadcast("maus_birth", {
            "specification": specification, "configuration": dict(config),
            "config_id": config_id, "version": __version__, "timeout": 0.9 * remaining,
            "return_fields": return_fields,
        }, timeout=remaining, limit=len(workers), destination=workers)
        reports = [self._report(name, replies.get(name), remaining) for name in sorted(
            set(workers) | set(replies))]
        failed = [report for report in reports if not report.updated]
        if failed:
            details = "; ".join(f"{r.name}: {r.detail}" for r in failed)
            raise ExecutorError(f"{len(failed)} of {len(reports)} workers could not be born "
                                f"with {format_specification(specification)}: {details}")
        self.config_id = config_id
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
                raise ExecutorError(f"cannot reach the broker {self._broker()}: {exc}") from exc
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
            raise ExecutorError(f"cannot reach the broker {self._broker()}: {exc}") from exc
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

    def submit(self, spill: dict[str, Any]) -> str:
        if self.config_id is None:
            raise ExecutorError("no configuration was born on the workers before a spill")
        ticket = uuid.uuid4().hex
        body = codec.dumps(spill)
        stored = None
        if len(body) > INLINE_LIMIT:
            stored = self.exchange.put(input_key(ticket), body)
            arguments: dict[str, Any] = {"spill_key": stored}
        else:
            arguments = {"spill": spill}
        try:
            result = self.app.send_task(TASK_NAME, kwargs={**arguments,
                                                           "config_id": self.config_id},
                                        task_id=ticket, queue=self.config["task_queue"])
        except OperationalError as exc:
            raise ExecutorError(f"cannot send a spill to the broker {self._broker()}: "
                                f"{exc}") from exc
        self._pending[ticket] = (result, stored)
        return ticket

    def collect(self, timeout: float) -> list[Completed]:
        deadline = time.monotonic() + timeout
        while True:
            done = [self._complete(ticket) for ticket, (result, _) in list(self._pending.items())
                    if result.ready()]
            remaining = deadline - time.monotonic()
            if done or not self._pending or remaining <= 0:
                return done
            oldest, _ = next(iter(self._pending.values()))
            try:
                # Waiting on the oldest also reads every other result that arrives meanwhile.
                oldest.get(timeout=min(POLL_INTERVAL, remaining), propagate=False)
            except CeleryTimeoutError:
                pass

    def _complete(self, ticket: str) -> Completed:
        result, stored = self._pending.pop(ticket)
        try:
            return self._completed(ticket, result)
        finally:
            result.forget()  # the back end keeps nothing of a collected spill
            if stored is not None:
                self.exchange.delete(stored)

    def _completed(self, ticket: str, result: AsyncResult) -> Completed:
        value = result.result
        if result.state != "SUCCESS" or not isinstance(value, dict):
            return Completed(ticket, None, f"task {result.state}: {value!r}\n"
                                           f"{result.traceback or ''}".rstrip())
        worker = f"{value.get('hostname', '?')}"
        if value.get("status") != "ok":
            error = value.get("error") or {}
            return Completed(ticket, None, f"{value.get('status')}: {one_line(error)}\n"
                                           f"{error.get('traceback', '')}".rstrip(), worker)
        try:
            spill = codec.loads(self.exchange.get(value["spill_key"]))
        except (ExecutorError, ValueError) as exc:
            return Completed(ticket, None, f"transformed spill lost: {exc}", worker)
        self.exchange.delete(value["spill_key"])
        return Completed(ticket, spill, worker=worker)

    def close(self) -> None:
        for result, stored in self._pending.values():
            result.forget()
        self._pending.clear()
        self.exchange.close()
