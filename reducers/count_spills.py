"""ReducePyCountSpills: how many spills a run had, how many failed, and where.

Consumes every spill of a run, in order. Produces nothing until the run's ``end_of_run``
spill, then one document::

    {"maus_event_type": "SpillCount", "run_number": 7, "spills": 100,
     "spills_with_errors": 3, "errors_by_module": {"MapPyTOFDigits": 4}}

``spills`` counts physics spills; ``spills_with_errors`` counts every spill with a
non-empty ``errors`` object (run markers included); ``errors_by_module`` counts messages.
Input errors (spills the input could not read or validate) reach no reducer, this one
included: go.py's summary counts them.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from maus_online.modules import Config, ReduceBase, Spill
from maus_online.spill import END_OF_RUN, PHYSICS_EVENT


class ReducePyCountSpills(ReduceBase):
    """Counts a run's physics spills and their errors; reports at ``end_of_run``."""

    spill_fields = ()  # the envelope (type, numbers, errors) is all it reads

    def __init__(self) -> None:
        self._reset()

    def birth(self, config: Config) -> None:
        self._reset()

    def process(self, spill: Spill) -> list[dict[str, Any]]:
        # Born at each run's start by the merge side, which owns the run boundaries.
        kind = spill.get("daq_event_type")
        if kind == PHYSICS_EVENT:
            self.spills += 1
        errors = spill.get("errors")
        if isinstance(errors, dict) and any(errors.values()):
            self.spills_with_errors += 1
            for module, messages in errors.items():
                # MAUS writes lists of messages; count anything else as one message.
                count = len(messages) if isinstance(messages, list) else 1
                if count:
                    self.errors_by_module[str(module)] += count
        if kind != END_OF_RUN:
            return []
        return [{"maus_event_type": "SpillCount", "run_number": spill.get("run_number"),
                 "spills": self.spills, "spills_with_errors": self.spills_with_errors,
                 "errors_by_module": dict(self.errors_by_module)}]

    def _reset(self) -> None:
        self.spills = 0
        self.spills_with_errors = 0
        self.errors_by_module: Counter[str] = Counter()
