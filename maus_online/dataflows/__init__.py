"""Dataflows: the ways the stages of a job can be run, chosen by ``type_of_dataflow``.

:data:`DATAFLOWS` is the registry of them by configuration name. Each runs as
``run(stages, config, stats, progress)``, plus ``executor=`` for those that put the spill
side on workers (``needs_executor``): go.py hands them the factory of its executor
(``CeleryExecutor``), so this package never imports Celery. The dataflows with a document
store open it themselves (``store=`` lets a test hand one in).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .assembly import Stages, assemble, output_names
from .executor import Completed, Executor, ExecutorFactory, InProcessExecutor, WorkerReport
from .merge import MergeOutput
from .multi_process import run_input_transform, run_merge_output, run_multi_process
from .pipeline_single_thread import run_pipeline_single_thread
from .progress import ProgressDisplay
from .spill_side import SpillSide, SpillSideSpec, spill_side_spec
from .statistics import RunStatistics, format_summary


@dataclass(frozen=True)
class Dataflow:
    """A way to run a job, and whether it needs an :class:`Executor`."""

    run: Callable[..., None]
    needs_executor: bool = False


DATAFLOWS: dict[str, Dataflow] = {
    "pipeline_single_thread": Dataflow(run_pipeline_single_thread),
    "multi_process": Dataflow(run_multi_process, needs_executor=True),
    "multi_process_input_transform": Dataflow(run_input_transform, needs_executor=True),
    "multi_process_merge_output": Dataflow(run_merge_output),
}

__all__ = ["DATAFLOWS", "Completed", "Dataflow", "Executor", "ExecutorFactory",
           "InProcessExecutor", "MergeOutput", "ProgressDisplay", "RunStatistics", "SpillSide",
           "SpillSideSpec", "Stages", "WorkerReport", "assemble", "format_summary",
           "output_names", "spill_side_spec"]
