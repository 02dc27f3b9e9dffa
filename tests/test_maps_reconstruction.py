"""The reconstruction maps on simulated and hand-written raw data: digits, slab hits,
space points, time of flight and PID, and what they do with bad or partial data."""
from __future__ import annotations

import copy

import pytest

from maus_online.errors import ConfigurationError, SpillError
from maus_online.maps import (
    MapPyTOFDigits,
    MapPyTOFSlabHits,
    MapPyTOFSpacePoints,
    MapPyTOFTimeOfFlight,
)
from maus_online.maps.tof_digits import MAX_MESSAGES
from maus_online.modules import apply_map
from maus_online.tof import (
    SPECIES,
    expected_time_of_flight,
    load_cabling,
    load_calibration,
    load_geometry,
    tof_channel_key,
)
from tests.tof_helpers import (
    DETECTORS,
    RECONSTRUCTION,
    born,
    make_config,
    run_chain,
    skeleton,
)

CABLING = load_cabling("tof_cabling.json")
DELAY = {k: c.delay for k, c in load_calibration("tof_calibration.json").channels.items()}
GEOMETRY = load_geometry("tof_geometry.json")
DIGIT_FIELDS = {"station", "plane", "slab", "pmt", "tof_key", "leading_time", "trailing_time",
                "charge_mm", "charge_pm", "trigger_time_tag", "time_stamp", "part_event_number",
                "phys_event_number", "detector"}
SLAB_HIT_FIELDS = {"station", "plane", "slab", "part_event_number", "phys_event_number", "pmt0",
                   "pmt1", "raw_time", "charge", "charge_product", "position"}
SPACE_POINT_FIELDS = {"station", "slabX", "slabY", "pixel_key", "time", "dt", "charge",
                      "charge_product", "x", "y", "part_event_number", "phys_event_number"}


@pytest.fixture(scope="module")
def simulated():
    """Spill 3 of the full chain at the default beam."""
    return run_chain([3])[0]


def raw_spill(simulated_spill: dict) -> dict:
    """The raw data of a simulated spill alone: no truth, no reconstruction."""
    raw = copy.deepcopy(simulated_spill)
    del raw["mc_events"], raw["recon_events"]
    return raw


def space_points(spill: dict) -> list:
    return [e["tof_event"]["tof_space_points"] for e in spill["recon_events"]]


def crossing(station: int, plane: int, slab: int, time: float, along: float, event: int = 0):
    """Real-MAUS style V1290 and V1724 hits of a particle crossing a slab at ``time`` (ns),
    ``along`` mm from the slab centre towards PMT 1; with extra fields MAUS writes."""
    s = GEOMETRY.stations[station]
    tdcs, adcs = [], []
    for pmt, distance in ((0, s.half_size + along), (1, s.half_size - along)):
        channel = CABLING.by_tof[tof_channel_key(station, plane, slab, pmt)]
        leading = round((time + distance / s.light_speed + DELAY[channel.tof_key]) / 0.025)
        tdcs.append({"channel_key": channel.tdc_key, "leading_time": leading,
                     "trailing_time": leading + 800, "trigger_time_tag": 7, "time_stamp": 1234,
                     "bunch_id": 7, "detector": f"tof{station}", "part_event_number": event,
                     "phys_event_number": 9, "equip_type": 102, "trigger_leading_time": 17,
                     "trigger_trailing_time": 0, "ldc_id": 0, "geo": 1, "channel": 0})
        adcs.append({"channel_key": channel.adc_key, "charge_mm": 1000 + pmt, "charge_pm": 990,
                     "pedestal": 100, "position_max": 40, "samples": [100, 101, 250, 180]})
    return tdcs, adcs


def trigger(*crossings) -> dict:
    hits = {"V1290": [], "V1724": []}
    for tdcs, adcs in crossings:
        hits["V1290"] += tdcs
        hits["V1724"] += adcs
    return hits


