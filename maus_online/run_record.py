"""The record of one run as the merge side saw it: how many spills of each kind, and when.

:class:`RunRecord` consumes every spill of one run that reaches the merge side, in order,
*including* those a restarted merge-output reduces again to rebuild its open run (outputs and
go.py's statistics do not see those, so only this record counts a whole run after a restart).
It produces the counts and times an output keeps with the run's final documents (the run
archive, docs/histograms.md). :class:`~maus_online.dataflows.merge.MergeOutput`
keeps one per run and hands it to each output's
:meth:`~maus_online.modules.OutputBase.run_ended`.

>>> record = RunRecord(7)
>>> for spill in (skeleton(7, 0, "start_of_run"), skeleton(7, 1), skeleton(7, 2, "end_of_run")):
...     record.observe(spill)
>>> record.complete, record.spill_counts()
(True, {'physics': 1, 'run_markers': 2, 'with_errors': 0, 'input_errors': 0})

A spill's time is its ``time_stamp`` (Unix seconds, set by the DAQ or the spill generator) when
it has one, else the wall-clock time at which the merge side reduced it.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .inputs import input_failed
from .spill import END_OF_RUN, is_marker, skeleton  # noqa: F401 - skeleton: the doctest's


def spill_kinds(spill: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    """``(marker, with_errors, input_error)`` of one spill, by the rules go.py's summary counts
    with (statistics.RunStatistics): a spill is a run marker or else physics, it failed when
    its ``errors`` object is not empty, and it is unreadable when an input recorded the error."""
    errors = spill.get("errors")
    failed = bool(errors) and isinstance(errors, dict)
    return is_marker(spill), failed, failed and input_failed(spill)


@dataclass
class RunRecord:
    """Counts and times of one run's spills; ``complete`` once its own end_of_run arrived."""

    run_number: Any
    #: Spills that are neither run markers nor input errors (as go.py's summary counts them).
    physics: int = 0
    #: Run markers read from the stream; those the merge side made itself are not counted.
    run_markers: int = 0
    with_errors: int = 0
    input_errors: int = 0
    first_spill_time: float | None = None
    last_spill_time: float | None = None
    #: True when the run ended with its own end_of_run; False while it is open, and when the
    #: merge side had to make the end_of_run (input ended or Ctrl-C mid-run, run changed).
    complete: bool = False

    def observe(self, spill: Mapping[str, Any], clock: Callable[[], float] = time.time) -> None:
        """Count one spill of this run (after the reducers, so their errors count too)."""
        if spill.get("daq_event_type") == END_OF_RUN:
            self.complete = not spill.get("synthesized")
        if spill.get("synthesized"):
            return  # not a spill of the run: the merge side's stand-in for a missing marker
        marker, failed, unreadable = spill_kinds(spill)
        self.run_markers += marker and not unreadable
        self.physics += not (marker or unreadable)
        self.with_errors += failed
        self.input_errors += unreadable
        stamp = spill.get("time_stamp")
        when = float(stamp) if isinstance(stamp, (int, float)) and not isinstance(
            stamp, bool) else clock()
        if self.first_spill_time is None:
            self.first_spill_time = when
        self.last_spill_time = when

    def spill_counts(self) -> dict[str, int]:
        """The counts as the run archive's ``spills`` object holds them."""
        return {"physics": self.physics, "run_markers": self.run_markers,
                "with_errors": self.with_errors, "input_errors": self.input_errors}
