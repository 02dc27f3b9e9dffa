"""The TOF detector description: key strings, particles, geometry, cabling, calibration."""
from __future__ import annotations

import json
import shutil

import pytest

from maus_online.configuration import default_configuration
from maus_online.errors import ConfigurationError
from maus_online.tof import (
    SPECIES,
    daq_channel_key,
    expected_time_of_flight,
    load_cabling,
    load_calibration,
    load_detector,
    load_geometry,
    parse_daq_channel_key,
    parse_pixel_key,
    parse_tof_channel_key,
    pixel_key,
    tof_channel_key,
)
from maus_online.tof.detector import check_consistency


def test_keys_format_like_maus_and_round_trip():
    assert tof_channel_key(1, 0, 3, 1) == "TOFChannelKey 1 0 3 1 tof1"
    assert parse_tof_channel_key("TOFChannelKey 1 0 3 1 tof1") == (1, 0, 3, 1, "tof1")
    assert daq_channel_key(0, 1, 5, 102, "tof0") == "DAQChannelKey 0 1 5 102 tof0"
    assert parse_daq_channel_key("DAQChannelKey 0 1 5 102 tof0") == (0, 1, 5, 102, "tof0")
    assert pixel_key(2, 4, 5) == "TOFPixelKey 2 4 5 tof2"
    assert parse_pixel_key("TOFPixelKey 2 4 5 tof2") == (2, 4, 5, "tof2")


@pytest.mark.parametrize("bad", ["", "TOFChannelKey 1 0 3 tof1", "DAQChannelKey 1 0 3 1 tof1",
                                 "TOFChannelKey 1 0 x 1 tof1", None])
def test_bad_keys_raise_value_error_naming_the_text(bad):
    with pytest.raises(ValueError, match="TOFChannelKey"):
        parse_tof_channel_key(bad)


def test_expected_times_of_flight_match_the_design_peaks():
    # DESIGN §4: ~25.5 ns e, ~28.3 ns mu, ~30.2 ns pi over 7.64 m at 220 MeV/c.
    length = load_geometry("tof_geometry.json").distance(0, 1)
    assert length == 7640.0
    times = {n: expected_time_of_flight(length, 220.0, s.mass) for n, s in SPECIES.items()}
    assert times["e+"] == pytest.approx(25.48, abs=0.01)
    assert times["mu+"] == pytest.approx(28.27, abs=0.01)
    assert times["pi+"] == pytest.approx(30.18, abs=0.01)


def test_default_geometry():
    geometry = load_geometry("tof_geometry.json")
    assert [s.detector for s in geometry.stations] == ["tof0", "tof1", "tof2"]
    assert [s.z for s in geometry.stations] == [0.0, 7640.0, 16000.0]
    assert [(s.n_slabs, s.slab_width) for s in geometry.stations] == [(10, 40.0), (7, 60.0), (10, 60.0)]
    tof1 = geometry.stations[1]
    assert tof1.slab_length == 420.0 and tof1.plane_z(1) == 7665.0
    assert tof1.light_speed == 150.0 and tof1.light_travel_time == pytest.approx(2.8)
    assert tof1.slab_centre(0) == -180.0 and tof1.slab_centre(3) == 0.0
    assert tof1.slab_at(-210.0) == 0 and tof1.slab_at(29.9) == 3 and tof1.slab_at(210.0) == 6
    assert tof1.slab_at(210.1) is None
    assert geometry.beam_origin_z < geometry.stations[0].z


def test_default_cabling_covers_every_pmt_once_and_is_calibrated():
    geometry = load_geometry("tof_geometry.json")
    cabling = load_cabling("tof_cabling.json")
    calibration = load_calibration("tof_calibration.json")
    expected = {(s.number, plane, slab, pmt) for s in geometry.stations for plane in (0, 1)
                for slab in range(s.n_slabs) for pmt in (0, 1)}
    assert {(c.station, c.plane, c.slab, c.pmt) for c in cabling.channels} == expected
    assert len(cabling.by_tdc) == len(cabling.by_adc) == len(expected) == 108
    for c in cabling.channels:
        assert parse_daq_channel_key(c.tdc_key)[3:] == (102, c.detector)   # V1290
        assert parse_daq_channel_key(c.adc_key)[3:] == (120, c.detector)   # V1724
        assert c.tof_key in calibration.channels
    check_consistency(geometry, cabling, calibration)


def test_loads_are_cached_per_path_and_read_only(tmp_path):
    assert load_geometry("tof_geometry.json") is load_geometry("tof_geometry.json")
    assert load_cabling("tof_cabling.json") is load_cabling("tof_cabling.json")
    copy = tmp_path / "geometry.json"
    shutil.copy(load_geometry("tof_geometry.json").source, copy)
    assert load_geometry(str(copy)) is not load_geometry("tof_geometry.json")
    assert load_geometry(str(copy)).stations == load_geometry("tof_geometry.json").stations
    with pytest.raises(TypeError):
        load_cabling("tof_cabling.json").by_tdc["x"] = None  # type: ignore[index]


def _write(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_bad_files_raise_configuration_errors_naming_file_and_field(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_geometry(str(tmp_path / "missing.json"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigurationError, match="broken.json"):
        load_cabling(str(tmp_path / "broken.json"))
    with open(load_geometry("tof_geometry.json").source) as handle:
        good = json.load(handle)
    del good["stations"][1]["light_speed"]
    with pytest.raises(ConfigurationError, match=r"stations\[1\]: missing field 'light_speed'"):
        load_geometry(_write(tmp_path, "g.json", good))
    with pytest.raises(ConfigurationError, match=r"channels\[0\]"):
        load_cabling(_write(tmp_path, "c.json", {"channels": [{"tof_key": "TOFChannelKey 0 0 0 0 tof0",
                                                              "tdc_key": "nonsense", "adc_key": "x"}]}))
    with pytest.raises(ConfigurationError, match="delay"):
        load_calibration(_write(tmp_path, "k.json", {"channels": {"TOFChannelKey 0 0 0 0 tof0": {"delay": "1"}}}))


def test_inconsistent_cabling_is_refused(tmp_path):
    key = "TOFChannelKey 1 0 7 0 tof1"  # TOF1 has slabs 0..6
    cabling = _write(tmp_path, "c.json", {"channels": [
        {"tof_key": key, "tdc_key": "DAQChannelKey 1 1 0 102 tof1", "adc_key": "DAQChannelKey 1 10 0 120 tof1"}]})
    calibration = _write(tmp_path, "k.json", {"channels": {key: {"delay": 1.0, "gain": 1.0, "pedestal": 1}}})
    with pytest.raises(ConfigurationError, match="no slab 7"):
        load_detector(default_configuration({"tof_cabling_file": str(cabling),
                                            "tof_calibration_file": str(calibration)}))
