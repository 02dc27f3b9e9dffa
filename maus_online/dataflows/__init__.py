"""Dataflows: the ways the stages of a job can be run, chosen by ``type_of_dataflow``.

Each dataflow is a function ``run(stages, config, stats, progress)``; :data:`DATAFLOWS` is the
registry of them by configuration name.
"""
from __future__ import annotations

from collections.abc import Callable

from .assembly import Stages, assemble, output_names
from .merge import MergeOutput
from .pipeline_single_thread import run_pipeline_single_thread
from .progress import ProgressDisplay
from .statistics import RunStatistics, format_summary

DataflowRunner = Callable[..., None]

DATAFLOWS: dict[str, DataflowRunner] = {
    "pipeline_single_thread": run_pipeline_single_thread,
}

__all__ = ["DATAFLOWS", "MergeOutput", "ProgressDisplay", "RunStatistics", "Stages",
           "assemble", "format_summary", "output_names"]