def test_digits_of_a_simulated_spill(simulated):
    assert len(simulated["recon_events"]) == len(simulated["daq_data"]["tof0"])
    for i, event in enumerate(simulated["recon_events"]):
        assert event["part_event_number"] == i
        for det in DETECTORS:
            digits = event["tof_event"]["tof_digits"][det]
            raw = simulated["daq_data"][det][i]
            assert len(digits) == len(raw["V1290"])
            charges = {CABLING.by_adc[a["channel_key"]].tof_key: a["charge_mm"] for a in raw["V1724"]}
            for digit, tdc in zip(digits, raw["V1290"]):
                assert set(digit) == DIGIT_FIELDS
                assert digit["tof_key"] == CABLING.by_tdc[tdc["channel_key"]].tof_key
                assert digit["leading_time"] == tdc["leading_time"]
                assert digit["charge_mm"] == charges[digit["tof_key"]]
                assert digit["detector"] == det


def test_every_layer_has_the_documented_fields(simulated):
    event = simulated["recon_events"][0]["tof_event"]
    for det in DETECTORS:
        (hit,) = [h for h in event["tof_slab_hits"][det] if h["plane"] == 0]
        assert set(hit) == SLAB_HIT_FIELDS
        assert set(hit["pmt0"]) == set(hit["pmt1"]) == {"tof_key", "raw_time", "charge"}
        assert hit["charge"] == hit["pmt0"]["charge"] + hit["pmt1"]["charge"]
        assert hit["charge_product"] == hit["pmt0"]["charge"] * hit["pmt1"]["charge"]
        (point,) = event["tof_space_points"][det]
        assert set(point) == SPACE_POINT_FIELDS
        assert point["pixel_key"] == f"TOFPixelKey {det[-1]} {point['slabX']} {point['slabY']} {det}"
    assert set(event["time_of_flight"]) == {"tof01", "tof12", "tof02"}


def test_reconstruction_alone_reproduces_the_space_points(simulated):
    with born(RECONSTRUCTION) as group:
        again = group.process(raw_spill(simulated))
    assert "mc_events" not in again and again["errors"] == {}
    assert space_points(again) == space_points(simulated)
    assert [e["tof_pid"] for e in again["recon_events"]] == [e["tof_pid"] for e in simulated["recon_events"]]


def test_non_numeric_leading_time_is_reported_and_the_rest_reconstructed(simulated):
    raw = raw_spill(simulated)
    raw["daq_data"]["tof1"][4]["V1290"][2]["leading_time"] = "abc"
    with born(RECONSTRUCTION) as group:
        spill = group.process(raw)
    assert spill["errors"] == {"MapPyTOFDigits": [
        "run 1 spill 3: daq_data.tof1[4].V1290[2].leading_time is 'abc', expected a number"]}
    events = spill["recon_events"]
    assert len(events[4]["tof_event"]["tof_digits"]["tof1"]) == 3
    assert events[4]["tof_event"]["tof_space_points"]["tof0"] == space_points(simulated)[4]["tof0"]
    assert space_points(spill)[5:] == space_points(simulated)[5:]


def test_unknown_channel_key_is_reported_through_apply_map(simulated):
    raw = raw_spill(simulated)
    raw["daq_data"]["tof0"][0]["V1290"][0]["channel_key"] = "DAQChannelKey 9 9 9 102 tof0"
    digits = MapPyTOFDigits()
    digits.birth(make_config())
    spill = apply_map(digits, raw)
    (message,) = spill["errors"]["MapPyTOFDigits"]
    assert message.startswith("run 1 spill 3: daq_data.tof0[0].V1290[0].channel_key is "
                              "'DAQChannelKey 9 9 9 102 tof0', not a tof0 TDC channel")
    assert len(spill["recon_events"][0]["tof_event"]["tof_digits"]["tof0"]) == 3
    assert len(spill["recon_events"][1]["tof_event"]["tof_digits"]["tof0"]) == 4


def test_a_flood_of_bad_hits_is_summarised(simulated):
    raw = raw_spill(simulated)
    for trig in raw["daq_data"]["tof2"]:
        for hit in trig["V1290"]:
            hit["leading_time"] = None
    with born((MapPyTOFDigits,)) as group:
        spill = group.process(raw)
    messages = spill["errors"]["MapPyTOFDigits"]
    assert len(messages) == MAX_MESSAGES + 1 and messages[-1].endswith("more bad hits dropped")
    assert all(e["tof_event"]["tof_digits"]["tof2"] == [] for e in spill["recon_events"])
    assert all(len(e["tof_event"]["tof_digits"]["tof0"]) == 4 for e in spill["recon_events"])


