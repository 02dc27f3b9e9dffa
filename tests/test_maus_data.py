"""Real MAUS files through the reconstruction with tof_reconstruction = "maus": recorded raw
data of run 2873, MAUS's own test spills of its three TOF maps, and MAUS 0.7.3's
reconstruction of simulated spills (tests/data/maus/README.md says where each comes from).

The expected numbers are worked out from the files, the cabling (conf/maus/TOFChannelMap.txt)
and the calibration (conf/maus/); the comments show the reasoning."""
from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from maus_online.maps import MapPyTOFDigits, MapPyTOFSpacePoints
from maus_online.spill import validate_spill
from maus_online.tof import load_cabling
from reducers.harness import ReducerHarness
from reducers.image_document import histograms_from_json
from reducers.tdc_adc_counts import ReducePyHistogramTDCADCCounts
from reducers.tof_plot import ReducePyTOFPlot
from tests.conftest import REPO_ROOT, make_config, skeleton
from tests.maus_files import (
    AUGUST_2010,
    CABLING,
    DECEMBER_2011,
    DIGITS_TEST,
    MAUS_073,
    RUN_2873,
    SLAB_HITS_TEST,
    SPACE_POINTS_TEST,
    maus_overrides,
    read_spills,
)
from tests.tof_helpers import DETECTORS, RECONSTRUCTION, born

#: MAUS's own test of MapCppTOFSpacePoints: every correction off, both cuts 1.001 ns.
MAUS_SPACE_POINT_TEST = {"Enable_t0_correction": False, "Enable_timeWalk_correction": False,
                         "Enable_triggerDelay_correction": False, "tof_calibration_files": [],
                         "TOF_findTriggerPixelCut": 1.001, "TOF_makeSpacePointCut": 1.001}


def counts(spill: dict, section: str) -> list[list[int]]:
    """Per trigger, the number of ``section`` items of TOF0, TOF1, TOF2."""
    return [[len(e["tof_event"][section][d] or ()) for d in DETECTORS]
            for e in spill["recon_events"]]


def reconstruct(path, maps=RECONSTRUCTION, **overrides) -> dict:
    (spill,) = read_spills(path)
    with born(maps, **maus_overrides(**overrides)) as group:
        return group.process(spill)


def test_mauss_digit_test_spill_of_run_2873():
    spill = reconstruct(DIGITS_TEST)
    assert spill["errors"] == {}
    # Trigger 0. TOF0: TDC hits 'DAQChannelKey 1 1 21 102' (-> TOFChannelKey 0 0 6 0) and
    # twice '1 2 21 102' (-> 0 0 6 1), two fADC hits: 3 digits. TOF1: 3 TDC hits, 4 fADC: 3.
    # Trigger 1. TOF0: one TDC hit but no V1724 at all: MAUS makes no digit. TOF1: 3 TDC
    # hits, 3 digits; the third (1 0 3 1) has no fADC hit of its PMT, so charge 0.
    # TOF2: no hits.
    assert counts(spill, "tof_digits") == [[3, 3, 0], [0, 3, 0]]
    (first, *_) = spill["recon_events"][0]["tof_event"]["tof_digits"]["tof0"]
    raw = spill["daq_data"]
    assert first["leading_time"] == raw["tof0"][0]["V1290"][0]["leading_time"] == 416572
    assert first["charge_mm"] == 1255
    # The TDC board of the hit is geo 1: its trigger and trigger-request hits are [1].
    assert first["trigger_leading_time"] == raw["trigger"][0]["V1290"][1]["leading_time"]
    assert first["trigger_request_leading_time"] == raw["trigger_request"][0]["V1290"][1]["leading_time"]
    third = spill["recon_events"][1]["tof_event"]["tof_digits"]["tof1"][2]
    assert third["tof_key"] == "TOFChannelKey 1 0 3 1 tof1"
    assert (third["charge_mm"], third["charge_pm"]) == (0, 0)
    # Slab hits: TOF0 trigger 0 has both PMTs of x slab 6 (the earlier of 0 6 1's two digits
    # is used); TOF1 trigger 0 has both of y slab 3 (x slab 4 lacks PMT 0), trigger 1 both
    # of x slab 3. No trigger has an x and a y slab hit in TOF1, so no trigger pixel and no
    # space point anywhere.
    assert counts(spill, "tof_slab_hits") == [[1, 1, 0], [0, 1, 0]]
    assert counts(spill, "tof_space_points") == [[0, 0, 0], [0, 0, 0]]


