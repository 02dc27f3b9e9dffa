"""The simulation maps: beam maker, tracking through the TOF planes, digitisation."""
from __future__ import annotations

import copy
import math

import numpy as np
import orjson
import pytest

from maus_online.errors import ConfigurationError, SpillError
from maus_online.maps import (
    MODULES,
    MapPyBeamMaker,
    MapPySimulation,
    MapPyTOFDigits,
    MapPyTOFMCDigitizer,
)
from maus_online.spill.validation import validate_spill
from maus_online.tof import (
    SPECIES,
    load_cabling,
    load_calibration,
    load_geometry,
    parse_tof_channel_key,
)
from tests.tof_helpers import (
    DETECTORS,
    SIMULATION,
    assert_plain_json,
    born,
    make_config,
    run_chain,
    skeleton,
)

V1290_FIELDS = {"channel", "geo", "ldc_id", "equip_type", "channel_key", "leading_time",
                "trailing_time", "trigger_time_tag", "time_stamp", "bunch_id", "detector",
                "part_event_number", "phys_event_number"}
V1724_FIELDS = {"channel", "geo", "ldc_id", "equip_type", "channel_key", "charge_mm", "charge_pm",
                "pedestal", "position_max", "trigger_time_tag", "time_stamp", "detector",
                "part_event_number", "phys_event_number"}


@pytest.fixture(scope="module")
def simulated():
    """Two spills of the full chain at the default beam."""
    return run_chain([1, 2])


def test_full_chain_output_is_plain_json_and_matches_the_schema(simulated):
    for spill in simulated:
        assert spill["errors"] == {}
        assert_plain_json(spill)
        validate_spill(spill, "full")
        assert orjson.loads(orjson.dumps(spill)) == spill


def test_beam_maker_draws_the_configured_beam():
    with born((MapPyBeamMaker,), particles_per_spill=2000) as group:
        events = group.process(skeleton(spill=1))["mc_events"]
    assert [e["part_event_number"] for e in events] == list(range(2000))
    pid = np.array([e["primary"]["particle_id"] for e in events])
    fractions = {name: np.mean(pid == s.pdg) for name, s in SPECIES.items()}
    assert fractions == pytest.approx({"e+": 0.2, "mu+": 0.5, "pi+": 0.3}, abs=0.04)
    mom = np.array([[e["primary"]["momentum"][k] for k in "xyz"] for e in events])
    p = np.linalg.norm(mom, axis=1)
    assert p.mean() == pytest.approx(220.0, abs=0.5) and p.std() == pytest.approx(6.6, rel=0.1)
    assert (mom[:, 0] / mom[:, 2]).std() == pytest.approx(0.005, rel=0.1)
    for e in events[:50]:
        primary = e["primary"]
        species = next(s for s in SPECIES.values() if s.pdg == primary["particle_id"])
        assert primary["mass"] == species.mass and primary["charge"] == 1
        assert primary["energy"] == pytest.approx(math.hypot(
            math.dist((0, 0, 0), tuple(primary["momentum"].values())), species.mass))
        assert primary["position"]["z"] == load_geometry("tof_geometry.json").beam_origin_z


def test_beam_fractions_are_normalised_and_checked():
    with born((MapPyBeamMaker,), beam_fractions={"mu+": 3.0}) as group:
        events = group.process(skeleton(spill=1))["mc_events"]
    assert {e["primary"]["particle_id"] for e in events} == {-13}
    for bad in ({"kaon": 1.0}, {"mu+": 0.0}, {"mu+": -1.0, "e+": 2.0}):
        with pytest.raises(ConfigurationError, match="beam_fractions"):
            MapPyBeamMaker().birth(make_config(beam_fractions=bad))


