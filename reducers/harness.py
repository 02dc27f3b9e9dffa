"""A reducer driven exactly as a dataflow drives it, for tests: the project's and a plug-in's.

:class:`ReducerHarness` feeds spills through the spill side (the reducer's fill part, when it
splits) and the merge side (:class:`~maus_online.dataflows.MergeOutput`: births at each run,
markers, late images), and returns the documents an output would get. After each spill it
waits for the images that spill asked for, so a test sees every refresh, in either drawing
mode, at the spill that made it::

    harness = ReducerHarness(ReducePyTOFPlot(), default_configuration())
    documents = harness.run(reconstructed_spills(3))   # start_of_run ... end_of_run
    harness.close()

:func:`reconstructed_spills` gives spills of the default simulation-and-reconstruction chain.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from maus_online.configuration import default_configuration
from maus_online.dataflows import MergeOutput, RunStatistics, SpillSide
from maus_online.modules import MapPyGroup, OutputBase, ReduceBase, Spill, apply_map
from maus_online.registry import build_default_registry
from maus_online.specification import (build_transform, parse_specification,
                                       resolve_import_paths)
from maus_online.spill import END_OF_RUN, START_OF_RUN, skeleton

__all__ = ["ReducerHarness", "reconstructed_spills", "skeleton"]


class _DocumentsOutput(OutputBase):
    """Keeps what the reducers emit (not the spills), in order."""

    spill_fields = ()

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    def save(self, document: dict[str, Any]) -> None:
        if document.get("maus_event_type") != "Spill":
            self.documents.append(document)

    def take(self) -> list[dict[str, Any]]:
        taken, self.documents = self.documents, []
        return taken


class ReducerHarness:
    """Consumes spills for one reducer; produces the documents it emits for each (see the
    module docstring). ``stats`` counts them as go.py would. ``fill=False``: the spills carry
    their partials already (a spill side elsewhere made them)."""

    def __init__(self, reducer: ReduceBase, config: Mapping[str, Any], *,
                 fill: bool = True) -> None:
        self.reducer = reducer
        fillers = [type(reducer)()] if fill and reducer.splits() else []
        self.side = SpillSide(MapPyGroup(), fillers)
        self.side.birth(config)
        self.output = _DocumentsOutput()
        self.stats = RunStatistics()
        self.merge = MergeOutput([reducer], [self.output], config, self.stats)

    def feed(self, spill: Spill) -> list[dict[str, Any]]:
        """The documents the reducer emits for ``spill`` (its images drawn and waited for)."""
        self.merge.process(self.side.process(spill))
        self.merge.poll(wait=True)
        return self.output.take()

    def run(self, physics: Iterable[Spill], run: int = 1) -> list[dict[str, Any]]:
        """A whole run: its start_of_run, ``physics``, its end_of_run; every document."""
        documents = self.feed(skeleton(run, 0, START_OF_RUN))
        last = 0
        for last, spill in enumerate(physics, start=1):
            documents += self.feed(spill)
        return documents + self.feed(skeleton(run, last + 1, END_OF_RUN))

    def finish(self) -> list[dict[str, Any]]:
        """End the open run as the dataflow does at the end of its input."""
        self.merge.finish()
        return self.output.take()

    def close(self) -> None:
        self.merge.finish()
        self.side.death()


@lru_cache(maxsize=None)
def _reconstructed(count: int, particles: int, transformer: str | None) -> tuple[Spill, ...]:
    config = default_configuration({"particles_per_spill": particles})
    registry = build_default_registry()
    chain = build_transform(resolve_import_paths(parse_specification(
        transformer or config["transformer"]), registry), registry)
    chain.birth(config)
    try:
        return tuple(apply_map(chain, skeleton(1, n)) for n in range(1, count + 1))
    finally:
        chain.death()


def reconstructed_spills(count: int = 3, particles: int = 40, run: int = 1,
                         transformer: str | None = None) -> list[Spill]:
    """Physics spills of ``run`` through the default chain (simulated beam, digitisation, TOF
    reconstruction) or ``transformer``, fresh copies each call."""
    result = copy.deepcopy(list(_reconstructed(count, particles, transformer)))
    for spill in result:
        spill["run_number"] = run
    return result
