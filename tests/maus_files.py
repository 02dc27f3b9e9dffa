"""MAUS's own files in the tests: where they are, and the configuration that reads them.

The spill files are in tests/data/maus/ (README.md there says where each comes from); the
cabling and calibration files ship in conf/maus/ (README.md there).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from maus_online.inputs import InputPyJSON
from tests.conftest import make_config

DATA = Path(__file__).resolve().parent / "data" / "maus"
#: Run 2873, spill 0: recorded raw data of all detectors, 36 particle triggers.
RUN_2873 = DATA / "run02873_spill0_raw.json.gz"
#: MAUS's own test inputs: raw data, digits and slab hits of its three TOF maps.
DIGITS_TEST = DATA / "MapCppTOFDigits_processTest.json"
SLAB_HITS_TEST = DATA / "MapCppTOFSlabHits_processTest.json"
SPACE_POINTS_TEST = DATA / "MapCppTOFSpacePoints_processTest.json"
#: MAUS 0.7.3's reconstruction of simulated spills: digits, slab hits and space points.
MAUS_073 = DATA / "maus073_simulated_recon.json.gz"

CABLING = "maus/TOFChannelMap.txt"
#: The calibration of the run-2873 period (G4MICE's bare layout) and MAUS's of December 2011.
AUGUST_2010 = ["maus/august2010tofcalibT0_trTOF1.txt", "maus/august2010tofcalibTW.txt",
               "maus/august2010tofcalibTrigger_trTOF1.txt"]
DECEMBER_2011 = ["maus/tofcalibT0_trTOF1_dec2011.txt", "maus/tofcalibTW_dec2011.txt",
                 "maus/tofcalibTrigger_trTOF1_dec2011.txt"]


def maus_overrides(**overrides: Any) -> dict[str, Any]:
    """Configuration overrides for MAUS's algorithms, cabling and August 2010 calibration."""
    return {"tof_reconstruction": "maus", "tof_cabling_file": CABLING,
            "tof_calibration_files": AUGUST_2010, **overrides}


def read_spills(path: Path) -> list[dict[str, Any]]:
    """The spills of a file, read by InputPyJSON as go.py reads them."""
    reader = InputPyJSON()
    reader.birth(make_config(input_json_file_name=str(path)))
    try:
        return list(reader.emitter())
    finally:
        reader.death()
