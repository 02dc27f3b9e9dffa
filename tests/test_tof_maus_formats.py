"""MAUS's TOF files as configuration: the cabling map (TOFChannelMap.txt) and the T0, time-walk
and trigger-delay calibrations, recognised by content, with errors naming file, line, field."""
from __future__ import annotations

import shutil

import pytest

from maus_online.configuration import default_configuration
from maus_online.errors import ConfigurationError
from maus_online.maps import MapPyTOFSpacePoints
from maus_online.resources import conf_path
from maus_online.tof import load_cabling, load_calibration, load_geometry
from maus_online.tof.detector import check_consistency
from maus_online.tof.maus_calibration import load_maus_calibration
from tests.conftest import make_config
from tests.maus_files import AUGUST_2010, CABLING, DECEMBER_2011, maus_overrides
from tests.tof_helpers import DETECTORS, run_chain

ALL_ON = {"use_t0": True, "use_time_walk": True, "use_trigger_delay": True}
#: Line 1 of MAUS's TOFChannelMap.txt (tab-separated there).
FIRST_LINE = ("TOFChannelKey 0 0 0 0 tof0  DAQChannelKey 01 04 00 120 tof0  "
              "DAQChannelKey 01 03 04 102 tof0")


def test_mauss_cabling_map_gives_the_keys_its_daq_writes():
    cabling = load_cabling(CABLING)
    # Line 1: PMT 0 of TOF0 plane 0 slab 0, fADC ldc 1 geo 4 channel 0, TDC ldc 1 geo 3 ch 4;
    # the spills spell the keys without the file's leading zeros.
    first = cabling.by_tof["TOFChannelKey 0 0 0 0 tof0"]
    assert (first.adc_key, first.tdc_key) == ("DAQChannelKey 1 4 0 120 tof0",
                                              "DAQChannelKey 1 3 4 102 tof0")
    # The key of issue 16, daq_data.tof0[0].V1290[0] of run 2873: line 7 of the file.
    assert cabling.by_tdc["DAQChannelKey 1 1 21 102 tof0"].tof_key == "TOFChannelKey 0 0 6 0 tof0"
    # MICE's stations have 10, 7 and 10 slabs, as this project's geometry: every PMT, once.
    geometry = load_geometry("tof_geometry.json")
    assert {(c.station, c.plane, c.slab, c.pmt) for c in cabling.channels} == {
        (s.number, plane, slab, pmt) for s in geometry.stations for plane in (0, 1)
        for slab in range(s.n_slabs) for pmt in (0, 1)}
    check_consistency(geometry, cabling, load_calibration("tof_calibration.json"))


def test_the_simulation_reads_and_writes_through_mauss_cabling_too():
    # The digitiser writes MICE's DAQ keys (TOF1 x slab 3 PMT 0 is line 44 of the map), the
    # digits read them back: the same reconstruction as through this project's JSON cabling.
    (ours,) = run_chain([2])
    (mice,) = run_chain([2], tof_cabling_file=CABLING)
    assert mice["errors"] == {}
    keys = {h["channel_key"] for t in mice["daq_data"]["tof1"] for h in t["V1290"]}
    assert keys <= set(load_cabling(CABLING).by_tdc) and "DAQChannelKey 1 1 5 102 tof1" in keys
    assert [e["tof_event"]["tof_space_points"] for e in mice["recon_events"]] == [
        e["tof_event"]["tof_space_points"] for e in ours["recon_events"]]
    assert all(len(e["tof_event"]["tof_space_points"][d]) <= 1 for e in mice["recon_events"]
               for d in DETECTORS)


def test_the_format_is_told_by_the_content_not_the_name(tmp_path):
    maus_as_json = tmp_path / "maus_cabling.json"
    json_as_txt = tmp_path / "our_cabling.txt"
    shutil.copy(conf_path(CABLING), maus_as_json)
    shutil.copy(conf_path("tof_cabling.json"), json_as_txt)
    assert load_cabling(str(maus_as_json)).channels == load_cabling(CABLING).channels
    assert load_cabling(str(json_as_txt)).channels == load_cabling("tof_cabling.json").channels


