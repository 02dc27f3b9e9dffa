"""``multi_process``: transforms on workers (through an :class:`Executor`), input and merge here.

Spills are submitted with a bounded number in flight (back-pressure: a fast input cannot flood
the broker) and merged in the order they were read, so the reduced results are the same as
``pipeline_single_thread``'s. At each new run every spill of the old run is collected and
merged first, then the workers are re-born for the new run (a spill in flight during a
re-birth would be refused by its worker).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..inputs import input_failed
from ..modules import Spill, fields_read, record_error
from .assembly import Stages
from .executor import Completed, Executor, WorkerReport
from .merge import MergeOutput
from .progress import ProgressDisplay
from .statistics import RunStatistics

#: Module name under which a spill that no worker could transform records the reason.
EXECUTOR_ERROR = "execute_transform"
#: How long one wait for finished transforms lasts before the loop looks around again.
COLLECT_WAIT = 0.5


@dataclass
class _Entry:
    spill: Spill
    done: bool


class ReorderWindow:
    """Hands spills to the merge side in the order they were read, whatever order they finish."""

    def __init__(self, merge: MergeOutput) -> None:
        self.merge = merge
        self._queue: deque[_Entry] = deque()
        self._pending: dict[str, _Entry] = {}

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def add_done(self, spill: Spill) -> None:
        self._queue.append(_Entry(spill, True))

    def add_pending(self, ticket: str, spill: Spill) -> None:
        entry = _Entry(spill, False)
        self._pending[ticket] = entry
        self._queue.append(entry)

    def complete(self, completed: Completed) -> bool:
        """Fill in a finished transform; False for a ticket already completed (a duplicate)."""
        entry = self._pending.pop(completed.ticket, None)
        if entry is None:
            return False
        if completed.spill is not None:
            entry.spill = completed.spill
        else:
            record_error(entry.spill, EXECUTOR_ERROR, completed.error or "no result")
        entry.done = True
        return True

    def flush(self) -> None:
        """Merge every finished spill at the head of the window."""
        while self._queue and self._queue[0].done:
            self.merge.process(self._queue.popleft().spill)


def format_reports(reports: list[WorkerReport]) -> str:
    lines = [f"workers: {sum(r.updated for r in reports)} of {len(reports)} updated"]
    for report in reports:
        state = "updated" if report.updated else "FAILED"
        lines.append(f"  {report.name}: {state}, {report.detail}")
    return "\n".join(lines)


class _MultiProcessRun:
    """The state of one multi_process job: the window, the executor, the current run."""

    def __init__(self, stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                 progress: ProgressDisplay, executor: Executor) -> None:
        self.stages, self.config, self.stats = stages, config, stats
        self.progress, self.executor = progress, executor
        self.merge = MergeOutput(stages.reducers, stages.outputters, config, stats)
        self.window = ReorderWindow(self.merge)
        self.return_fields = fields_read([*stages.reducers, *stages.outputters])
        self.configured = False
        self.configured_run: Any = None
        self.limit = 1

    def feed(self, spill: Spill) -> None:
        """Take one spill from the input: merge it, or submit it to the workers."""
        if input_failed(spill) or spill.get("daq_event_type") in ("start_of_run", "end_of_run"):
            # Maps pass markers through untouched, and a spill the input could not read
            # would only fail again: neither needs a worker.
            self.window.add_done(spill)
        else:
            run = spill.get("run_number")
            if not self.configured or run != self.configured_run:
                self.configure(run)
            while self.window.in_flight >= self.limit:
                self.collect(COLLECT_WAIT)
            self.window.add_pending(self.executor.submit(spill), spill)
            self.stats.in_flight = self.window.in_flight
        self.window.flush()

    def configure(self, run: Any) -> None:
        """Finish the old run's spills, then re-birth every worker for ``run``."""
        self.drain()
        reports = self.executor.configure(self.stages.specification, self.config, run,
                                          self.return_fields)
        self.progress.note(format_reports(reports))
        self.configured, self.configured_run = True, run
        self.limit = self.config["max_spills_in_flight"] or 2 * self.executor.concurrency()

    def collect(self, timeout: float) -> None:
        for completed in self.executor.collect(timeout):
            if self.window.complete(completed):
                self.stats.per_worker[completed.worker] += 1
        self.stats.in_flight = self.window.in_flight
        self.window.flush()
        self.progress.update()

    def drain(self) -> None:
        while self.window.in_flight:
            self.collect(COLLECT_WAIT)
        self.window.flush()


def run_multi_process(stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                      progress: ProgressDisplay, executor: Executor) -> None:
    """Run the job with transforms on ``executor``; Ctrl-C stops reading, then closes cleanly."""
    job = _MultiProcessRun(stages, config, stats, progress, executor)
    stages.inputter.birth(config)
    try:
        try:
            for spill in stages.inputter.emitter():
                stats.count_input()
                job.feed(spill)
                progress.update()
        except KeyboardInterrupt:
            stats.interrupted = True
        # Spills already submitted are still collected, so that every spill read is
        # either reduced or reported; a second Ctrl-C abandons them.
        job.drain()
        job.merge.finish()
    finally:
        stages.inputter.death()
        executor.close()
        progress.close()
