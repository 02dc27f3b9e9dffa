"""The executor interface: how a dataflow runs the spill side elsewhere, knowing nothing of how.

``maus_online`` imports neither Celery nor anything of ``workers/`` (DESIGN §8); the
``multi_process`` dataflows talk to an object of this shape, and ``workers.executor`` provides
the Celery one. :class:`InProcessExecutor` runs the same spill side in this process, writing
into the store as a worker would: the dataflow's logic can be exercised without a farm.

An executor is made from the run's configuration by an :data:`ExecutorFactory` (go.py passes
``CeleryExecutor``), after the dataflow has settled the configuration the workers get, and
with the run's :class:`~maus_online.outages.Outages`: ``factory(config, outages=outages)``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..doc_store import DocumentStore, StoredSpill, open_doc_store
from ..outages import Outages
from ..registry import Registry, build_default_registry
from .spill_side import SpillSide, SpillSideSpec


@dataclass
class WorkerReport:
    """What one worker answered to a birth request."""

    name: str
    updated: bool
    detail: str
    processes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Completed:
    """A finished spill: it is in the document store at ``seq``, or ``error`` says why not.

    ``ticket`` is what :meth:`Executor.submit` returned for the batch the spill was in;
    ``worker`` names who did the work.
    """

    ticket: str
    seq: int
    error: str | None = None
    worker: str = "?"


class Executor(Protocol):
    """Runs the spill side on spills, in parallel, somewhere other than this process."""

    def configure(self, spill_side: SpillSideSpec, run_number: Any) -> list[WorkerReport]:
        """Birth ``spill_side`` (transform chain, fill parts, fields kept) on every worker;
        raise ExecutorError unless all were updated."""

    def concurrency(self) -> int:
        """How many spills the configured workers can transform at once."""

    def submit(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> str:
        """Start transforming each ``(seq, spill)`` of ``batch`` into the document store at its
        ``seq`` (the worker writes it there itself), one task for the batch; return a ticket
        that :meth:`collect` will name."""

    def collect(self, timeout: float) -> list[Completed]:
        """The spills finished since the last call; waits up to ``timeout`` for one."""

    def close(self) -> None:
        """Release connections; spills still in flight are abandoned."""


#: ``factory(config, outages=outages)``: an executor for the run's settled configuration,
#: reporting the servers it finds down to the run's outages.
ExecutorFactory = Callable[..., Executor]


class InProcessExecutor:
    """An :class:`Executor` whose one "worker" is this process: consumes spills, produces them
    through the spill side into the store, as a Celery worker's sub-process does.

    ``completion="last_first"`` hands finished spills back newest first, as a farm finishes
    them out of order, so that a test can check that the merge side puts them back in order.
    """

    NAME = "in-process"

    def __init__(self, config: Mapping[str, Any], store: DocumentStore | None = None, *,
                 registry: Registry | None = None, concurrency: int = 2,
                 completion: Literal["in_order", "last_first"] = "in_order",
                 outages: Outages | None = None) -> None:
        self.config = config
        self.outages = outages  # no server between here and the spill side: never down
        self.store = store if store is not None else open_doc_store(config)
        self._owns_store = store is None
        self.registry = registry or build_default_registry()
        self._concurrency, self.completion = concurrency, completion
        self.side: SpillSide | None = None
        #: What the last birth asked for (kept after close, for a test to look at).
        self.configured: SpillSideSpec | None = None
        self.pending: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.births: list[Any] = []
        self.most_in_flight = 0
        self.batch_sizes: list[int] = []
        self._tickets = 0

    def configure(self, spill_side: SpillSideSpec, run_number: Any) -> list[WorkerReport]:
        if self.side is not None:
            self.side.death()
        self.side = SpillSide.from_spec(spill_side, self.registry)
        self.side.birth(self.config)
        self.configured = spill_side
        self.births.append(run_number)
        return [WorkerReport(self.NAME, True, "this process")]

    def concurrency(self) -> int:
        return self._concurrency

    def submit(self, batch: Sequence[tuple[int, dict[str, Any]]]) -> str:
        self._tickets += 1
        ticket = f"t{self._tickets}"
        self.pending[ticket] = list(batch)
        self.most_in_flight = max(self.most_in_flight, sum(map(len, self.pending.values())))
        self.batch_sizes.append(len(batch))
        return ticket

    def collect(self, timeout: float) -> list[Completed]:
        if timeout <= 0:
            # This "worker" works only while it is waited on: nothing finished meanwhile.
            return []
        tickets = list(self.pending)
        if self.completion == "last_first":
            tickets.reverse()
        done = []
        for ticket in tickets:
            done += [self.complete(ticket, seq, spill) for seq, spill in self.pending.pop(ticket)]
        return done

    def complete(self, ticket: str, seq: int, spill: dict[str, Any]) -> Completed:
        """Run the spill side on one spill into the store (a test may override this to fail)."""
        self.store.put(StoredSpill.encode(seq, self.side.process(spill)))
        return Completed(ticket, seq, None, self.NAME)

    def close(self) -> None:
        if self.side is not None:
            self.side.death()
            self.side = None
        if self._owns_store:
            self.store.close()
