"""``pipeline_single_thread``: input → spill side → reducers → outputs, all in this process.

The embedded default (DESIGN §2): no servers, and on a small machine the fastest dataflow,
because no spill crosses a process boundary. The spill side is the one the workers run
(:mod:`~maus_online.dataflows.spill_side`: maps, then the reducers' fill parts), so the bins
are the same as in every other dataflow.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..configuration import configuration_id
from ..farm_status import FarmStatus, RunCounts
from .assembly import Stages
from .job import Job, Stop
from .merge import MergeOutput
from .progress import ProgressDisplay
from .spill_side import SpillSide
from .statistics import RunStatistics


def run_pipeline_single_thread(stages: Stages, config: Mapping[str, Any],
                               stats: RunStatistics, progress: ProgressDisplay) -> None:
    """Run the whole job; Ctrl-C ends the open run cleanly (its reducers still emit)."""
    merge = MergeOutput(stages.reducers, stages.outputters, config, stats)
    with Job(stats, progress) as job:
        if config["farm_status"]:  # no farm: farm.json says so, with this go.py's own rate
            status = FarmStatus(config, lambda: RunCounts(
                stats.runs[-1] if stats.runs else None, stats.spills_in, 0,
                stats.spills_done, stats.spills_failed), dataflow="pipeline_single_thread",
                configuration_id=configuration_id(config), note=progress.note).start()
            job.closing(status.close, "closing the farm status")
        job.born(stages.inputter, config)
        side = SpillSide.for_stages(stages)
        job.born(side, config)

        def read(stop: Stop) -> None:
            for spill in stop.guard(stages.inputter.emitter()):
                stats.count_input()
                merge.process(side.process(spill))
                progress.update()

        job.run(read, merge.finish)
