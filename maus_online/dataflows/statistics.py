"""Counting what a run did: spills in, done, failed, errors by module, and the final summary.

A spill done is one of three kinds, counted apart: a physics spill, a run marker, or an input
error (:func:`~maus_online.spill.input_failed`, whatever its ``daq_event_type`` claims). An
input error is also a failed spill, and its own kind of failure.

:class:`RunStatistics` is plain bookkeeping shared by the input side and the merge side of a
dataflow; :func:`format_summary` turns it into the text go.py prints at the end.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ..catalogue import say
from ..spill import input_failed, is_marker, spill_label

#: How many error messages the summary quotes in full; the rest are counted.
QUOTED_ERRORS = 5


@dataclass
class RunStatistics:
    """Counters of one go.py invocation (possibly several runs)."""

    started: float = field(default_factory=time.monotonic)
    spills_in: int = 0
    physics_done: int = 0
    markers_done: int = 0
    spills_failed: int = 0
    documents_out: int = 0
    runs: list[int] = field(default_factory=list)
    errors_by_module: Counter[str] = field(default_factory=Counter)
    quoted_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    #: Spills submitted to workers and not yet collected (multi_process only).
    in_flight: int = 0
    #: Spills transformed per worker (multi_process only).
    per_worker: Counter[str] = field(default_factory=Counter)
    #: Spills written to the document store, and spills no worker could transform
    #: (the dataflows with a document store).
    spills_stored: int = 0
    transform_failures: int = 0
    #: Spills a restarted merge-output reduced again to rebuild its open run.
    spills_replayed: int = 0
    #: Spills a resumed producer skipped: an earlier go.py had stored them already.
    spills_resumed: int = 0
    #: Of the failed spills: the input errors (spills the input could not read, validate or
    #: accept; done, but neither physics nor markers), and those a map or the farm failed on.
    #: The rest of the failures are the reducers' (errors_by_module).
    input_failed: int = 0
    transform_failed: int = 0

    @property
    def spills_done(self) -> int:
        return self.physics_done + self.markers_done + self.input_failed

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        """Spills finished per second since the start."""
        elapsed = self.elapsed()
        return self.spills_done / elapsed if elapsed > 0 else 0.0

    def count_input(self) -> None:
        self.spills_in += 1

    def count_run(self, run_number: Any) -> None:
        if run_number not in self.runs:
            self.runs.append(run_number)

    def count_done(self, spill: dict[str, Any], reducers: Collection[str] = ()) -> None:
        """Count a spill that reached the end of the chain, and the errors it carries; errors
        of the modules named in ``reducers`` are the reducers', the others the input's or the
        transform's."""
        failed_in_input = input_failed(spill)
        if failed_in_input:
            self.input_failed += 1
        elif is_marker(spill):
            self.markers_done += 1
        else:
            self.physics_done += 1
        errors = spill.get("errors")
        if not errors or not isinstance(errors, dict):
            return
        self.spills_failed += 1
        # An input error was counted above, as its own kind of spill and of failure.
        if not failed_in_input and any(str(module) not in reducers
                                       for module, messages in errors.items() if messages):
            self.transform_failed += 1
        label = spill_label(spill)
        for module, messages in errors.items():
            count = len(messages) if isinstance(messages, list) else 1
            first = messages[0] if isinstance(messages, list) and messages else messages
            # Only the first line: a map's traceback stays in the spill, not the summary.
            headline = str(first).splitlines()[0] if str(first) else ""
            self.count_error(module, f"{label}: {module}: {headline}", count)

    def count_error(self, module: str, quote: str, count: int = 1) -> None:
        """Count ``count`` errors of ``module``; quote the first few in the summary."""
        self.errors_by_module[module] += count
        if len(self.quoted_errors) < QUOTED_ERRORS:
            self.quoted_errors.append(quote)


def format_progress(stats: RunStatistics) -> str:
    """The one-line live progress display."""
    run = stats.runs[-1] if stats.runs else "-"
    line = (f"run {run} | spills in {stats.spills_in}, done {stats.spills_done}, "
            f"failed {stats.spills_failed} | {stats.rate():.1f} spills/s")
    if stats.spills_stored:
        line += f" | stored {stats.spills_stored}"
    if stats.per_worker or stats.in_flight:
        line += f" | in flight {stats.in_flight} | " + _worker_counts(stats)
    return line


def _failure_kinds(stats: RunStatistics) -> str:
    """Where the failed spills failed: the input, the transform, or only in the reducers."""
    if not stats.spills_failed:
        return ""
    in_reducers = stats.spills_failed - stats.input_failed - stats.transform_failed
    return (f" ({_input_errors(stats)}, {stats.transform_failed} in the "
            f"transform, {in_reducers} with reducer errors only)")


def _input_errors(stats: RunStatistics) -> str:
    count = stats.input_failed
    return f"{count} input error{'' if count == 1 else 's'}"


def _done_kinds(stats: RunStatistics) -> str:
    """The spills done by kind; input errors only when there were some (most runs have none)."""
    kinds = f"{stats.physics_done} physics, {stats.markers_done} run markers"
    return kinds + (f", {_input_errors(stats)}" if stats.input_failed else "")


def _worker_counts(stats: RunStatistics) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(stats.per_worker.items()))


def format_summary(stats: RunStatistics) -> str:
    """The end-of-job summary: what was read, reconstructed, failed and written."""
    elapsed = stats.elapsed()
    runs = ", ".join(str(r) for r in stats.runs) or "none"
    lines = [
        "MAUS Online summary" + (" (interrupted by Ctrl-C)" if stats.interrupted else ""),
        f"  runs:             {runs}",
        f"  spills read:      {stats.spills_in}",
        f"  spills done:      {stats.spills_done} ({_done_kinds(stats)})",
        f"  spills failed:    {stats.spills_failed}" + _failure_kinds(stats),
        f"  documents output: {stats.documents_out} (spills and reducer documents, to each output)",
        f"  time:             {elapsed:.2f} s, {stats.rate():.1f} spills/s",
    ]
    if stats.spills_stored:
        lines.append(f"  spills stored:    {stats.spills_stored} in the document store "
                     f"({stats.transform_failures} with no worker's result)")
    if stats.spills_resumed:
        lines.append(f"  spills skipped:   {stats.spills_resumed} (stored already by the "
                     f"earlier go.py whose stream this one resumed)")
    if stats.spills_replayed:
        lines.append(f"  spills replayed:  {stats.spills_replayed} (reduced again to rebuild "
                     f"the run open when merge-output stopped)")
    if stats.per_worker:
        lines.append(f"  spills by worker: {_worker_counts(stats)}")
    if stats.errors_by_module:
        lines.append("  " + say("MAUS-130", counts=", ".join(
            f"{module} {count}" for module, count in stats.errors_by_module.most_common())))
        lines.extend(f"    {message}" for message in stats.quoted_errors)
        hidden = sum(stats.errors_by_module.values()) - len(stats.quoted_errors)
        if hidden > 0:
            lines.append(f"    ... and {hidden} more (the spills' errors fields hold them all)")
    return "\n".join(lines)