def test_simulation_tracks_straight_lines_through_the_planes(simulated):
    geometry = load_geometry("tof_geometry.json")
    for event in simulated[0]["mc_events"][:100]:
        primary = event["primary"]
        p = primary["momentum"]
        beta = math.dist((0, 0, 0), (p["x"], p["y"], p["z"])) / primary["energy"]
        assert len(event["tof_hits"]) <= 6
        for hit in event["tof_hits"]:
            cid = hit["channel_id"]
            station = geometry.stations[cid["station_number"]]
            pos = hit["position"]
            assert pos["z"] == station.plane_z(cid["plane"])
            dz = pos["z"] - primary["position"]["z"]
            assert pos["x"] == pytest.approx(primary["position"]["x"] + p["x"] / p["z"] * dz)
            assert hit["time"] == pytest.approx(hit["path_length"] / (beta * 299.792458))
            measured = pos["x"] if cid["plane"] == 0 else pos["y"]
            assert cid["slab"] == station.slab_at(measured)
            assert abs(pos["x"]) <= station.half_size and abs(pos["y"]) <= station.half_size
            assert hit["particle_id"] == primary["particle_id"] and hit["track_id"] == 1
            assert 2.0 < hit["energy_deposited"] < 60.0


def test_energy_deposit_is_landau_like(simulated):
    edep = np.array([h["energy_deposited"] for s in simulated for e in s["mc_events"]
                     for h in e["tof_hits"]])
    # ~2 MeV/cm x 2.5 cm, a long tail above the peak, none below ~80 % of it.
    assert 4.0 < np.median(edep) < 7.0
    assert np.mean(edep) > np.median(edep) and edep.min() > 3.0 and edep.max() > 8.0


def test_particles_outside_the_active_area_leave_no_hit():
    with born(SIMULATION, particles_per_spill=300, beam_spot_sigma=250.0) as group:
        spill = group.process(skeleton(spill=1))
    n_hits = [len(e["tof_hits"]) for e in spill["mc_events"]]
    assert min(n_hits) < 6 and max(n_hits) == 6
    counts = [sum(len(t["V1290"]) for t in spill["daq_data"][d]) for d in DETECTORS]
    truth = [sum(1 for e in spill["mc_events"] for h in e["tof_hits"]
                 if h["channel_id"]["station_number"] == s) for s in range(3)]
    assert counts == [2 * n for n in truth]


def test_digitizer_writes_the_maus_raw_layout(simulated):
    spill = simulated[0]
    cabling = load_cabling("tof_cabling.json")
    n_triggers = len(spill["mc_events"])
    assert set(spill["daq_data"]) == set(DETECTORS)
    for s, det in enumerate(DETECTORS):
        triggers = spill["daq_data"][det]
        assert len(triggers) == n_triggers
        for i, trigger in enumerate(triggers):
            assert set(trigger) == {"V1290", "V1724"}
            truth = {(h["channel_id"]["plane"], h["channel_id"]["slab"])
                     for h in spill["mc_events"][i]["tof_hits"] if h["channel_id"]["station_number"] == s}
            fired = set()
            for tdc, adc in zip(trigger["V1290"], trigger["V1724"]):
                assert set(tdc) == V1290_FIELDS and set(adc) == V1724_FIELDS
                channel = cabling.by_tdc[tdc["channel_key"]]
                assert cabling.by_adc[adc["channel_key"]] is channel
                assert tdc["detector"] == adc["detector"] == det
                assert tdc["part_event_number"] == i and tdc["phys_event_number"] == 1
                assert tdc["trailing_time"] > tdc["leading_time"] > 0
                assert adc["charge_mm"] > 100 and adc["pedestal"] > 50
                fired.add((channel.plane, channel.slab))
            assert len(trigger["V1290"]) == 2 * len(truth) and fired == truth


