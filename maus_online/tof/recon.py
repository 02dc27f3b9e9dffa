"""Walking the reconstruction of a spill: each trigger's ``tof_event`` and one stage of it.

The reconstruction maps each read one stage (digits, slab hits, space points) of every
trigger and write the next; this is the walk and the error they share.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import SpillError
from ..spill import spill_label


def tof_stages(spill: dict[str, Any], stage: str
               ) -> Iterator[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """``(i, recon_event, tof_event, tof_event[stage])`` for each trigger of a physics spill
    whose ``stage`` is present; markers and spills without reconstruction yield nothing."""
    events = spill.get("recon_events")
    if spill.get("daq_event_type") != "physics_event" or not isinstance(events, list):
        return
    for i, event in enumerate(events):
        tof_event = event.get("tof_event") if isinstance(event, dict) else None
        data = tof_event.get(stage) if isinstance(tof_event, dict) else None
        if isinstance(data, dict):
            yield i, event, tof_event, data


def malformed(spill: dict[str, Any], i: int, stage: str, exc: Exception) -> SpillError:
    """The error for a stage that does not have the documented layout."""
    return SpillError(f"{spill_label(spill)}: recon_events[{i}].tof_event.{stage} is malformed "
                      f"({type(exc).__name__}: {exc})")
