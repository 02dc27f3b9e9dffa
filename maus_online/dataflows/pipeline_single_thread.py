"""``pipeline_single_thread``: input → maps → reducers → outputs, all in this process.

The embedded default (DESIGN §2): no servers, and on a small machine the fastest dataflow,
because no spill crosses a process boundary.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..inputs import input_failed
from ..modules import apply_map
from .assembly import Stages
from .merge import MergeOutput
from .progress import ProgressDisplay
from .statistics import RunStatistics


def run_pipeline_single_thread(stages: Stages, config: Mapping[str, Any],
                               stats: RunStatistics, progress: ProgressDisplay) -> None:
    """Run the whole job; Ctrl-C ends the open run cleanly (its reducers still emit)."""
    merge = MergeOutput(stages.reducers, stages.outputters, config, stats)
    stages.inputter.birth(config)
    try:
        stages.transformer.birth(config)
        try:
            try:
                for spill in stages.inputter.emitter():
                    stats.count_input()
                    # A spill the input could not read or validate would only make every
                    # map fail again; it goes straight to the merge side with its error.
                    if not input_failed(spill):
                        spill = apply_map(stages.transformer, spill)
                    merge.process(spill)
                    progress.update()
            except KeyboardInterrupt:
                stats.interrupted = True
            merge.finish()
        finally:
            stages.transformer.death()
    finally:
        stages.inputter.death()
        progress.close()
