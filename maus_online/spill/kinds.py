"""The three kinds of spill (``daq_event_type``), spelled in one place, the smallest spill,
and the one test of whether a spill is an input error.

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


#: Input modules record their errors under their own name, which starts with this.
INPUT_ERROR_PREFIX = "InputPy"


def input_failed(spill: Mapping[str, Any]) -> bool:
    """True when an input module recorded an error in ``spill``: it is unreadable, invalid,
    or refused (a NaN in a number). Such a spill is an *input error*, whatever its
    ``daq_event_type`` says: no map transforms it, no reducer sees it (its contents are not
    to be trusted, and would show in the plots as if they were), and it is still output and
    counted, so that its error reaches the shifter. The spill side and the merge side both
    ask this, and only this.

    >>> input_failed({"errors": {"InputPyJSON": ["line 3: not valid JSON"]}})
    True
    >>> input_failed({"errors": {"MapPyTOFDigits": ["no cabling"]}})
    False
    """
    errors = spill.get("errors")
    if not isinstance(errors, Mapping):
        return False
    return any(str(name).startswith(INPUT_ERROR_PREFIX) and messages
               for name, messages in errors.items())
