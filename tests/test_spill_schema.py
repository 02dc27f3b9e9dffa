"""The spill JSON Schema and validate_spill: good spills pass, bad fields are named."""
from __future__ import annotations

import copy
import json
import random
from typing import Any

import jsonschema
import pytest

from maus_online.errors import SpillError
from maus_online.resources import spill_schema_path
from maus_online.spill import MODES, is_marker, spill_label, validate_spill
from tests.conftest import skeleton

STATIONS = (0, 1, 2)


def _vector(rng: random.Random) -> dict[str, float]:
    return {"x": rng.gauss(0, 30), "y": rng.gauss(0, 30), "z": rng.uniform(0, 8000)}


def _daq_hits(rng: random.Random, station: int, trigger: int) -> dict[str, list]:
    """Two slabs (one per plane) read at both ends: four TDC and four ADC hits."""
    v1290, v1724 = [], []
    for channel in range(4):
        key = f"DAQChannelKey 0 {station + 1} {channel} 102 tof{station}"
        common = {"channel": channel, "geo": station + 1, "ldc_id": 0, "detector": f"tof{station}",
                  "part_event_number": trigger, "phys_event_number": 0,
                  "trigger_time_tag": rng.randrange(10**6), "time_stamp": 1_700_000_000}
        leading = rng.randrange(40_000, 60_000)
        v1290.append({**common, "equip_type": 102, "channel_key": key, "bunch_id": 1,
                      "leading_time": leading, "trailing_time": leading + 800})
        v1724.append({**common, "equip_type": 120, "channel_key": key.replace(" 102 ", " 120 "),
                      "charge_mm": rng.randrange(2000), "charge_pm": rng.randrange(2000),
                      "pedestal": 30, "position_max": 20})
    return {"V1290": v1290, "V1724": v1724}


def _recon(rng: random.Random, trigger: int) -> dict[str, Any]:
    digits, slab_hits, points = {}, {}, {}
    for station in STATIONS:
        det = f"tof{station}"
        digits[det] = [{"station": station, "plane": plane, "slab": 3, "pmt": pmt,
                        "tof_key": f"TOFChannelKey {station} {plane} 3 {pmt} {det}",
                        "leading_time": 50_000, "trailing_time": 50_800, "charge_mm": 900,
                        "charge_pm": 950, "trigger_time_tag": 1, "time_stamp": 1_700_000_000,
                        "part_event_number": trigger, "phys_event_number": 0, "detector": det}
                       for plane in (0, 1) for pmt in (0, 1)]
        pmt = {"tof_key": f"TOFChannelKey {station} 0 3 0 {det}", "raw_time": rng.random() * 40,
               "charge": 900}
        slab_hits[det] = [{"station": station, "plane": plane, "slab": 3,
                           "part_event_number": trigger, "phys_event_number": 0,
                           "pmt0": dict(pmt), "pmt1": dict(pmt), "raw_time": rng.random() * 40,
                           "charge": 1800, "charge_product": 855_000, "position": rng.gauss(0, 20)}
                          for plane in (0, 1)]
        points[det] = [{"station": station, "slabX": 3, "slabY": 4,
                        "pixel_key": f"TOFPixelKey {station} 3 4 {det}",
                        "time": rng.random() * 40, "dt": rng.gauss(0, 0.1), "charge": 1800,
                        "charge_product": 855_000, "x": -20.0, "y": 20.0,
                        "part_event_number": trigger, "phys_event_number": 0}]
    tof01 = rng.gauss(28.3, 0.1)
    return {"part_event_number": trigger,
            "tof_event": {"tof_digits": digits, "tof_slab_hits": slab_hits,
                          "tof_space_points": points,
                          "time_of_flight": {"tof01": tof01, "tof12": 30.0, "tof02": tof01 + 30}},
            "tof_pid": {"hypothesis": "mu+", "particle_id": -13, "tof01": tof01,
                        "reference_momentum": 220.0,
                        "expected": {"e+": 25.5, "mu+": 28.3, "pi+": 30.2}}}