def test_pmt_timing_follows_the_crossing_point(simulated):
    """PMT 1 sits at the positive end: a crossing at +a reaches it (2a/v) earlier than PMT 0."""
    spill = simulated[0]
    cabling = load_cabling("tof_cabling.json")
    calibration = {k: c.delay for k, c in load_calibration("tof_calibration.json").channels.items()}
    residuals = []
    for i, event in enumerate(spill["mc_events"][:100]):
        for hit in event["tof_hits"]:
            cid = hit["channel_id"]
            times = {}
            for tdc in spill["daq_data"][f"tof{cid['station_number']}"][i]["V1290"]:
                c = cabling.by_tdc[tdc["channel_key"]]
                if (c.plane, c.slab) == (cid["plane"], cid["slab"]):
                    times[c.pmt] = tdc["leading_time"] * 0.025 - calibration[c.tof_key]
            along = hit["position"]["y"] if cid["plane"] == 0 else hit["position"]["x"]
            residuals.append((times[0] - times[1]) * 150.0 / 2 - along)
    assert abs(np.mean(residuals)) < 2.0 and np.std(residuals) < 10.0


def test_same_seed_gives_the_same_spill_whatever_the_order():
    forward = run_chain([1, 3])
    backward = run_chain([3, 1])[::-1]
    for a, b in zip(forward, backward):
        for key in ("mc_events", "daq_data", "recon_events"):
            assert a[key] == b[key]
    other_seed = run_chain([1], random_seed=2)[0]
    for key in ("mc_events", "daq_data", "recon_events"):
        assert other_seed[key] != forward[0][key]
    assert forward[0]["mc_events"] != forward[1]["mc_events"]  # spills differ from each other


@pytest.mark.parametrize("kind", ["start_of_run", "end_of_run"])
def test_markers_pass_every_map_unchanged(kind):
    marker = skeleton(spill=0, kind=kind)
    with born() as group:
        assert group.process(copy.deepcopy(marker)) == marker


@pytest.mark.parametrize("cls", [MapPySimulation, MapPyTOFMCDigitizer, MapPyTOFDigits])
def test_maps_without_their_input_pass_the_spill_through(cls):
    spill = skeleton(spill=4)
    with born((cls,)) as group:
        assert group.process(copy.deepcopy(spill)) == spill


def test_bad_truth_raises_a_spill_error_naming_the_field():
    with born((MapPyBeamMaker,)) as group:
        spill = group.process(skeleton(spill=5))
    del spill["mc_events"][7]["primary"]["momentum"]
    simulation = MapPySimulation()
    simulation.birth(make_config())
    with pytest.raises(SpillError, match=r"run 1 spill 5: mc_events\[7\]\.primary\.momentum"):
        simulation.process(spill)
    digitizer = MapPyTOFMCDigitizer()
    digitizer.birth(make_config())
    with pytest.raises(SpillError, match="run 1 spill 5: mc_events"):
        digitizer.process({**skeleton(spill=5), "mc_events": [{"tof_hits": [{"time": 1.0}]}]})


def test_bad_spill_numbers_raise_spill_errors():
    with born((MapPyBeamMaker,)) as group:
        spill = group.process({**skeleton(spill=1), "spill_number": "three"})
    assert "spill_number is 'three'" in spill["errors"]["MapPyBeamMaker"][0]


def test_modules_tuple_lists_the_chain_in_order():
    assert [m.__name__ for m in MODULES] == [
        "MapPyBeamMaker", "MapPySimulation", "MapPyTOFMCDigitizer", "MapPyTOFDigits",
        "MapPyTOFSlabHits", "MapPyTOFSpacePoints", "MapPyTOFTimeOfFlight"]
    assert all(parse_tof_channel_key(k) for k in load_cabling("tof_cabling.json").by_tof)


def test_an_empty_spill_gives_empty_lists():
    (spill,) = run_chain([1], particles_per_spill=0)
    assert spill["mc_events"] == [] and spill["recon_events"] == []
    assert spill["daq_data"] == {"tof0": [], "tof1": [], "tof2": []}
    assert spill["errors"] == {}


def test_time_stamp_of_the_spill_reaches_the_raw_hits():
    with born(SIMULATION) as group:
        spill = group.process({**skeleton(spill=2), "time_stamp": 1764000000.25})
    hit = spill["daq_data"]["tof0"][0]["V1290"][0]
    assert hit["time_stamp"] == 1764000000 and hit["phys_event_number"] == 2