def test_mauss_slab_hit_test_spill():
    spill = reconstruct(SLAB_HITS_TEST, RECONSTRUCTION[1:])
    # Event 0. TOF0: 0 0 6 0 twice, 0 0 6 1 three times: the earliest of each, one slab hit,
    # raw time as in MAUS's own test, (416572 - 420998 + 1727593 - 1731992) / 2 x 25 ps.
    # TOF1 and TOF2: both PMTs of one x and one y slab each: two slab hits.
    # Event 1: TOF1 both PMTs of y slab 2; TOF2 a single PMT. Event 2: no digits.
    assert counts(spill, "tof_slab_hits") == [[1, 2, 2], [0, 1, 0], [0, 0, 0]]
    (hit,) = spill["recon_events"][0]["tof_event"]["tof_slab_hits"]["tof0"]
    assert hit["raw_time"] == (416572 - 420998 + 1727593 - 1731992) / 2.0 * 0.025
    # charge 1255 + 1265; charge product 1255 x 1265 / 2520 = 629.97..., an integer: 629.
    assert (hit["charge"], hit["charge_product"]) == (2520, 629)
    # Space points: TOF1 x slab 4 and y slab 3 calibrate to 0.11 ns (within 0.5): the trigger
    # pixel, and TOF1's space point. TOF0 has an x slab hit only; TOF2 is not calibrated in
    # August 2010 (t0 = 0 for all its PMTs).
    assert counts(spill, "tof_space_points") == [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
    (point,) = spill["recon_events"][0]["tof_event"]["tof_space_points"]["tof1"]
    assert point["pixel_key"] == "TOFPixelKey 1 4 3 tof1"
    assert abs(point["time"]) < 0.5 and abs(point["dt"]) < 0.5


def test_mauss_space_point_test_spill_and_the_issue_it_shows():
    # MAUS's own settings for this file. With every correction off a PMT's time is its raw
    # time and a slab's the mean of its two PMTs'.
    spill = reconstruct(SPACE_POINTS_TEST, (MapPyTOFSpacePoints,), **MAUS_SPACE_POINT_TEST)
    # Event 0, TOF1 (the trigger station): x slabs 4 (0.05 ns), 1 (1002), 1 (1052); y slabs 3
    # (-0.05), 2 (1001). The first pair, (4, 3), has mean time 0: the trigger pixel. Pairs
    # within 1.001 ns: (4, 3) dt 0.1 and (1, 2) dt 1.0: two. TOF0 has one x slab hit only.
    # Event 1: TOF1 (3, 4), -0.5 and 0.5: pixel (mean 0), dt -1.0: one point. TOF0 x 5
    # (-10.55), 1 (1002), 1 (1052), y 3 (-11.05), 2 (1001): (5, 3) dt 0.5, (1, 2) dt 1: two.
    # Event 2: TOF1 (3, 2) has mean 0 but dt -2.06: pixel, no point; TOF0 (5, 6) dt 2: none;
    # TOF2 (4, 1) dt 0.5: one. Event 3: no TOF1 hit, no pixel: TOF2's pair is not made.
    assert counts(spill, "tof_space_points") == [[0, 2, 0], [2, 1, 0], [0, 0, 1], [0, 0, 0]]
    (point, _) = spill["recon_events"][1]["tof_event"]["tof_space_points"]["tof0"]
    assert point["time"] == pytest.approx((-11.025 - 10.075 - 11.025 - 11.075) / 4)
    assert point["dt"] == pytest.approx((-11.025 - 10.075) / 2 - (-11.025 - 11.075) / 2)
    # A tighter cut (0.3 ns) keeps only event 0's (4, 3), dt 0.1.
    tight = reconstruct(SPACE_POINTS_TEST, (MapPyTOFSpacePoints,),
                        **{**MAUS_SPACE_POINT_TEST, "TOF_makeSpacePointCut": 0.3})
    assert counts(tight, "tof_space_points") == [[0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    # Issue 16: the simple builder pairs every x with every y within 0.5 ns, and all five
    # slab hits of event 0's TOF1 have raw_time 0 in the file: 3 x 2 = 6 points.
    with born((MapPyTOFSpacePoints,)) as group:
        simple = group.process(read_spills(SPACE_POINTS_TEST)[0])
    assert counts(simple, "tof_space_points")[0][1] == 6


#: Run 2873 spill 0, per trigger: digits, slab hits and space points of TOF0 TOF1 TOF2.
RUN_2873_COUNTS = (
    "244 122 010  444 222 110  444 222 110  444 222 010  444 222 010  444 222 010  "
    "544 222 110  440 220 110  440 220 110  444 222 010  020 010 000  644 222 110  "
    "462 221 110  444 222 110  444 222 110  544 222 110  044 022 010  020 010 000  "
    "254 122 010  444 222 010  445 222 110  020 010 000  445 222 110  224 112 000  "
    "544 222 110  454 222 110  244 122 010  524 212 000  444 222 110  444 222 110  "
    "454 222 010  494 222 110  444 222 110  444 222 110  454 222 110  044 022 010").split("  ")


def test_run_2873_reconstructs_as_maus_reconstructs_it():
    spill = reconstruct(RUN_2873)
    assert not spill.get("errors")
    raw = spill["daq_data"]
    cabling = load_cabling(CABLING)
    # MAUS makes as many events as daq_data.tof0 has triggers (35 here; TOF0 recorded
    # nothing in the last); this makes one per trigger of the longest station (36).
    assert [len(raw[d]) for d in DETECTORS] == [35, 36, 36]
    found = [" ".join("".join(map(str, c[i])) for c in (
        counts(spill, "tof_digits"), counts(spill, "tof_slab_hits"),
        counts(spill, "tof_space_points"))) for i in range(36)]
    assert found == RUN_2873_COUNTS
    # Digits. Every station trigger with TDC hits also has fADC hits, every TDC board has its
    # trigger and trigger request, every key is cabled: one digit per TDC hit (TOF0 of
    # trigger 10, 16, 17, 21 and TOF2 of 7, 8, 10, 17, 21 are null: none).
    for s, det in enumerate(DETECTORS):
        for i, trigger in enumerate(raw[det]):
            assert len(spill["recon_events"][i]["tof_event"]["tof_digits"][det]) == len(
                (trigger or {}).get("V1290", ()))
    # Slab hits: one per slab both of whose PMTs fired; PMTs firing again (TOF1 of trigger 12:
    # 6 TDC hits, of 31: 9) add no slab hit.
    for s, det in enumerate(DETECTORS):
        for i, trigger in enumerate(raw[det]):
            pmts = {cabling.by_tdc[h["channel_key"]] for h in (trigger or {}).get("V1290", ())}
            slabs = {(c.plane, c.slab) for c in pmts if c.pmt == 0} & {
                (c.plane, c.slab) for c in pmts if c.pmt == 1}
            assert len(spill["recon_events"][i]["tof_event"]["tof_slab_hits"][det]) == len(slabs)
    # Space points, with the August 2010 calibration (trigger station TOF1):
    # * TOF1 makes one wherever it has an x and a y slab hit (31 triggers): the pixel found.
    #   Triggers 10, 17, 21, 23, 27 have a single TOF1 slab hit: no trigger pixel, and then no
    #   space point in any station (trigger 27's TOF0 x 4, y 6 included).
    # * TOF0's y slabs 7, 8, 9 and x slabs 0, 8, 9 have t0 = 0 (not calibrated) in August 2010:
    #   triggers 3 (y 7), 4, 5 (y 8), 9 (y 8), 19, 30 (y 9) make none. TOF2 is not calibrated.
    assert sum(p[1] for p in counts(spill, "tof_space_points")) == 31
    points = [e["tof_event"]["tof_space_points"]["tof1"] for e in spill["recon_events"]]
    assert all(abs(p["time"]) < 0.5 for event in points for p in event)
    # 20 triggers have one space point in TOF0 and TOF1: the times of flight of the beam,
    # 26.1 (an electron) to 34.6 ns, most between the muons' 28.3 and the pions' 30.2 ns.
    times = sorted(e["tof_event"]["time_of_flight"]["tof01"] for e in spill["recon_events"]
                   if "tof01" in e["tof_event"]["time_of_flight"])
    assert len(times) == 20 and 26.0 < times[0] < 26.2 and 34.5 < times[-1] < 34.7
    assert 28.3 < times[10] < 30.2


def test_run_2873_with_the_calibration_of_another_period_finds_no_trigger_pixel():
    # December 2011's T0 puts TOF1 1-3 ns away from 0 for 2010 data, beyond the 0.5 ns
    # trigger-pixel cut: digits and slab hits as before, no space point at all.
    spill = reconstruct(RUN_2873, tof_calibration_files=DECEMBER_2011)
    assert counts(spill, "tof_slab_hits") == counts(reconstruct(RUN_2873), "tof_slab_hits")
    assert all(n == [0, 0, 0] for n in counts(spill, "tof_space_points"))
    # Open the cut (as MAUS does for simulated spills) and the trigger pixel is found again,
    # but December's T0s no longer bring TOF1's x and y times within 0.5 ns of each other in
    # half of the triggers where August's did.
    wide = reconstruct(RUN_2873, tof_calibration_files=DECEMBER_2011, TOF_findTriggerPixelCut=10.0)
    assert 0 < sum(n[1] for n in counts(wide, "tof_space_points")) < 31


def test_mauss_own_slab_hits_are_reproduced_from_its_digits():
    """MAUS 0.7.3's digits and slab hits of 40 simulated spills: the slab hits made here from
    those digits are MAUS's, to the precision MAUS wrote them with (16 digits)."""
    spills = read_spills(MAUS_073)
    assert len(spills) == 40
    compared = 0
    with born(RECONSTRUCTION[1:2], **maus_overrides()) as group:
        for original in spills:
            again = group.process(copy.deepcopy(original))
            for before, after in zip(original["recon_events"], again["recon_events"]):
                for det in DETECTORS:
                    theirs = before["tof_event"]["tof_slab_hits"][det] or []
                    ours = after["tof_event"]["tof_slab_hits"][det]
                    assert [(h["plane"], h["slab"], h["charge"], h["charge_product"],
                             h["pmt0"]["tof_key"], h["pmt1"]["tof_key"]) for h in ours] == [
                        (h["plane"], h["slab"], h["charge"], h["charge_product"],
                         h["pmt0"]["tof_key"], h["pmt1"]["tof_key"]) for h in theirs]
                    for a, b in zip(ours, theirs):
                        assert a["raw_time"] == pytest.approx(b["raw_time"], rel=1e-14, abs=1e-13)
                        for end in ("pmt0", "pmt1"):
                            assert a[end]["raw_time"] == pytest.approx(b[end]["raw_time"],
                                                                       rel=1e-14, abs=1e-13)
                    compared += len(ours)
    assert compared == 136


def run_reducer(cls, spills: list[dict]) -> dict[str, dict]:
    """The end-of-run documents of ``cls`` over ``spills``, by tag, the reducer driven as a
    dataflow drives it (fill part, merge part); no spill may gain an error."""
    harness = ReducerHarness(cls(), make_config(tof_cabling_file=CABLING,
                                                refresh_rate=len(spills) + 1))
    documents = harness.run(spills, run=spills[0]["run_number"])
    for spill in spills:
        assert not spill.get("errors"), spill["errors"]
    return {d["image"]["tag"]: d for d in documents}


@pytest.mark.parametrize("path", [RUN_2873, DIGITS_TEST, SLAB_HITS_TEST, SPACE_POINTS_TEST,
                                  MAUS_073], ids=lambda p: p.name)
def test_mauss_files_as_they_are_fill_the_tof_plots(path):
    spills = read_spills(path)
    assert len(run_reducer(ReducePyTOFPlot, spills)) == 15
    assert len(run_reducer(ReducePyHistogramTDCADCCounts, read_spills(path))) == 5


def test_the_plots_count_mauss_space_points():
    documents = run_reducer(ReducePyTOFPlot, read_spills(MAUS_073))
    nsp = histograms_from_json(documents["tof_nsp"]["image"]["histograms"])
    # Space points per event in the file, by station: what the tof_nsp plot must show.
    for det, label in zip(DETECTORS, ("TOF0", "TOF1", "TOF2")):
        per_event = [len(e["tof_event"]["tof_space_points"][det] or ())
                     for s in read_spills(MAUS_073) for e in s["recon_events"]]
        assert nsp[label].values().tolist() == [per_event.count(n) for n in range(5)]
    assert nsp["TOF1"].values().tolist()[:3] == [27, 12, 1]   # 40 events


def test_what_mauss_digits_do_with_bad_or_missing_raw_data():
    (spill,) = read_spills(DIGITS_TEST)
    raw = spill["daq_data"]
    raw["tof1"][0]["V1724"][2]["part_event_number"] = 7        # the fADC hit of 1 0 4 1
    raw["tof0"][0]["V1290"][0]["channel_key"] = "DAQChannelKey 1 9 9 102 tof0"
    raw["trigger_request"][1]["V1290"] = [h for h in raw["trigger_request"][1]["V1290"]
                                          if h["geo"] != 1]    # board 1 of trigger 1
    with born((MapPyTOFDigits,), **maus_overrides()) as group:
        spill = group.process(spill)
    assert spill["errors"]["MapPyTOFDigits"] == [
        "run 2873 spill 0: daq_data.tof0[0].V1290[0].channel_key is 'DAQChannelKey 1 9 9 102 "
        f"tof0', not a tof0 TDC channel of the cabling map {load_cabling(CABLING).source}",
        "run 2873 spill 0: daq_data.tof1[0].V1290[1]: part_event_number is 0 but that of its "
        "V1724[2] hit is 7; digit dropped"]
    # TOF0: 2 digits of 3; TOF1 trigger 0: 2 of 3; trigger 1: the two hits of board 1 lost.
    assert counts(spill, "tof_digits") == [[2, 2, 0], [0, 1, 0]]
    simulated = {**skeleton(spill=1), "daq_data": {"tof0": [read_spills(DIGITS_TEST)[0]
                                                          ["daq_data"]["tof0"][0]]}}
    with born((MapPyTOFDigits,), **maus_overrides()) as group:
        simulated = group.process(simulated)
    assert simulated["errors"]["MapPyTOFDigits"] == [
        "run 1 spill 1: daq_data has no trigger and trigger_request lists, whose times MAUS's "
        "digits need (tof_reconstruction = 'maus'): no digits"]


def test_go_reconstructs_the_raw_run_into_the_tof_plots(tmp_path):
    images = tmp_path / "images"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "go.py"), "--inputter", "InputPyJSON",
         "--input_json_file_name", str(RUN_2873), "--transformer",
         "MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits, MapPyTOFSpacePoints, MapPyTOFTimeOfFlight)",
         "--reducers", "ReducePyTOFPlot,ReducePyHistogramTDCADCCounts",
         "--tof_reconstruction", "maus", "--tof_cabling_file", CABLING,
         "--tof_calibration_files", ",".join(AUGUST_2010), "--image_directory", str(images),
         "--progress", "false"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "spills failed:    0" in result.stdout and "runs:             2873" in result.stdout
    assert (images / "tof_time_01.png").is_file() and (images / "tdcadc_occupancy_tof1.png").is_file()


@pytest.mark.parametrize("path", [RUN_2873, DIGITS_TEST, SLAB_HITS_TEST, SPACE_POINTS_TEST,
                                  MAUS_073], ids=lambda p: p.name)
def test_mauss_files_validate_against_the_spill_schema_in_full(path):
    # MAUS writes null for a stage or a station it did not reconstruct: legal, not malformed.
    for spill in read_spills(path):
        validate_spill(spill, "full")
