"""The multi_process dataflow's own logic, on the in-process executor, finishing out of order.

The real Celery path is tested in test_workers.py; here the executor is maus_online's
InProcessExecutor (the spill side the workers run, in this process), handing spills back
newest first, so that ordering, back-pressure and re-birth at run boundaries can be checked
exactly.
"""
from __future__ import annotations

import io

import pytest

from maus_online.dataflows import (Completed, InProcessExecutor, ProgressDisplay,
                                   RunStatistics, assemble)
from maus_online.dataflows.multi_process import run_multi_process
from maus_online.doc_store.memory import MemoryDocumentStore
from maus_online.errors import ExecutorError
from tests.conftest import make_config, skeleton
from tests.list_modules import InputPyList, OutputPyList


class InProcessExecutorFailing(InProcessExecutor):
    """The product's in-process executor, failing one spill as a worker that raised would."""

    fail_spill: int | None = None

    def complete(self, ticket, seq, spill):
        if spill["spill_number"] == self.fail_spill:
            return Completed(ticket, seq, "failed: worker exploded", self.NAME)
        return super().complete(ticket, seq, spill)


def run(spills, registry, output=None, fail=None, **overrides):
    config = make_config(transformer="MapPyGroup(MapPyBeamMaker)", particles_per_spill=3,
                         reducers=["ReducePyCountSpills"], **overrides)
    stages = assemble(config, registry)
    stages.inputter = InputPyList(spills)
    output = output or OutputPyList()
    stages.outputters = [output]
    stats = RunStatistics()
    store = MemoryDocumentStore()
    executors = []

    def executor(settled, outages):  # the factory go.py passes: made with the run's config
        made = InProcessExecutorFailing(settled, store, registry=registry,
                                        completion="last_first", outages=outages)
        made.fail_spill = fail
        executors.append(made)
        return made

    progress = ProgressDisplay(stats, io.StringIO(), enabled=False)
    run_multi_process(stages, config, stats, progress, executor, store=store)
    (made,) = executors
    return output.saved, made, stats


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
    assert stats.per_worker == {"in-process": 8}
    assert stats.spills_in == len(spills)  # read once, though reduced through the store


def test_back_pressure_bounds_the_spills_in_flight(registry):
    spills = [skeleton(1, n) for n in range(1, 30)]
    _, executor, _ = run(spills, registry, max_spills_in_flight=3)
    assert executor.most_in_flight == 3
    _, executor, _ = run(spills, registry, spills_per_task=1)  # 0: twice the concurrency
    assert executor.most_in_flight == 4
    _, executor, _ = run(spills, registry)  # ... times spills_per_task (4)
    assert executor.most_in_flight == 16


def test_a_backlog_travels_in_batches_and_a_free_worker_gets_a_spill_at_once(registry):
    spills = [skeleton(1, n) for n in range(1, 30)]
    saved, executor, _ = run(spills, registry)
    assert executor.batch_sizes[:2] == [1, 1]  # the first spills find both workers free
    assert max(executor.batch_sizes) == 4 and sum(executor.batch_sizes) == 29
    assert spill_order(saved)[1:-1] == [(1, n, "physics_event") for n in range(1, 30)]
    _, executor, _ = run(spills, registry, spills_per_task=1)
    assert set(executor.batch_sizes) == {1}


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
    assert executor.configured.fields == ("mc_events",)
    config = make_config(output_json_file_name="x.jsonl")
    stages = assemble(config, registry)
    from maus_online.modules import fields_read

    assert fields_read([*stages.reducers, *stages.outputters]) is None


def test_a_birth_failure_ends_the_job(registry):
    class ExecutorRefusing(InProcessExecutor):
        def configure(self, *args):
            raise ExecutorError("1 of 1 workers could not be born: w1: RuntimeError: no")

    config = make_config(transformer="MapPyBeamMaker")
    stages = assemble(config, registry)
    stages.inputter = InputPyList([skeleton(1, 1)])
    stats = RunStatistics()
    store = MemoryDocumentStore()
    with pytest.raises(ExecutorError, match="could not be born"):
        run_multi_process(stages, config, stats,
                          ProgressDisplay(stats, io.StringIO(), enabled=False),
                          lambda settled, outages: ExecutorRefusing(settled, store), store=store)