def full_spill(triggers: int = 200, run: int = 1, number: int = 7, seed: int = 1) -> dict:
    """A fully simulated and reconstructed physics spill, shaped as docs/spill_format.md says."""
    rng = random.Random(seed)
    spill = skeleton(run, number)
    spill.update(time_stamp=1_700_000_000.5, maus_online_version="0.1.0", mc_events=[],
                 daq_data={f"tof{s}": [] for s in STATIONS}, recon_events=[])
    for trigger in range(triggers):
        spill["mc_events"].append({
            "part_event_number": trigger,
            "primary": {"particle_id": -13, "mass": 105.66, "charge": 1.0, "energy": 244.0,
                        "momentum": _vector(rng), "position": _vector(rng), "time": 0.0},
            "tof_hits": [{"channel_id": {"type": "TOF", "station_number": s, "plane": p, "slab": 3},
                          "time": rng.random() * 60, "position": _vector(rng),
                          "momentum": _vector(rng), "energy": 244.0, "energy_deposited": 5.1,
                          "particle_id": -13, "track_id": 1, "mass": 105.66, "charge": 1.0,
                          "path_length": 7600.0} for s in STATIONS for p in (0, 1)]})
        for station in STATIONS:
            spill["daq_data"][f"tof{station}"].append(_daq_hits(rng, station, trigger))
        spill["recon_events"].append(_recon(rng, trigger))
    return spill


def real_maus_spill() -> dict:
    """A spill as the real MAUS writes it: more detectors and fields, none of our extras."""
    tdc = {"bunch_id": 2, "channel": 5, "channel_key": "DAQChannelKey 0 6 5 102 tof1",
           "detector": "tof1", "equip_type": 102, "geo": 6, "ldc_id": 0, "leading_time": 61234,
           "part_event_number": 0, "phys_event_number": 12, "time_stamp": 1313422354,
           "trailing_time": 62100, "trigger_time_tag": 133458}
    adc = {"channel": 5, "channel_key": "DAQChannelKey 0 6 5 120 tof1", "charge_mm": 1021,
           "charge_pm": 1100, "data": [200, 201, 180, 120], "detector": "tof1",
           "equip_type": 120, "geo": 6, "ldc_id": 0, "part_event_number": 0, "pedestal": 201,
           "phys_event_number": 12, "position_max": 33, "time_stamp": 1313422354,
           "trigger_time_tag": 133458}
    return {
        "maus_event_type": "Spill", "daq_event_type": "physics_event", "run_number": 2873,
        "spill_number": 44, "errors": {"MapCppTOFSpacePoints": ["<type 'exceptions.X'>: no"]},
        "daq_data": {"tof1": [None, {"V1290": [tdc], "V1724": [adc]}], "tof0": [{}],
                     "ckov": [{"V1731": [{"charge": 3}]}], "trigger": [{"V1495": {}}],
                     "trigger_request": [{}], "unknown": [], "kl": [{"V1724": []}]},
        "recon_events": [{
            "part_event_number": 0, "emr_event": {}, "sci_fi_event": {"digits": []},
            "tof_event": {
                "tof_digits": {"tof1": [{"charge_mm": 1021, "charge_pm": 1100, "detector": "tof1",
                                         "leading_time": 61234, "part_event_number": 0,
                                         "phys_event_number": 12, "plane": 0, "pmt": 1,
                                         "slab": 4, "station": 1, "time_stamp": 1313422354,
                                         "tof_key": "TOFChannelKey 1 0 4 1 tof1",
                                         "trailing_time": 62100, "trigger_time_tag": 133458,
                                         "trigger_request_leading_time": 0}],
                               "tof0": [], "tof2": []},
                "tof_slab_hits": {"tof1": [{"charge": 2121, "charge_product": 1123100,
                                            "detector": "tof1", "part_event_number": 0,
                                            "phys_event_number": 12, "plane": 0, "slab": 4,
                                            "station": 1, "raw_time": 12.5,
                                            "pmt0": {"charge": 1021, "leading_time": 61234,
                                                     "raw_time": 12.4,
                                                     "tof_key": "TOFChannelKey 1 0 4 0 tof1",
                                                     "trigger_request_leading_time": 0},
                                            "pmt1": {"charge": 1100, "leading_time": 61299,
                                                     "raw_time": 12.6,
                                                     "tof_key": "TOFChannelKey 1 0 4 1 tof1",
                                                     "trigger_request_leading_time": 0}}]},
                "tof_space_points": {"tof1": [{"charge": 4000, "charge_product": 2000000,
                                               "detector": "tof1", "dt": 0.2,
                                               "part_event_number": 0,
                                               "phys_event_number": 12,
                                               "pixel_key": "TOFPixelKey 1 4 3 tof1",
                                               "slabX": 4, "slabY": 3, "station": 1,
                                               "time": 12.45}]}}}],
        "mc_events": [{"primary": {"particle_id": -13, "energy": 240.0, "time": 0.0,
                                   "random_seed": 10, "spin": {"x": 0, "y": 0, "z": 1},
                                   "position": {"x": 0, "y": 0, "z": -5000},
                                   "momentum": {"x": 0, "y": 0, "z": 220}},
                       "virtual_hits": [], "tracks": [], "sci_fi_hits": []}],
    }