@pytest.mark.parametrize("line, message", [
    ("TOFChannelKey 0 0 x 1 tof0 DAQChannelKey 1 4 1 120 tof0 DAQChannelKey 1 3 5 102 tof0",
     r"line 2: field 4 \(TOFChannelKey slab\) is 'x', expected an integer"),
    ("TOFChannelKey 0 0 1 1 tof0 DAQChannelKey 1 4 1 120 tof0",
     r"line 2: field 13 \(DAQChannelKey label\) is missing; the line has only 12 fields"),
    ("TOFChannelKey 0 0 1 1 tof0 DAQChannelKey 1 4 1 120 tof0 DAQChannelKey 1 4 2 120 tof0",
     r"line 2: DAQChannelKey equip_type 120; a PMT needs one V1724 \(120\) and one V1290"),
    ("TOFChannelKey 1 0 1 1 tof0 DAQChannelKey 1 4 1 120 tof0 DAQChannelKey 1 3 5 102 tof0",
     r"line 2: field 6 \(TOFChannelKey detector\) is 'tof0', expected 'tof1'"),
    ("TOFChannelKey 0 0 1 1 tof0 DAQChannelKey 1 4 1 120 tof0 DAQChannelKey 1 3 5 102 tof1",
     r"line 2: DAQChannelKey detector 'tof1' is not 'tof0'"),
    ("TOFChannelKey 0 0 1 1 tof0 DAQChannelKey 1 4 1 120 tof0 DAQChannelKey 1 3 5 102 tof0 x",
     r"line 2: 1 fields more than expected, from field 19 \('x'\)"),
    ("TOFChannelKey 0 0 1 1 tof0 DAQChannelKey 1 4 1 120 tof0 DAQChannelKey 01 03 04 102 tof0",
     r"tdc_key 'DAQChannelKey 1 3 4 102 tof0' is cabled twice"),
])
def test_a_malformed_cabling_line_names_file_line_and_field(tmp_path, line, message):
    path = tmp_path / "TOFChannelMap.txt"
    path.write_text(f"{FIRST_LINE}\n{line}\n")
    with pytest.raises(ConfigurationError, match=message) as error:
        load_cabling(str(path))
    assert str(path) in str(error.value)


def test_an_empty_cabling_file_is_refused(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ConfigurationError, match="empty.txt: no cabling lines"):
        load_cabling(str(tmp_path / "empty.txt"))


def test_the_calibration_files_are_told_apart_by_content_in_any_order():
    calibration = load_maus_calibration(list(reversed(DECEMBER_2011)), **ALL_ON)
    assert {kind: path.rsplit("/", 1)[1] for kind, path in calibration.sources.items()} == {
        "trigger delay": "tofcalibTrigger_trTOF1_dec2011.txt",
        "time walk": "tofcalibTW_dec2011.txt", "T0": "tofcalibT0_trTOF1_dec2011.txt"}
    # Line 1 of each file, as MAUS wrote it:
    # "TOFChannelKey 1 1 0 0 tof1  -76243.3  3" (T0 ps, reference slab);
    assert calibration.t0[(1, 1, 0, 0)] == (-76243.3, 3)
    # line 3 of the time walk, "TOFChannelKey 0 1 0 0 tof0  554.809 741.184 -1.63391e+06 114869";
    assert calibration.time_walk[(0, 1, 0, 0)] == (554.809, 741.184, -1.63391e6, 114869.0)
    # "TOFPixelKey 1 1 0 tof1 -369": a trigger in TOF1 pixel (1, 0) comes 369 ps early.
    assert calibration.trigger_delays[(1, 0)] == -369.0 and calibration.trigger_station == 1
    assert len(calibration.t0) == len(calibration.time_walk) == 108
    assert len(calibration.trigger_delays) == 35


def test_g4mices_bare_layout_of_august_2010_reads_as_the_same_tables():
    calibration = load_maus_calibration(AUGUST_2010, **ALL_ON)
    # "   1   1   1   0         -76172.7                3" is T0 line 1 without key words.
    assert calibration.t0[(1, 1, 1, 0)] == (-76172.7, 3)
    # 105 T0 lines: TOF1 plane 1 slab 0 has none; TOF2 has lines with t0 = 0 (uncalibrated).
    assert len(calibration.t0) == 105 and (1, 1, 0, 0) not in calibration.t0
    assert calibration.t0[(2, 0, 0, 0)] == (0.0, -99999)
    assert calibration.trigger_station == 1 and calibration.trigger_delays[(3, 3)] == 0.0


def test_the_correction_of_a_pmt_worked_by_hand():
    calibration = load_maus_calibration(AUGUST_2010, **ALL_ON)

    def time_walk(q, p0, p1, p2, p3):       # MICE Note 251, eq. 46
        return p1 + p2 / (q + p0) + p3 / (q + p0) ** 2

    # TOF0 x slab 5 PMT 0 of run 2873 trigger 1 (charge 1603), TOF1 trigger pixel (3, 4):
    #   T0 line 37 "0 0 5 0  -83196.2  3", TW line 21 "0 0 5 0  966.145 160.48 1.30727e+06
    #   -4.05252e+09", trigger line 22 "1 3 4  -627"; correction = t0 - tw - delay, ps -> ns.
    tof0 = (-83196.2 - time_walk(1603, 966.145, 160.48, 1.30727e6, -4.05252e9) + 627) * 1e-3
    assert calibration.correction((0, 0, 5, 0), (3, 4), 1603) == pytest.approx(tof0, abs=1e-12)
    # TOF1 x slab 4 PMT 0 (charge 1840), trigger pixel (4, 3): the trigger station's own PMT
    # also gets the delay of (its slab 4, its reference slab 3) = the same pixel: it cancels.
    tof1 = (-76504.3 - time_walk(1840, 3334.58, 1771.98, -8.87823e6, -82238.7)) * 1e-3
    assert calibration.correction((1, 0, 4, 0), (4, 3), 1840) == pytest.approx(tof1, abs=1e-12)
    # Switched off, a correction counts zero: only the T0 and the pixel delay are left.
    no_walk = load_maus_calibration(AUGUST_2010, use_t0=True, use_time_walk=False,
                                    use_trigger_delay=True)
    assert no_walk.correction((0, 0, 5, 0), (3, 4), 1603) == pytest.approx(-82.5692)
    nothing = load_maus_calibration([], use_t0=False, use_time_walk=False, use_trigger_delay=False)
    assert nothing.correction((2, 1, 9, 1), (0, 0), 0) == 0.0


