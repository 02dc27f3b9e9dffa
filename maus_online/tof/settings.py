"""What the TOF maps take from the configuration: the detector files and per-spill seeds.

Consumes the merged configuration a map gets at birth (types already checked by
:mod:`maus_online.configuration`); produces a :class:`Detector` and random seeds.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SpillError
from ..spill import spill_label
from .detector import (
    Cabling,
    Calibration,
    Geometry,
    check_consistency,
    load_cabling,
    load_calibration,
    load_geometry,
)


@dataclass(frozen=True)
class Detector:
    """Geometry, cabling and calibration that belong together (checked for consistency)."""

    geometry: Geometry
    cabling: Cabling
    calibration: Calibration


def load_detector(config: Mapping[str, Any]) -> Detector:
    """The detector files named by ``tof_geometry_file``, ``tof_cabling_file`` and
    ``tof_calibration_file``; ConfigurationError when one is missing, bad or inconsistent."""
    detector = Detector(load_geometry(config["tof_geometry_file"]),
                        load_cabling(config["tof_cabling_file"]),
                        load_calibration(config["tof_calibration_file"]))
    check_consistency(detector.geometry, detector.cabling, detector.calibration)
    return detector


def spill_seed(seed: int, spill: Mapping[str, Any], stream: int) -> list[int]:
    """Seed of one map's random stream for one spill: [random_seed, run, spill, stream].

    Seeding per spill makes a spill's simulation independent of which process handles it
    and in which order; ``stream`` keeps the maps' streams apart.
    """
    numbers = [seed]
    for key in ("run_number", "spill_number"):
        value = spill.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SpillError(f"{spill_label(spill)}: {key} is {value!r}, expected an integer >= 0")
        numbers.append(value)
    return [*numbers, stream]