@pytest.fixture(scope="module")
def good_spill() -> dict:
    return full_spill(triggers=20)


def _error(spill: Any) -> str:
    with pytest.raises(SpillError) as info:
        validate_spill(spill)
    return str(info.value)


def test_schema_is_valid_draft07() -> None:
    schema = json.loads(spill_schema_path().read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-07/")
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("mode", MODES)
def test_generated_spills_pass(good_spill: dict, mode: str) -> None:
    validate_spill(good_spill, mode)
    for kind, number in (("start_of_run", 0), ("physics_event", 1), ("end_of_run", 2)):
        validate_spill(skeleton(3, number, kind), mode)


def test_real_maus_spill_with_extra_fields_passes() -> None:
    validate_spill(real_maus_spill())
    # The reference implementation of draft-07 agrees with the compiled validator.
    schema = json.loads(spill_schema_path().read_text())
    jsonschema.Draft7Validator(schema).validate(real_maus_spill())


def test_bad_tdc_value_names_run_spill_and_path(good_spill: dict) -> None:
    spill = copy.deepcopy(good_spill)
    spill["daq_data"]["tof1"][0]["V1290"][2]["leading_time"] = "abc"
    assert _error(spill) == ("run 1 spill 7: daq_data.tof1[0].V1290[2].leading_time "
                             "must be integer (got 'abc')")


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("daq_data", "tof2", 3, "V1724", 1, "charge_mm"), 12.5,
     "daq_data.tof2[3].V1724[1].charge_mm must be integer (got 12.5)"),
    (("mc_events", 4, "tof_hits", 0, "time"), "late",
     "mc_events[4].tof_hits[0].time must be number (got 'late')"),
    (("mc_events", 1, "primary", "momentum", "z"), None,
     "mc_events[1].primary.momentum.z must be number (got None)"),
    (("recon_events", 2, "tof_event", "tof_space_points", "tof1", 0, "time"), True,
     "recon_events[2].tof_event.tof_space_points.tof1[0].time must be number (got True)"),
    (("recon_events", 0, "tof_event", "time_of_flight", "tof01"), "28",
     "recon_events[0].tof_event.time_of_flight.tof01 must be number (got '28')"),
    (("recon_events", 0, "tof_pid", "hypothesis"), "kaon",
     "recon_events[0].tof_pid.hypothesis must be one of ['e+', 'mu+', 'pi+'] (got 'kaon')"),
    (("recon_events", 5, "tof_event", "tof_slab_hits", "tof0", 1, "pmt1", "raw_time"), "x",
     "recon_events[5].tof_event.tof_slab_hits.tof0[1].pmt1.raw_time must be number (got 'x')"),
    (("daq_data", "tof0"), {"V1290": []},
     "daq_data.tof0 must be array or null (got {'V1290': []})"),
    (("errors",), {"MapPyX": "one message"},
     "errors.MapPyX must be array (got 'one message')"),
    (("maus_event_type",), "Spil", "maus_event_type must be 'Spill' (got 'Spil')"),
])
def test_each_kind_of_bad_field_is_named(good_spill: dict, path: tuple, value: Any,
                                         expected: str) -> None:
    spill = copy.deepcopy(good_spill)
    target = spill
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _error(spill) == f"run 1 spill 7: {expected}"


