"""The time-of-flight detector model shared by the TOF maps: keys, particles, detector files.

Pure helpers, no spill handling: :mod:`.keys` (MAUS key strings), :mod:`.particles`
(species, L/(beta c)), :mod:`.detector` (geometry, cabling, calibration from conf/),
:mod:`.settings` (the detector files and seeds named by the configuration).

MAUS's own formats and algorithms (``tof_reconstruction = "maus"``, docs/maus_data.md):
:mod:`.maus_formats` (its cabling and calibration text files), :mod:`.maus_calibration`
(T0, time-walk and trigger-delay corrections), :mod:`.maus_digits` (digits with trigger
times), :mod:`.maus_hits` (slab hits, trigger pixel, space points); :mod:`.daq` reads a
station trigger's raw hit lists for both algorithms.
"""
from __future__ import annotations

from .detector import (
    Cabling,
    Calibration,
    Channel,
    ChannelCalibration,
    Geometry,
    Scintillator,
    Station,
    check_consistency,
    load_cabling,
    load_calibration,
    load_geometry,
)
from .keys import (
    daq_channel_key,
    detector_name,
    parse_daq_channel_key,
    parse_pixel_key,
    parse_tof_channel_key,
    pixel_key,
    tof_channel_key,
)
from .maus_calibration import MausCalibration, load_maus_calibration
from .particles import (
    C_LIGHT,
    NAME_BY_PDG,
    SPECIES,
    Species,
    beta,
    expected_time_of_flight,
)
from .settings import Detector, load_detector

__all__ = [
    "C_LIGHT", "NAME_BY_PDG", "SPECIES", "Cabling", "Calibration", "Channel",
    "ChannelCalibration", "Detector", "Geometry", "MausCalibration", "Scintillator", "Species",
    "Station", "beta", "check_consistency", "daq_channel_key", "detector_name",
    "expected_time_of_flight", "load_cabling", "load_calibration", "load_detector",
    "load_geometry", "load_maus_calibration", "parse_daq_channel_key", "parse_pixel_key",
    "parse_tof_channel_key", "pixel_key", "tof_channel_key",
]
