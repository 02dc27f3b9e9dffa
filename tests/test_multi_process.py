"""The multi_process dataflow's own logic, on an in-process executor that finishes out of order.

The real Celery path is tested in test_workers.py; here the executor is a plain object so
that ordering, back-pressure and re-birth at run boundaries can be checked exactly.
"""
from __future__ import annotations

import io

import pytest

from maus_online.dataflows import (Completed, ProgressDisplay, RunStatistics, WorkerReport,
                                   assemble)
from maus_online.dataflows.multi_process import run_multi_process
from maus_online.doc_store import StoredSpill
from maus_online.doc_store.memory import MemoryDocumentStore
from maus_online.errors import ExecutorError
from maus_online.modules import InputBase, OutputBase, apply_map
from maus_online.specification import build_transform
from maus_online.spill.validation import project
from tests.conftest import make_config, skeleton


class InputPyList(InputBase):
    def __init__(self, spills):
        self.spills = spills

    def emitter(self):
        yield from self.spills


class OutputPyList(OutputBase):
    def __init__(self):
        self.saved = []

    def save(self, document):
        self.saved.append(document)


class ExecutorInProcess:
    """Runs the chain here, writes into ``store`` as a worker would, and hands results back
    newest first to scramble their order."""

    def __init__(self, registry, store, fail_spill=None):
        self.registry, self.store, self.fail_spill = registry, store, fail_spill
        self.transform = None
        self.pending: dict[str, dict] = {}
        self.births: list = []
        self.most_in_flight = 0
        self.counter = 0

    def configure(self, specification, config, run_number, return_fields):
        assert not self.pending, "re-born while spills of the old run were in flight"
        self.births.append(run_number)
        self.transform = build_transform(specification, self.registry)
        self.transform.birth(config)
        self.return_fields = return_fields
        return [WorkerReport("fake@here", True, "sub-processes 1, 2", {"1": "x", "2": "x"})]

    def concurrency(self):
        return 2

    def submit(self, spill, seq):
        self.counter += 1
        ticket = f"t{self.counter}"
        self.pending[ticket] = (seq, spill)
        self.most_in_flight = max(self.most_in_flight, len(self.pending))
        return ticket

    def collect(self, timeout):
        done = []
        for ticket in reversed(list(self.pending)):
            seq, spill = self.pending.pop(ticket)
            if spill["spill_number"] == self.fail_spill:
                done.append(Completed(ticket, "failed: worker exploded", "fake@here"))
            else:
                transformed = project(apply_map(self.transform, spill), self.return_fields)
                self.store.put(StoredSpill.encode(seq, transformed))
                done.append(Completed(ticket, None, "fake@here"))
        return done

    def close(self):
        pass


def run(spills, registry, output=None, fail=None, **overrides):
    config = make_config(transformer="MapPyGroup(MapPyBeamMaker)", particles_per_spill=3,
                         reducers=["ReducePyCountSpills"], **overrides)
    stages = assemble(config, registry)
    stages.inputter = InputPyList(spills)
    output = output or OutputPyList()
    stages.outputters = [output]
    stats = RunStatistics()
    store = MemoryDocumentStore()
    executor = ExecutorInProcess(registry, store, fail_spill=fail)
    progress = ProgressDisplay(stats, io.StringIO(), enabled=False)
    run_multi_process(stages, config, stats, progress, executor, store=store)
    return output.saved, executor, stats


def spill_order(saved):
    return [(d["run_number"], d["spill_number"], d["daq_event_type"]) for d in saved
            if d.get("maus_event_type") == "Spill"]


def test_spills_are_merged_in_input_order_whatever_order_they_finish(registry):
    spills = [skeleton(1, 0, "start_of_run"), *(skeleton(1, n) for n in range(1, 9)),
              skeleton(1, 9, "end_of_run")]
    saved, executor, stats = run(spills, registry)
    assert spill_order(saved) == [(1, n, s["daq_event_type"]) for n, s in enumerate(spills)]
    assert all(len(d["mc_events"]) == 3 for d in saved if d.get("daq_event_type") ==
               "physics_event")
    assert stats.per_worker == {"fake@here": 8}
    assert stats.spills_in == len(spills)  # read once, though reduced through the store


def test_back_pressure_bounds_the_spills_in_flight(registry):
    spills = [skeleton(1, n) for n in range(1, 30)]
    _, executor, _ = run(spills, registry, max_spills_in_flight=3)
    assert executor.most_in_flight == 3
    _, executor, _ = run(spills, registry)  # 0: twice the workers' concurrency
    assert executor.most_in_flight == 4


def test_workers_are_re_born_at_each_run_after_the_old_run_is_merged(registry):
    spills = [skeleton(1, n) for n in (1, 2, 3)] + [skeleton(2, n) for n in (1, 2)]
    saved, executor, _ = run(spills, registry)
    assert executor.births == [1, 2]
    counts = [d for d in saved if d["maus_event_type"] == "SpillCount"]
    assert [(c["run_number"], c["spills"]) for c in counts] == [(1, 3), (2, 2)]


def test_a_failed_spill_is_recorded_and_the_run_goes_on(registry):
    spills = [skeleton(1, n) for n in (1, 2, 3)]
    saved, _, stats = run(spills, registry, fail=2)
    failed = [d for d in saved if d.get("errors")]
    assert [d["spill_number"] for d in failed] == [2]
    assert failed[0]["errors"] == {"execute_transform": ["failed: worker exploded"]}
    assert stats.physics_done == 3 and stats.spills_failed == 1


def test_only_the_fields_the_merge_side_reads_are_asked_back(registry):
    class OutputPyTruthOnly(OutputPyList):
        spill_fields = ("mc_events",)

    _, executor, _ = run([skeleton(1, 1)], registry, output=OutputPyTruthOnly())
    # ReducePyCountSpills reads the envelope only; the output adds mc_events.
    assert executor.return_fields == ["mc_events"]
    config = make_config(output_json_file_name="x.jsonl")
    stages = assemble(config, registry)
    from maus_online.modules import fields_read

    assert fields_read([*stages.reducers, *stages.outputters]) is None


def test_a_birth_failure_ends_the_job(registry):
    class ExecutorRefusing(ExecutorInProcess):
        def configure(self, *args):
            raise ExecutorError("1 of 1 workers could not be born: w1: RuntimeError: no")

    config = make_config(transformer="MapPyBeamMaker")
    stages = assemble(config, registry)
    stages.inputter = InputPyList([skeleton(1, 1)])
    stats = RunStatistics()
    with pytest.raises(ExecutorError, match="could not be born"):
        run_multi_process(stages, config, stats,
                          ProgressDisplay(stats, io.StringIO(), enabled=False),
                          ExecutorRefusing(registry, MemoryDocumentStore()),
                          store=MemoryDocumentStore())
