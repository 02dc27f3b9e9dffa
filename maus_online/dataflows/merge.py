"""The merge side of every dataflow: reducers and outputs, fed transformed spills in order.

:class:`MergeOutput` is the one owner of run boundaries (DESIGN §2): reducers and outputs are
born at ``start_of_run`` and die after ``end_of_run``, so no reducer looks for them itself.
When the stream changes run without markers, or ends in the middle of a run, it makes the
missing marker itself (``"synthesized": true``), so a reducer always sees a whole run and
emits its final documents.

Documents a reducer finishes off the merge path (images drawn in their own process) are
collected between spills and, before the reducers die, waited for: the end of a run always
has its images. The spill side's partials are the reducers' business; outputs never see them.

An input error (:func:`~maus_online.spill.input_failed`) goes to no reducer: what it holds
failed validation or could not be read, and would show in the plots as if it were good. Nor
does it open or close a run once one is open (its type and numbers are not to be trusted):
it is output and counted within the run it arrived in.

Each run has a :class:`~maus_online.run_record.RunRecord` that counts every spill, replayed
ones included; after the last images, each output's ``run_ended`` gets it (OutputPyImage keeps
the run in the archive there), then everything dies.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..catalogue import say
from ..checks.config import quality_checks
from ..errors import ConfigurationError, MausError
from ..modules import PARTIALS, OutputBase, ReduceBase, Spill, describe_error, record_error
from ..run_record import RunRecord
from ..spill import END_OF_RUN, START_OF_RUN, input_failed
from .statistics import RunStatistics

log = logging.getLogger(__name__)


def marker(kind: str, run_number: Any, spill_number: int) -> Spill:
    """A run marker spill made by the framework, not read from the input."""
    return {"maus_event_type": "Spill", "daq_event_type": kind, "run_number": run_number,
            "spill_number": spill_number, "errors": {}, "synthesized": True}


def check_plot_patterns(config: Mapping[str, Any], reducers: Sequence[ReduceBase]) -> None:
    """Raise MAUS-173 when a pattern of the quality-checks file matches no plot of the born
    ``reducers``: only here are every reducer's plots known together."""
    missing = quality_checks(config).unmatched(
        {reducer.module_name(): reducer.plot_tags() for reducer in reducers})
    if missing:
        where, pattern = missing[0]
        tags = sorted(tag for reducer in reducers for tag in reducer.plot_tags())
        raise ConfigurationError(say("MAUS-173", where=where, pattern=pattern,
                                     tags=", ".join(tags) or "none"))