def test_raw_data_that_is_not_data_raises_a_spill_error():
    digits = MapPyTOFDigits()
    digits.birth(make_config())
    with pytest.raises(SpillError, match="run 1 spill 2: daq_data is list"):
        digits.process({**skeleton(spill=2), "daq_data": []})
    spill = apply_map(digits, {**skeleton(spill=2), "daq_data": {"tof1": "garbage"}})
    (message,) = spill["errors"]["MapPyTOFDigits"]
    assert message.splitlines()[0] == (
        "SpillError: run 1 spill 2: daq_data.tof1 is str, expected a list of triggers")


def test_a_hand_written_maus_spill_reconstructs():
    daq = {
        "tof0": [trigger(crossing(0, 0, 2, 100.0, 30.0), crossing(0, 1, 5, 100.1, -70.0)),
                 {}, None, trigger(crossing(0, 0, 9, 300.0, 0.0, event=3),
                                   crossing(0, 1, 0, 300.2, 150.0, event=3))],
        "tof1": [trigger(crossing(1, 0, 3, 128.3, -10.0), crossing(1, 1, 1, 128.4, 20.0)),
                 {"V1290": trigger(crossing(1, 0, 6, 200.0, 0.0))["V1290"]},   # no V1724 at all
                 {"V1290": [], "V1724": []}, trigger(crossing(1, 0, 0, 330.0, 0.0, event=3),
                                                     crossing(1, 1, 6, 330.0, 0.0, event=3))],
        "trigger": [{"V1290": []}],   # real MAUS keeps the trigger board too; not ours
        "tof2": [],
    }
    spill = {**skeleton(spill=9), "daq_data": daq, "time_stamp": 1700000000.5, "maus_online_version": "x"}
    with born(RECONSTRUCTION) as group:
        spill = group.process(spill)
    assert spill["errors"] == {}
    events = spill["recon_events"]
    assert len(events) == 4
    (hx, hy) = events[0]["tof_event"]["tof_slab_hits"]["tof0"]
    assert (hx["plane"], hx["slab"], hy["plane"], hy["slab"]) == (0, 2, 1, 5)
    assert hx["raw_time"] == pytest.approx(100.0, abs=0.02)
    assert hx["position"] == pytest.approx(30.0, abs=2.0)
    assert hy["position"] == pytest.approx(-70.0, abs=2.0)
    assert hx["charge"] == 2001 and hx["charge_product"] == 1000 * 1001
    (point,) = events[0]["tof_event"]["tof_space_points"]["tof0"]
    assert (point["slabX"], point["slabY"], point["x"], point["y"]) == (2, 5, -100.0, 20.0)
    assert point["time"] == pytest.approx(100.05, abs=0.02)
    assert point["dt"] == pytest.approx(-0.1, abs=0.03)
    assert events[0]["tof_event"]["time_of_flight"]["tof01"] == pytest.approx(28.3, abs=0.03)
    assert events[0]["tof_pid"]["hypothesis"] == "mu+"
    assert [d["charge_mm"] for d in events[1]["tof_event"]["tof_digits"]["tof1"]] == [0, 0]
    assert events[1]["tof_event"]["tof_space_points"]["tof1"] == []   # one plane only
    assert events[2]["tof_event"]["tof_digits"] == {"tof0": [], "tof1": [], "tof2": []}
    assert events[3]["tof_event"]["time_of_flight"] == {"tof01": pytest.approx(29.9, abs=0.03)}
    assert events[3]["tof_pid"]["hypothesis"] == "pi+"
    assert events[3]["tof_event"]["tof_space_points"]["tof0"][0]["part_event_number"] == 3
    assert "tof_pid" not in events[1]


def test_space_points_need_matching_times():
    daq = {"tof0": [trigger(crossing(0, 0, 2, 100.0, 0.0), crossing(0, 1, 5, 101.0, 0.0))]}
    for window, expected in ((0.5, 0), (2.0, 1)):
        with born(RECONSTRUCTION, tof_space_point_window=window) as group:
            spill = group.process({**skeleton(spill=1), "daq_data": copy.deepcopy(daq)})
        assert len(spill["recon_events"][0]["tof_event"]["tof_space_points"]["tof0"]) == expected


