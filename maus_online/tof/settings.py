"""What the TOF maps take from the configuration: the detector files, MAUS's space-point
settings and per-spill seeds.

Consumes the merged configuration a map gets at birth (types already checked by
:mod:`maus_online.configuration`); produces a :class:`Detector`, a
:class:`~maus_online.tof.maus_hits.MausSpacePoints` and random seeds.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError, SpillError
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
from .maus_calibration import load_maus_calibration
from .maus_formats import TRIGGER
from .maus_hits import MausSpacePoints

#: The values of ``tof_reconstruction``.
SIMPLE, MAUS = "simple", "maus"


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


def uses_maus(config: Mapping[str, Any]) -> bool:
    """Whether the reconstruction maps run MAUS's algorithms (``tof_reconstruction``)."""
    return config["tof_reconstruction"] == MAUS


def maus_space_points(config: Mapping[str, Any], detector: Detector) -> MausSpacePoints:
    """MAUS's space-point maker: the calibration in ``tof_calibration_files`` with the
    ``Enable_*_correction`` switches, ``TOF_trigger_station`` and the two ``TOF_*Cut``s."""
    calibration = load_maus_calibration(
        config["tof_calibration_files"], use_t0=config["Enable_t0_correction"],
        use_time_walk=config["Enable_timeWalk_correction"],
        use_trigger_delay=config["Enable_triggerDelay_correction"])
    names = [s.detector for s in detector.geometry.stations]
    trigger = names.index(config["TOF_trigger_station"])
    if calibration.use_trigger_delay and calibration.trigger_station != trigger:
        raise ConfigurationError(
            f"TOF_trigger_station is {config['TOF_trigger_station']!r}, but the trigger delays "
            f"in {calibration.sources[TRIGGER]} are of tof{calibration.trigger_station}'s "
            "pixels; use the calibration files of the trigger station, or set "
            "TOF_trigger_station to match")
    return MausSpacePoints(calibration, trigger, config["TOF_findTriggerPixelCut"],
                           config["TOF_makeSpacePointCut"], detector.geometry.stations)


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