class MergeOutput:
    """Consumes transformed spills; produces reducer documents and hands everything to outputs."""

    def __init__(self, reducers: Sequence[ReduceBase], outputters: Sequence[OutputBase],
                 config: Mapping[str, Any], stats: RunStatistics) -> None:
        self.reducers = list(reducers)
        self.outputters = list(outputters)
        self.config = config
        self.stats = stats
        self.reducer_names = frozenset(r.module_name() for r in self.reducers)
        self.in_run = False
        self.current_run: Any = None
        self.last_spill_number = 0
        #: How many runs have begun: lets a caller see that a spill opened a run.
        self.runs_begun = 0
        #: True while a restarted merge-output rebuilds its reducers from spills it had
        #: already reduced and output: reducers see them, outputs and statistics do not.
        self.replaying = False
        #: The open run's record (the last run's, between runs).
        self.record = RunRecord(None)

    def process(self, spill: Spill) -> None:
        """Reduce and output one spill, opening and closing runs around it as needed."""
        failed = input_failed(spill)
        if failed and self.in_run:
            self._dispatch(spill)
            return
        # An input error outside a run opens one (the outputs are born with it), never closes it.
        kind = None if failed else spill.get("daq_event_type")
        run = spill.get("run_number", self.current_run)
        if self.in_run and (kind == START_OF_RUN or run != self.current_run):
            self._dispatch(marker(END_OF_RUN, self.current_run, self.last_spill_number + 1))
            self._end_run()
        if not self.in_run:
            self._begin_run(run)
            if kind != START_OF_RUN:
                self._dispatch(marker(START_OF_RUN, run, 0))
        self._dispatch(spill)
        if kind == END_OF_RUN:
            self._end_run()

    def poll(self, wait: bool = False) -> None:
        """Output what the reducers finished off the merge path meanwhile (drawn images);
        ``wait``: everything they were asked for so far (a test harness, or the run's end)."""
        for reducer in self.reducers:
            self._collect(reducer, wait)

    def finish(self) -> None:
        """Close the open run, if any (the input ended or the shifter pressed Ctrl-C)."""
        if self.in_run:
            self._dispatch(marker(END_OF_RUN, self.current_run, self.last_spill_number + 1))
            self._end_run()

    def _begin_run(self, run: Any) -> None:
        self.in_run = True
        self.current_run = run
        self.last_spill_number = 0
        self.runs_begun += 1
        self.record = RunRecord(run)
        self.stats.count_run(run)
        for module in [*self.reducers, *self.outputters]:
            module.birth(self.config)
        check_plot_patterns(self.config, self.reducers)

    def _end_run(self) -> None:
        self.in_run = False
        self.poll(wait=True)  # the run's last images, before anything dies
        if not self.replaying:  # nothing of a replayed run was output: nothing to keep
            for output in self.outputters:
                self._run_ended(output)
        for module in [*self.reducers, *self.outputters]:
            module.death()

    def _dispatch(self, spill: Spill) -> None:
        documents: list[dict[str, Any]] = []
        reduced = not input_failed(spill)
        number = spill.get("spill_number")
        if reduced and isinstance(number, int):
            self.last_spill_number = max(self.last_spill_number, number)
        for reducer in self.reducers if reduced else ():
            try:
                documents.extend(reducer.process(spill))
            except Exception as exc:  # noqa: BLE001 - recorded in the spill, the run goes on
                record_error(spill, reducer.module_name(), describe_error(exc))
        spill.pop(PARTIALS, None)  # added into the reducers' histograms: nothing to output
        self.record.observe(spill)  # replayed too: the record counts the whole run
        if not self.replaying:
            self.stats.count_done(spill, self.reducer_names)
            self._output([spill, *documents])
        self.poll()

    def _collect(self, reducer: ReduceBase, wait: bool) -> None:
        try:
            collected = reducer.collect(wait)
        except Exception as exc:  # noqa: BLE001 - counted and quoted, the run goes on
            self._reducer_error(reducer, describe_error(exc).splitlines()[0])
            return
        for error in collected.errors:
            self._reducer_error(reducer, error.splitlines()[0])
        if not self.replaying:
            self._output(collected.documents)

    def _reducer_error(self, reducer: ReduceBase, message: str) -> None:
        name = reducer.module_name()
        where = f"run {self.current_run}"
        self.stats.count_error(name, f"{where}: {name}: {message}")
        log.error("%s: %s: %s", where, name, message)

    def _run_ended(self, output: OutputBase) -> None:
        try:
            output.run_ended(self.record)
        except Exception as exc:  # noqa: BLE001 - counted and quoted; the images stay
            name = output.module_name()
            # A MAUS error is a catalogued message already; anything else is a bug: its type.
            message = str(exc) if isinstance(exc, MausError) else \
                describe_error(exc).splitlines()[0]
            self.stats.count_error(name, f"run {self.current_run}: {name}: {message}")
            log.error("run %s: %s: %s", self.current_run, name, message)

    def _output(self, documents: list[dict[str, Any]]) -> None:
        for output in self.outputters:
            for document in documents:
                self._save(output, document)

    def _save(self, output: OutputBase, document: dict[str, Any]) -> None:
        try:
            output.save(document)
        except Exception as exc:  # noqa: BLE001 - logged and counted, the run goes on
            self.stats.errors_by_module[output.module_name()] += 1
            log.error("%s could not save a %s document: %s", output.module_name(),
                      document.get("maus_event_type", "?"), exc)
        else:
            self.stats.documents_out += 1
