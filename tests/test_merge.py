"""The merge side: run boundaries, synthesized markers, reducer documents, failures counted."""
from __future__ import annotations

import pytest

from maus_online.dataflows import MergeOutput, RunStatistics
from maus_online.modules import OutputBase, ReduceBase
from tests.conftest import skeleton
from tests.list_modules import OutputPyList


class ReducePyJournal(ReduceBase):
    """Writes down the life cycle it sees; emits one document at each end of run."""

    def __init__(self, journal):
        self.journal = journal

    def birth(self, config):
        self.journal.append("birth")

    def process(self, spill):
        self.journal.append((spill["daq_event_type"], spill["run_number"],
                             spill.get("synthesized", False)))
        if spill["daq_event_type"] == "end_of_run":
            return [{"maus_event_type": "Summary", "run_number": spill["run_number"]}]
        return []

    def death(self):
        self.journal.append("death")


class ReducePyFragile(ReduceBase):
    def process(self, spill):
        if spill.get("spill_number") == 2:
            raise ZeroDivisionError("empty histogram")
        return []


class OutputPyBroken(OutputBase):
    def save(self, document):
        raise OSError("disk full")


def merge_with(*reducers, outputs=()):
    stats = RunStatistics()
    return MergeOutput(list(reducers), list(outputs), {}, stats), stats


def test_a_marked_run_is_born_reduced_and_ended_once():
    journal, output = [], OutputPyList()
    merge, stats = merge_with(ReducePyJournal(journal), outputs=[output])
    for spill in [skeleton(1, 0, "start_of_run"), skeleton(1, 1), skeleton(1, 2),
                  skeleton(1, 3, "end_of_run")]:
        merge.process(spill)
    merge.finish()
    assert journal == ["birth", ("start_of_run", 1, False), ("physics_event", 1, False),
                       ("physics_event", 1, False), ("end_of_run", 1, False), "death"]
    assert [d["maus_event_type"] for d in output.saved] == ["Spill"] * 4 + ["Summary"]
    assert (stats.physics_done, stats.markers_done, stats.runs) == (2, 2, [1])


def test_a_run_change_without_markers_is_closed_and_opened_by_the_framework():
    journal, output = [], OutputPyList()
    merge, _ = merge_with(ReducePyJournal(journal), outputs=[output])
    for spill in [skeleton(1, 1), skeleton(1, 2), skeleton(2, 1)]:
        merge.process(spill)
    merge.finish()
    assert journal == [
        "birth", ("start_of_run", 1, True), ("physics_event", 1, False),
        ("physics_event", 1, False), ("end_of_run", 1, True), "death",
        "birth", ("start_of_run", 2, True), ("physics_event", 2, False),
        ("end_of_run", 2, True), "death"]
    summaries = [d for d in output.saved if d["maus_event_type"] == "Summary"]
    assert [d["run_number"] for d in summaries] == [1, 2]
    assert output.births == 2
    synthesized_end = next(d for d in output.saved if d.get("synthesized")
                           and d["daq_event_type"] == "end_of_run")
    assert synthesized_end["spill_number"] == 3


def test_a_spill_without_run_number_stays_in_the_current_run():
    journal = []
    merge, stats = merge_with(ReducePyJournal(journal))
    merge.process(skeleton(5, 1))
    merge.process({"maus_event_type": "Spill", "daq_event_type": "physics_event",
                   "run_number": 5, "errors": {"InputPyJSON": ["bad"]}})
    assert journal.count("birth") == 1
    assert stats.spills_failed == 1


def test_a_reducer_exception_lands_in_the_spill_and_the_run_goes_on():
    output = OutputPyList()
    merge, stats = merge_with(ReducePyFragile(), outputs=[output])
    for number in (1, 2, 3):
        merge.process(skeleton(1, number))
    merge.finish()
    failed = [d for d in output.saved if d.get("errors")]
    assert [d["spill_number"] for d in failed] == [2]
    (message,) = failed[0]["errors"]["ReducePyFragile"]
    assert message.splitlines()[0] == "ZeroDivisionError: empty histogram"
    assert stats.physics_done == 3 and stats.errors_by_module["ReducePyFragile"] == 1


def test_an_output_failure_is_counted_and_logged(caplog):
    good = OutputPyList()
    merge, stats = merge_with(outputs=[OutputPyBroken(), good])
    merge.process(skeleton(1, 1))
    merge.finish()
    assert len(good.saved) == 3  # synthesized start, the spill, synthesized end
    assert stats.errors_by_module["OutputPyBroken"] == 3
    assert "OutputPyBroken could not save a Spill document: disk full" in caplog.text


@pytest.mark.parametrize("spills", [[], [skeleton(1, 0, "start_of_run"),
                                         skeleton(1, 1, "end_of_run")]],
                         ids=["nothing", "closed-run"])
def test_finish_without_an_open_run_does_nothing(spills):
    journal = []
    merge, _ = merge_with(ReducePyJournal(journal))
    for spill in spills:
        merge.process(spill)
    before = list(journal)
    merge.finish()
    assert journal == before


def test_the_summary_tells_input_transform_and_reducer_failures_apart():
    from maus_online.dataflows import format_summary

    merge, stats = merge_with(ReducePyFragile())  # raises on spill 2: a reducer error
    merge.process(skeleton(1, 0, "start_of_run"))
    merge.process({**skeleton(1, 1), "errors": {"InputPyJSON": ["line 3: not valid JSON"]}})
    merge.process(skeleton(1, 2))
    merge.process({**skeleton(1, 3), "errors": {"MapPyTOFDigits": ["no cabling"]}})
    merge.process({**skeleton(1, 4), "errors": {"execute_transform": ["failed: worker lost"]}})
    merge.finish()
    assert (stats.spills_failed, stats.input_failed, stats.transform_failed) == (4, 1, 2)
    summary = format_summary(stats)
    assert ("spills failed:    4 (1 input error, 2 in the transform, 1 with reducer "
            "errors only)") in summary
    # The input error is neither a physics spill nor a marker.
    assert "spills done:      6 (3 physics, 2 run markers, 1 input error)" in summary