def test_time_of_flight_needs_exactly_one_space_point_per_station():
    two_particles = trigger(crossing(1, 0, 1, 130.0, 0.0), crossing(1, 1, 1, 130.0, 0.0),
                            crossing(1, 0, 5, 130.1, 0.0), crossing(1, 1, 5, 130.1, 0.0))
    daq = {"tof0": [trigger(crossing(0, 0, 2, 100.0, 0.0), crossing(0, 1, 5, 100.0, 0.0))],
           "tof1": [two_particles],
           "tof2": [trigger(crossing(2, 0, 2, 160.0, 0.0), crossing(2, 1, 5, 160.0, 0.0))]}
    with born(RECONSTRUCTION) as group:
        spill = group.process({**skeleton(spill=1), "daq_data": daq})
    event = spill["recon_events"][0]
    assert len(event["tof_event"]["tof_space_points"]["tof1"]) == 4   # 2 x 2 ambiguous pixels
    assert event["tof_event"]["time_of_flight"] == {"tof02": pytest.approx(60.0, abs=0.03)}
    assert "tof_pid" not in event


def test_a_pmt_that_fired_twice_gives_one_slab_hit():
    tdcs, adcs = crossing(0, 0, 4, 100.0, 0.0)
    late = dict(tdcs[0], leading_time=tdcs[0]["leading_time"] + 4000)
    daq = {"tof0": [{"V1290": [*tdcs, late], "V1724": adcs}]}
    with born(RECONSTRUCTION) as group:
        spill = group.process({**skeleton(spill=1), "daq_data": daq})
    (hit,) = spill["recon_events"][0]["tof_event"]["tof_slab_hits"]["tof0"]
    assert hit["raw_time"] == pytest.approx(100.0, abs=0.02)


@pytest.mark.parametrize("species", list(SPECIES))
def test_pid_picks_the_nearest_expected_time(species):
    expected = expected_time_of_flight(7640.0, 220.0, SPECIES[species].mass)
    daq = {"tof0": [trigger(crossing(0, 0, 2, 100.0, 0.0), crossing(0, 1, 5, 100.0, 0.0))],
           "tof1": [trigger(crossing(1, 0, 2, 100.0 + expected + 0.4, 0.0),
                            crossing(1, 1, 2, 100.0 + expected + 0.4, 0.0))]}
    with born(RECONSTRUCTION) as group:
        spill = group.process({**skeleton(spill=1), "daq_data": daq})
    pid = spill["recon_events"][0]["tof_pid"]
    assert pid["hypothesis"] == species and pid["particle_id"] == SPECIES[species].pdg
    assert pid["reference_momentum"] == 220.0 and pid["expected"][species] == pytest.approx(expected)


def test_other_detectors_reconstruction_is_kept(simulated):
    raw = raw_spill(simulated)
    raw["recon_events"] = [{"part_event_number": i, "kl_event": {"digits": []}}
                           for i in range(len(raw["daq_data"]["tof0"]))]
    with born(RECONSTRUCTION) as group:
        spill = group.process(raw)
    assert all(e["kl_event"] == {"digits": []} for e in spill["recon_events"])
    assert space_points(spill) == space_points(simulated)


@pytest.mark.parametrize("cls", [MapPyTOFSlabHits, MapPyTOFSpacePoints, MapPyTOFTimeOfFlight])
def test_maps_without_their_input_pass_the_spill_through(cls):
    for spill in (skeleton(spill=1), {**skeleton(spill=1), "recon_events": [{"part_event_number": 0}]}):
        with born((cls,)) as group:
            assert group.process(copy.deepcopy(spill)) == spill


def test_malformed_digits_raise_a_spill_error():
    slab_hits = MapPyTOFSlabHits()
    slab_hits.birth(make_config())
    bad = {**skeleton(spill=6), "recon_events": [{"tof_event": {"tof_digits": {"tof0": [{"plane": 0}, {"plane": 1}]}}}]}
    with pytest.raises(SpillError, match=r"run 1 spill 6: recon_events\[0\]\.tof_event\.tof_digits"):
        slab_hits.process(bad)


@pytest.mark.parametrize("cls", RECONSTRUCTION)
def test_a_missing_detector_file_fails_at_birth(cls, tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        cls().birth(make_config(tof_geometry_file=str(tmp_path / "nope.json")))