@pytest.mark.parametrize("pmt, pixel, why", [
    ((2, 0, 4, 0), (4, 3), "TOF2's t0 is 0 in the file: not calibrated"),
    ((0, 0, 0, 0), (4, 3), "its time-walk parameters are all 0"),
    ((1, 1, 0, 0), (4, 3), "no T0 line at all"),
    ((0, 0, 5, 0), (0, 0), "the trigger file has no pixel (0, 0)"),
])
def test_what_is_not_calibrated_cannot_be_timed(pmt, pixel, why):
    assert load_maus_calibration(AUGUST_2010, **ALL_ON).correction(pmt, pixel, 1000) is None, why


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_bad_calibration_files_are_refused_naming_file_line_and_field(tmp_path):
    t0 = "TOFChannelKey 1 1 0 0 tof1  -76243.3  3\n"
    with pytest.raises(ConfigurationError, match=r"hello.txt line 1: not a MAUS TOF calibration"):
        load_maus_calibration([_write(tmp_path, "hello.txt", "hello world\n")], **ALL_ON)
    with pytest.raises(ConfigurationError, match=r"t0.txt line 3: field 7 \(t0 \(ps\)\) is 'abc', "
                                                 "expected a number"):
        load_maus_calibration([_write(tmp_path, "t0.txt", t0 + "\nTOFChannelKey 1 1 0 1 tof1 abc 3\n")],
                              **ALL_ON)
    with pytest.raises(ConfigurationError, match=r"mixed.txt line 2: 2 fields more than expected"):
        load_maus_calibration([_write(tmp_path, "mixed.txt", t0 + "TOFChannelKey 1 1 0 1 tof1 1 2 3 4\n")],
                              **ALL_ON)
    with pytest.raises(ConfigurationError, match=r"twice.txt line 2: TOFChannelKey 1 1 0 0 is "
                                                 "calibrated twice"):
        load_maus_calibration([_write(tmp_path, "twice.txt", t0 + t0)], **ALL_ON)
    with pytest.raises(ConfigurationError, match="is JSON; these are MAUS's text calibration"):
        load_maus_calibration([str(conf_path("tof_calibration.json"))], **ALL_ON)
    with pytest.raises(ConfigurationError, match="are both T0 calibrations"):
        load_maus_calibration([AUGUST_2010[0], DECEMBER_2011[0]], **ALL_ON)
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_maus_calibration([str(tmp_path / "nope.txt")], **ALL_ON)
    two_stations = _write(tmp_path, "trigger.txt", "TOFPixelKey 1 3 3 tof1 0\nTOFPixelKey 0 3 3 tof0 0\n")
    with pytest.raises(ConfigurationError, match=r"trigger delays of several stations \(\[0, 1\]\)"):
        load_maus_calibration([two_stations], use_t0=False, use_time_walk=False,
                              use_trigger_delay=True)


def test_a_switched_on_correction_needs_its_file():
    with pytest.raises(ConfigurationError, match="Enable_timeWalk_correction is true but "
                                                 "tof_calibration_files names no time walk"):
        load_maus_calibration([AUGUST_2010[0], AUGUST_2010[2]], **ALL_ON)
    load_maus_calibration([AUGUST_2010[0], AUGUST_2010[2]], use_t0=True, use_time_walk=False,
                          use_trigger_delay=True)


def test_the_trigger_station_must_be_the_calibrated_one():
    with pytest.raises(ConfigurationError, match=r"TOF_trigger_station is 'tof0', but the trigger "
                                                 r"delays in .*august2010tofcalibTrigger_trTOF1"):
        MapPyTOFSpacePoints().birth(make_config(**maus_overrides(TOF_trigger_station="tof0")))
    MapPyTOFSpacePoints().birth(make_config(**maus_overrides(
        TOF_trigger_station="tof0", Enable_triggerDelay_correction=False)))


def test_the_defaults_keep_the_simulation_and_mauss_cut_values():
    config = default_configuration()
    assert config["tof_reconstruction"] == "simple" and config["tof_calibration_files"] == []
    assert (config["TOF_findTriggerPixelCut"], config["TOF_makeSpacePointCut"]) == (0.5, 0.5)
    assert config["TOF_trigger_station"] == "tof1"
    assert all(config[f"Enable_{name}_correction"] for name in ("t0", "timeWalk", "triggerDelay"))