def test_missing_and_bad_envelope_fields() -> None:
    spill = skeleton(1, 7)
    del spill["run_number"]
    assert _error(spill) == "run ? spill 7: run_number is missing"
    assert _error({**skeleton(1, 7), "run_number": -1}) == (
        "run ? spill 7: run_number must be bigger than or equal to 0 (got -1)")
    assert _error({**skeleton(1, 7), "spill_number": "7"}) == (
        "run 1 spill ?: spill_number must be integer (got '7')")
    assert _error({**skeleton(1, 7), "daq_event_type": "calibration"}) == (
        "run 1 spill 7: daq_event_type must be one of ['start_of_run', 'physics_event', "
        "'end_of_run'] (got 'calibration')")
    assert _error({"maus_event_type": "Spill"}) == (
        "run ? spill ?: daq_event_type, run_number, spill_number are missing")
    assert _error([1, 2]) == "run ? spill ?: spill must be object (got [1, 2])"


def test_missing_required_hit_field_names_its_path(good_spill: dict) -> None:
    spill = copy.deepcopy(good_spill)
    del spill["daq_data"]["tof0"][1]["V1290"][0]["leading_time"]
    assert _error(spill) == "run 1 spill 7: daq_data.tof0[1].V1290[0].leading_time is missing"


def test_quicker_modes_check_less(good_spill: dict) -> None:
    spill = copy.deepcopy(good_spill)
    spill["recon_events"][0]["tof_pid"]["hypothesis"] = "kaon"
    validate_spill(spill, "daq")
    spill["daq_data"]["tof0"][0]["V1290"][0]["leading_time"] = 1.5
    with pytest.raises(SpillError, match=r"daq_data\.tof0\[0\]\.V1290\[0\]\.leading_time"):
        validate_spill(spill, "daq")
    validate_spill(spill, "envelope")
    for mode in ("daq", "envelope"):
        with pytest.raises(SpillError, match="recon_events must be array"):
            validate_spill({**skeleton(), "recon_events": {}}, mode)
        with pytest.raises(SpillError, match="run_number is missing"):
            validate_spill({k: v for k, v in good_spill.items() if k != "run_number"}, mode)
    with pytest.raises(ValueError, match="unknown validation mode"):
        validate_spill(skeleton(), "quick")  # type: ignore[arg-type]


def test_long_values_are_shortened() -> None:
    message = _error({**skeleton(), "mc_events": "x" * 500})
    assert message.endswith("...)") and len(message) < 150


def test_labels_and_markers() -> None:
    assert spill_label(skeleton(4, 9)) == "run 4 spill 9"
    assert spill_label({"run_number": True, "spill_number": 2}) == "run ? spill 2"
    assert spill_label("junk") == "run ? spill ?"
    assert is_marker(skeleton(1, 0, "start_of_run")) and is_marker(skeleton(1, 5, "end_of_run"))
    assert not is_marker(skeleton(1, 3))
