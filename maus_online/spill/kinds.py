"""The three kinds of spill (``daq_event_type``), spelled in one place, and the smallest spill.

>>> skeleton(7, 3)
{'maus_event_type': 'Spill', 'daq_event_type': 'physics_event', 'run_number': 7, 'spill_number': 3, 'errors': {}}
>>> is_marker(skeleton(7, 0, START_OF_RUN)), is_physics(skeleton(7, 1))
(True, True)
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

START_OF_RUN, PHYSICS_EVENT, END_OF_RUN = "start_of_run", "physics_event", "end_of_run"
RUN_MARKERS = (START_OF_RUN, END_OF_RUN)


def skeleton(run: int = 1, spill: int = 1, kind: str = PHYSICS_EVENT) -> dict[str, Any]:
    """A spill with its envelope and no events: a run marker, or a physics spill before the
    maps fill it (what InputPySpillGenerator emits, without its time stamp and version)."""
    return {"maus_event_type": "Spill", "daq_event_type": kind, "run_number": run,
            "spill_number": spill, "errors": {}}


def is_marker(spill: Mapping[str, Any]) -> bool:
    """True for the ``start_of_run`` and ``end_of_run`` spills, which carry no events."""
    return spill.get("daq_event_type") in RUN_MARKERS


def is_physics(spill: Mapping[str, Any]) -> bool:
    """True for a ``physics_event`` spill: the ones that hold the beam's triggers."""
    return spill.get("daq_event_type") == PHYSICS_EVENT
