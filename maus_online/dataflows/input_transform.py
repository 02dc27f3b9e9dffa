"""The producer half of a job: input → transforms on workers → the document store.

:class:`InputTransform` numbers every spill it reads (its ``seq``, the order of the stream),
has the workers transform it straight into the store, and publishes the **watermark**: the
highest ``seq`` below which every spill is stored. Run markers and spills the input could not
read need no worker and are stored here. A spill no worker could transform is stored with the
reason in its ``errors``, so the stream has no holes and the merge side reports it.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from ..doc_store import DocumentStore, Retrying, StoredSpill, StreamState
from ..inputs import input_failed
from ..modules import Spill, record_error
from .executor import Executor, WorkerReport
from .progress import ProgressDisplay
from .statistics import RunStatistics

#: Module name under which a spill that no worker could transform records the reason.
EXECUTOR_ERROR = "execute_transform"
#: How many ``seq`` numbers are reserved in the store at a time: a restarted producer starts
#: beyond every number a crashed one may have handed to a worker.
RESERVE_BLOCK = 1000
MARKERS = ("start_of_run", "end_of_run")


class SequenceNumbers:
    """Hands out ``seq`` numbers in read order and knows the watermark.

    ``SequenceNumbers(0).take()`` is 1; the watermark stays below the oldest number not yet
    :meth:`done`.
    """

    def __init__(self, last: int) -> None:
        self.last = last
        self._pending: set[int] = set()

    def take(self) -> int:
        self.last += 1
        self._pending.add(self.last)
        return self.last

    def done(self, seq: int) -> None:
        self._pending.discard(seq)

    @property
    def watermark(self) -> int:
        return min(self._pending) - 1 if self._pending else self.last


def format_reports(reports: list[WorkerReport]) -> str:
    lines = [f"workers: {sum(r.updated for r in reports)} of {len(reports)} updated"]
    for report in reports:
        state = "updated" if report.updated else "FAILED"
        lines.append(f"  {report.name}: {state}, {report.detail}")
    return "\n".join(lines)


class InputTransform:
    """Consumes the input's spills; produces transformed spills in the store, in read order."""

    def __init__(self, specification: Any, config: Mapping[str, Any], stats: RunStatistics,
                 progress: ProgressDisplay, executor: Executor, store: DocumentStore,
                 retrying: Retrying, return_fields: list[str] | None = None) -> None:
        self.specification, self.config, self.stats = specification, config, stats
        self.progress, self.executor, self.store = progress, executor, store
        self.retrying, self.return_fields = retrying, return_fields
        self.producer = f"go.py@{socket.gethostname()}:{os.getpid()}"
        self.numbers = SequenceNumbers(0)
        self.reserved = 0
        self.published = -1
        self.tickets: dict[str, tuple[int, Spill]] = {}
        self.configured = False
        self.configured_run: Any = None
        self.limit = 1
        #: Called between waits for the workers (multi_process merges there).
        self.idle: Callable[[], object] = lambda: None

    def open(self) -> None:
        """Start numbering beyond everything an earlier producer stored or reserved."""
        stream = self.retrying.call("read the stream state", self.store.stream)
        last = max(stream.reserved, stream.watermark,
                   self.retrying.call("find the last spill", self.store.last_seq))
        self.numbers = SequenceNumbers(last)
        self.reserved = last
        self._publish(force=True)

    def feed(self, spill: Spill) -> None:
        """Take one spill from the input: store it, or have a worker transform it."""
        seq = self.numbers.take()
        if seq > self.reserved:
            self.reserved = seq + RESERVE_BLOCK
            self._publish(force=True)
        if input_failed(spill) or spill.get("daq_event_type") in MARKERS:
            # Maps pass markers through untouched, and a spill the input could not read
            # would only fail again: neither needs a worker.
            self._store(seq, spill)
        else:
            run = spill.get("run_number")
            if not self.configured or run != self.configured_run:
                self.configure(run)
            while len(self.tickets) >= self.limit:
                self.collect()
            self.tickets[self.executor.submit(spill, seq)] = (seq, spill)
            self.stats.in_flight = len(self.tickets)
        self._publish()

    def configure(self, run: Any) -> None:
        """Finish the old run's spills, then re-birth every worker for ``run``."""
        self.drain()
        reports = self.executor.configure(self.specification, self.config, run,
                                          self.return_fields)
        self.progress.note(format_reports(reports))
        self.configured, self.configured_run = True, run
        self.limit = self.config["max_spills_in_flight"] or 2 * self.executor.concurrency()

    def collect(self, timeout: float = 0.5) -> None:
        """Take the transforms finished meanwhile (waiting up to ``timeout`` for one)."""
        self.idle()
        for completed in self.executor.collect(timeout):
            entry = self.tickets.pop(completed.ticket, None)
            if entry is None:
                continue  # a duplicate report of a redelivered task
            seq, spill = entry
            if completed.error is not None:
                record_error(spill, EXECUTOR_ERROR, completed.error)
                self.stats.transform_failures += 1
                self._store(seq, spill)
            else:
                self.numbers.done(seq)
                self.stats.spills_stored += 1
            self.stats.per_worker[completed.worker] += 1
        self.stats.in_flight = len(self.tickets)
        self._publish()
        self.progress.update()

    def drain(self) -> None:
        while self.tickets:
            self.collect()

    def finish(self) -> None:
        """Collect what is in flight and tell consumers that the input has ended."""
        self.drain()
        self._publish(finished=True)

    def _store(self, seq: int, spill: Spill) -> None:
        self.retrying.call(f"store spill {seq}", self.store.put, StoredSpill.encode(seq, spill))
        self.numbers.done(seq)
        self.stats.spills_stored += 1

    def _publish(self, force: bool = False, finished: bool = False) -> None:
        watermark = self.numbers.watermark
        if force or finished or watermark != self.published:
            state = StreamState(watermark, self.reserved, finished, self.producer)
            self.retrying.call("publish the watermark", self.store.save_stream, state)
            self.published = watermark
