"""The executor interface: how a dataflow runs transforms somewhere else, knowing nothing of how.

``maus_online`` imports neither Celery nor anything of ``workers/`` (DESIGN §8); the
``multi_process`` dataflow talks to an object of this shape, and ``workers.executor``
provides the Celery one. A fake in-process executor is enough to test the dataflow's logic.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..specification import Specification


@dataclass
class WorkerReport:
    """What one worker answered to a birth request."""

    name: str
    updated: bool
    detail: str
    processes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Completed:
    """A finished transform: the spill is in the document store, or ``error`` says why not.

    ``ticket`` is what :meth:`Executor.submit` returned; ``worker`` names who did the work.
    """

    ticket: str
    error: str | None = None
    worker: str = "?"


class Executor(Protocol):
    """Runs the transform chain on spills, in parallel, somewhere other than this process."""

    def configure(self, specification: Specification, config: Mapping[str, Any],
                  run_number: Any, return_fields: list[str] | None) -> list[WorkerReport]:
        """Birth the chain on every worker; raise ExecutorError unless all were updated.

        ``config`` names the document store the workers write into. ``return_fields``: the
        top-level spill fields the merge side reads (``None``: all); a transformed spill is
        stored with only those and its envelope.
        """

    def concurrency(self) -> int:
        """How many spills the configured workers can transform at once."""

    def submit(self, spill: dict[str, Any], seq: int) -> str:
        """Start transforming ``spill`` into the document store at ``seq`` (the worker writes
        it there itself); return a ticket that :meth:`collect` will name."""

    def collect(self, timeout: float) -> list[Completed]:
        """The transforms finished since the last call; waits up to ``timeout`` for one."""

    def close(self) -> None:
        """Release connections; spills still in flight are abandoned."""
