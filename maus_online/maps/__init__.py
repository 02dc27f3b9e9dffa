"""The maps of the default TOF chain: simulation (beam, tracking, digitisation) and
reconstruction (digits, slab hits, space points, time of flight and PID).

``MODULES`` lists them in chain order, for the module registry.
"""
from __future__ import annotations

from .beam_maker import MapPyBeamMaker
from .simulation import MapPySimulation
from .tof_digits import MapPyTOFDigits
from .tof_mc_digitizer import MapPyTOFMCDigitizer
from .tof_slab_hits import MapPyTOFSlabHits
from .tof_space_points import MapPyTOFSpacePoints
from .tof_time_of_flight import MapPyTOFTimeOfFlight

MODULES = (MapPyBeamMaker, MapPySimulation, MapPyTOFMCDigitizer, MapPyTOFDigits,
           MapPyTOFSlabHits, MapPyTOFSpacePoints, MapPyTOFTimeOfFlight)

__all__ = [
    "MODULES", "MapPyBeamMaker", "MapPySimulation", "MapPyTOFDigits", "MapPyTOFMCDigitizer",
    "MapPyTOFSlabHits", "MapPyTOFSpacePoints", "MapPyTOFTimeOfFlight",
]
