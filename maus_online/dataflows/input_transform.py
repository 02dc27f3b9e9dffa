"""The producer half of a job: input → the spill side on workers → the document store.

:class:`InputTransform` numbers every spill it reads (its ``seq``, the order of the stream),
has the workers transform it (and fill the reducers' partials) straight into the store, and
publishes the **watermark**: the highest ``seq`` below which every spill is stored, with what
each stored spill holds (:class:`~maus_online.doc_store.StreamContents`). Run markers and
spills the input could not read need no worker and are stored here. A spill no worker could
transform is stored with the reason in its ``errors``, so the stream has no holes and the
merge side reports it.
"""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from ..catalogue import say
from ..doc_store import (DocumentStore, Retrying, SpillLabel, StoredSpill, StreamContents,
                         StreamPosition, StreamState)
from ..errors import ConfigurationError
from ..inputs import input_failed
from ..modules import Spill, record_error
from ..spill import is_marker
from .executor import Executor, WorkerReport
from .progress import ProgressDisplay
from .resume import Resumption, differences, label_of, stream_position
from .spill_side import SpillSideSpec
from .statistics import RunStatistics

#: Module name under which a spill that no worker could transform records the reason.
EXECUTOR_ERROR = "execute_transform"
#: How many ``seq`` numbers are reserved in the store at a time: a restarted producer starts
#: beyond every number a crashed one may have handed to a worker.
RESERVE_BLOCK = 1000
#: Seconds without a finished spill after which the producer publishes its state anyway:
#: when the workers are stuck on a store that is down, this is how go.py finds out and says
#: so (MAUS-110), rather than waiting in silence.
HEARTBEAT = 2.0


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
    """Consumes the input's spills; produces them, through the spill side on the workers, in
    the store, in read order.

    The caller drives it (the dataflows in multi_process.py): :meth:`try_feed` takes a spill
    when it can and returns False while the workers are busy or still hold the run before;
    :meth:`collect` takes what the workers finished. Nothing here waits for anything else.

    A spill that finds a worker free (fewer tasks in flight than the workers' sub-processes)
    is sent at once, alone. While every worker is busy, the spills wait in a batch of up to
    ``spills_per_task``, sent when a worker frees or the batch is full: a backlog travels in
    few tasks, and Celery's cost per task is paid once per batch.
    """

    def __init__(self, spill_side: SpillSideSpec, config: Mapping[str, Any],
                 stats: RunStatistics, progress: ProgressDisplay, executor: Executor,
                 store: DocumentStore, retrying: Retrying) -> None:
        self.spill_side, self.config, self.stats = spill_side, config, stats
        self.progress, self.executor, self.store = progress, executor, store
        self.retrying = retrying
        self.contents = StreamContents(spill_side.fillers, spill_side.fields)
        #: Which input this producer reads, and the label of the spill at its watermark.
        self.position = stream_position(config)
        self._labels: dict[int, SpillLabel] = {}
        #: Set when this producer resumes an earlier one's unfinished stream.
        self.resumption: Resumption | None = None
        self.producer = f"go.py@{socket.gethostname()}:{os.getpid()}"
        self.numbers = SequenceNumbers(0)
        self.reserved = 0
        self.published = -1
        self._published_at = time.monotonic()
        #: Spills on the workers by ``seq``, and the ``seq`` numbers of each task in flight.
        self.on_workers: dict[int, Spill] = {}
        self.tasks: dict[str, set[int]] = {}
        #: Spills waiting for a free worker, sent together (see the class docstring).
        self.batch: list[tuple[int, Spill]] = []
        self.batch_size = config["spills_per_task"]
        self.configured = False
        self.configured_run: Any = None
        self.limit = 1

    @property
    def in_flight(self) -> int:
        """Spills taken for the workers and not yet collected (on a worker or in the batch)."""
        return len(self.on_workers) + len(self.batch)

    def open(self) -> None:
        """Start numbering beyond everything an earlier producer stored or reserved; resume
        the stream it left unfinished (docs/recovery.md#maus-142)."""
        stream = self.retrying.call("read the stream state", self.store.stream)
        last = max(stream.reserved, stream.watermark,
                   self.retrying.call("find the last spill", self.store.last_seq))
        if stream.position is not None and not stream.finished:
            self._take_over(stream, last)
        self.numbers = SequenceNumbers(last)
        self.reserved = last
        self._publish(force=True)

    def _take_over(self, stream: StreamState, last_seq: int) -> None:
        """Resume ``stream`` when it is this input's, refuse it when not (unless told to
        start it over)."""
        old = stream.position
        if old.input_id != self.position.input_id:
            if not self.config["restart_run"]:
                raise ConfigurationError(say("MAUS-143", url=self.config["doc_store_url"],
                                             differences=differences(old, self.position)))
            self.progress.note(say("MAUS-144", input=old.input))
            return
        # Spills the workers stored above the watermark before the earlier go.py died.
        count = max(1, last_seq - stream.watermark)
        beyond = self.retrying.call("read the spills beyond the watermark", self.store.read,
                                    stream.watermark, last_seq, count)
        self.resumption = Resumption.from_store(old, beyond)
        self.position = StreamPosition(self.position.input_id, self.position.input, old.last)
        where = "the start" if old.last is None else \
            "run {}, spill {} ({})".format(*old.last)
        extra = f", and {len(self.resumption.beyond)} stored beyond it" \
            if self.resumption.beyond else ""
        self.progress.note(say("MAUS-142", input=old.input, last=where, beyond=extra))

    def try_feed(self, spill: Spill) -> bool:
        """Take one spill from the input -- store it, or have a worker transform it -- and
        return True; or take nothing and return False, while every worker is busy or the
        spills of the run before are still on them (collect, then try again)."""
        if self.resumption is not None and self.resumption.already_stored(spill):
            self.stats.spills_resumed += 1
            return True  # an earlier go.py stored it: taken, and nothing to do
        needs_worker = not (input_failed(spill) or is_marker(spill))
        if needs_worker:
            run = spill.get("run_number")
            if not self.configured or run != self.configured_run:
                if self.in_flight:
                    self._send_batch()
                    return False  # the old run's spills first; then the workers are re-born
                self._configure(run)
            if self.in_flight >= self.limit:
                self._send_batch()
                return False
        seq = self.numbers.take()
        self._labels[seq] = label_of(spill)
        if seq > self.reserved:
            self.reserved = seq + RESERVE_BLOCK
            self._publish(force=True)
        if needs_worker:
            self.batch.append((seq, spill))
            if len(self.batch) >= self.batch_size or self._worker_free():
                self._send_batch()
            self.stats.in_flight = self.in_flight
        else:
            # Maps pass markers through untouched, and a spill the input could not read
            # would only fail again: neither needs a worker.
            self._store(seq, spill)
        self._publish()
        return True

    def _configure(self, run: Any) -> None:
        """Birth the spill side on every worker for ``run``."""
        reports = self.executor.configure(self.spill_side, run)
        self.progress.note(format_reports(reports))
        self.configured, self.configured_run = True, run
        self.limit = (self.config["max_spills_in_flight"]
                      or 2 * self.executor.concurrency() * self.batch_size)

    def _worker_free(self) -> bool:
        return len(self.tasks) < self.executor.concurrency()

    def _send_batch(self) -> None:
        if self.batch:
            ticket = self.executor.submit(self.batch)
            self.tasks[ticket] = {seq for seq, _ in self.batch}
            self.on_workers.update(self.batch)
            self.batch = []

    def collect(self, timeout: float = 0.5) -> None:
        """Take the spills finished meanwhile (waiting up to ``timeout`` for one); then send the
        waiting batch if a worker is free."""
        if self.batch and not self.on_workers:
            self._send_batch()  # nothing else could free a worker for it
        finished = self.executor.collect(timeout)
        if not finished and self.on_workers and \
                time.monotonic() - self._published_at > HEARTBEAT:
            self._publish(force=True)
        for completed in finished:
            spill = self.on_workers.pop(completed.seq, None)
            if spill is None:
                continue  # a duplicate report of a redelivered task
            seq = completed.seq
            seqs = self.tasks.get(completed.ticket, set())
            seqs.discard(seq)
            if not seqs:
                self.tasks.pop(completed.ticket, None)
            if completed.error is not None:
                record_error(spill, EXECUTOR_ERROR, completed.error)
                self.stats.transform_failures += 1
                self._store(seq, spill)
            else:
                self.numbers.done(seq)
                self.stats.spills_stored += 1
            self.stats.per_worker[completed.worker] += 1
        if self._worker_free():
            self._send_batch()
        self.stats.in_flight = self.in_flight
        self._publish()
        self.progress.update()

    def drain(self) -> None:
        """Collect until no spill is on a worker or waiting for one."""
        while self.in_flight:
            self.collect()

    def finish(self) -> None:
        """Tell consumers that the input has ended (after :meth:`drain`)."""
        self._publish(finished=True)

    def _store(self, seq: int, spill: Spill) -> None:
        self.retrying.call(f"store spill {seq}", self.store.put, StoredSpill.encode(seq, spill))
        self.numbers.done(seq)
        self.stats.spills_stored += 1

    def _publish(self, force: bool = False, finished: bool = False) -> None:
        watermark = self.numbers.watermark
        if force or finished or watermark != self.published:
            if watermark in self._labels:  # the spill at the watermark: where a restart resumes
                self.position = StreamPosition(self.position.input_id, self.position.input,
                                               self._labels[watermark])
                for seq in [seq for seq in self._labels if seq <= watermark]:
                    del self._labels[seq]
            state = StreamState(watermark, self.reserved, finished, self.producer,
                                self.contents, self.position)
            self.retrying.call("publish the watermark", self.store.save_stream, state)
            self.published = watermark
            self._published_at = time.monotonic()
