"""Shared helpers of the TOF tests: configuration, spill skeletons, born map chains.

Plain functions (not fixtures): the lead owns conftest.py.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from maus_online.maps import (
    MODULES,
    MapPyBeamMaker,
    MapPySimulation,
    MapPyTOFDigits,
    MapPyTOFMCDigitizer,
    MapPyTOFSlabHits,
    MapPyTOFSpacePoints,
    MapPyTOFTimeOfFlight,
)
from maus_online.modules import MapPyGroup
from tests.conftest import make_config, skeleton

SIMULATION = (MapPyBeamMaker, MapPySimulation, MapPyTOFMCDigitizer)
RECONSTRUCTION = (MapPyTOFDigits, MapPyTOFSlabHits, MapPyTOFSpacePoints, MapPyTOFTimeOfFlight)
DETECTORS = ("tof0", "tof1", "tof2")


@contextlib.contextmanager
def born(classes=MODULES, **overrides: Any) -> Iterator[MapPyGroup]:
    """A MapPyGroup of ``classes``, born with the default configuration plus ``overrides``."""
    group = MapPyGroup(*(cls() for cls in classes))
    group.birth(make_config(**overrides))
    try:
        yield group
    finally:
        group.death()


def run_chain(spill_numbers, classes=MODULES, **overrides: Any) -> list[dict]:
    """The spills ``spill_numbers`` through a freshly born chain of ``classes``."""
    with born(classes, **overrides) as group:
        return [group.process(skeleton(spill=n)) for n in spill_numbers]


def assert_plain_json(value: Any, path: str = "spill") -> None:
    """Every value is a plain dict/list/str/int/float/bool/None -- no numpy scalars."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            assert type(key) is str, f"{path}: key {key!r}"
            assert_plain_json(item, f"{path}.{key}")
    elif kind is list:
        for n, item in enumerate(value):
            assert_plain_json(item, f"{path}[{n}]")
    else:
        assert kind in (str, int, float, bool, type(None)), f"{path} is {kind.__name__}"


def truth_slabs(mc_event: dict) -> dict[tuple[int, int], int]:
    """(station, plane) -> slab of the truth hits of one mc_event."""
    return {(h["channel_id"]["station_number"], h["channel_id"]["plane"]): h["channel_id"]["slab"]
            for h in mc_event["tof_hits"]}
