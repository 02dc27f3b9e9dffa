"""The quality checks (maus_online/checks) on hand-made histograms, the judge, the quality-checks
file and its errors, the registry's check kind, and the simulation's fault keys."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import boost_histogram as bh
import jsonschema
import numpy as np
import pytest

from maus_online.checks import (BAD, GOOD, MEDIUM, NULL, CheckBase, CheckPyDeadChannels,
                                CheckPyErrorRate, CheckPyHotChannels, CheckPyMinimumEntries,
                                CheckPyPeakPosition, CheckPyReferenceChi2, CheckPyReferenceKS,
                                Context, Quality, worst)
from maus_online.checks.config import EMPTY, quality_checks
from maus_online.checks.judge import Judge
from maus_online.dataflows.merge import check_plot_patterns
from maus_online.errors import ConfigurationError
from maus_online.maps import MapPyBeamMaker, MapPySimulation, MapPyTOFMCDigitizer
from maus_online.modules import ReduceBase
from maus_online.registry import build_default_registry
from maus_online.spill import skeleton
from tests.conftest import make_config

RNG = np.random.default_rng(12345)


def born(cls, **parameters) -> CheckBase:
    check = cls()
    check.birth(parameters)
    return check


def gaussian(mean: float, sigma: float, n: int, bins=(200, 20.0, 40.0)) -> bh.Histogram:
    histogram = bh.Histogram(bh.axis.Regular(*bins), storage=bh.storage.Int64())
    histogram.fill(RNG.normal(mean, sigma, n))
    return histogram


def occupancy(per_slab: list[int], dead: int | None = None, hot: int | None = None
              ) -> bh.Histogram:
    """An occupancy as ReducePyHistogramTDCADCCounts books it: 4 groups of the slabs (plane 0
    PMT 0, PMT 1, plane 1 PMT 0, PMT 1), both ends of a slab seeing the same particles."""
    counts = np.array(per_slab * 4, dtype=float)
    if dead is not None:
        counts[dead] = 0
    if hot is not None:
        counts[hot] *= 10
    histogram = bh.Histogram(bh.axis.Integer(0, len(counts)), storage=bh.storage.Int64())
    histogram.view()[...] = counts
    return histogram


# --- Levels -----------------------------------------------------------------------------------

def test_the_worst_level_wins_and_null_only_when_nothing_was_judged():
    def q(level):
        return Quality(level, None, "")

    assert worst([q(GOOD), q(NULL), q(MEDIUM)]) == MEDIUM
    assert worst([q(MEDIUM), q(BAD), q(GOOD)]) == BAD
    assert worst([q(NULL), q(GOOD)]) == GOOD
    assert worst([q(NULL), q(NULL)]) == NULL and worst([]) == NULL


# --- Each check --------------------------------------------------------------------------------

def test_minimum_entries_is_null_at_the_start_and_bad_once_the_run_is_under_way():
    check = born(CheckPyMinimumEntries, minimum=100, within_spills=10)
    few = {"Triggers": gaussian(28.0, 0.2, 50)}
    assert check.judge(few, None, Context(spills_seen=3, spills=3)).level == NULL
    # Spills whose fill failed count too: the plot is not waiting for them.
    verdict = check.judge(few, None, Context(spills_seen=0, spills=10))
    assert verdict.level == BAD and verdict.value == 50 and "only 50 entries" in verdict.reason
    assert check.judge({"Triggers": gaussian(28.0, 0.2, 500)}, None,
                       Context(spills_seen=10)).level == GOOD


@pytest.mark.parametrize("shift, level", [(0.0, GOOD), (0.25, MEDIUM), (-0.5, BAD)])
def test_peak_position_against_the_plots_expected_peak(shift, level):
    check = born(CheckPyPeakPosition, peak="mu+", window=0.3, medium=0.2)
    # A muon peak with the pions 1.9 ns later, as tof_time_01 has them.
    histogram = gaussian(28.27 + shift, 0.17, 4000)
    histogram.fill(RNG.normal(30.18, 0.2, 2000))
    verdict = check.judge({"Triggers": histogram}, None,
                          Context(tag="tof_time_01", peaks={"mu+": 28.27, "pi+": 30.18}))
    assert verdict.level == level, verdict.reason
    assert verdict.value == pytest.approx(shift, abs=0.03)
    assert "mu+ peak of Triggers" in verdict.reason


def test_peak_position_is_null_with_too_few_entries_or_no_expected_peak():
    check = born(CheckPyPeakPosition, peak="mu+", window=0.3, minimum_entries=200)
    few = {"Triggers": gaussian(28.27, 0.17, 50)}
    assert check.judge(few, None, Context(peaks={"mu+": 28.27})).level == NULL
    assert check.judge(few, None, Context(peaks={})).level == NULL
    explicit = born(CheckPyPeakPosition, expected=28.27, window=0.3)
    assert explicit.judge({"T": gaussian(28.27, 0.17, 3000)}, None, Context()).level == GOOD


def test_a_dead_pmt_is_far_below_its_partner_whatever_the_beam_profile():
    check = born(CheckPyDeadChannels, baseline="partner", names="plane_pmt_slab")
    profile = [0, 3, 40, 900, 2500, 900, 40]  # a narrow beam: the edge slabs see nothing
    assert check.judge({"TDC hits": occupancy(profile)}, None, Context()).level == GOOD
    verdict = check.judge({"TDC hits": occupancy(profile, dead=3)}, None, Context())
    assert verdict.level == BAD and verdict.value == 0.0
    assert "TDC hits plane 0 slab 3 PMT 0: 0 hits, baseline 900" in verdict.reason
    # Partners too small to tell a dead PMT from chance are not judged.
    assert check.judge({"TDC hits": occupancy([0, 1, 2, 3])}, None, Context()).level == NULL


def test_a_station_median_calls_unlit_edges_dead_which_is_why_partner_exists():
    median = born(CheckPyDeadChannels, baseline="median")
    flat = occupancy([400] * 7, dead=10)
    verdict = median.judge({"hits": flat}, None, Context())
    assert verdict.level == BAD and "bin 10: 0 hits, baseline 400" in verdict.reason
    assert median.judge({"hits": occupancy([400] * 7)}, None, Context()).level == GOOD


def test_a_hot_pmt_is_far_above_its_partner():
    check = born(CheckPyHotChannels, baseline="partner", names="plane_pmt_slab")
    verdict = check.judge({"ADC hits": occupancy([100, 200, 300], hot=7)}, None, Context())
    assert verdict.level == BAD and verdict.value == pytest.approx(10.0)
    assert "plane 1 slab 1 PMT 0" in verdict.reason


@pytest.mark.parametrize("cls", [CheckPyReferenceChi2, CheckPyReferenceKS])
def test_compatibility_with_the_reference_run(cls):
    check = born(cls, medium_p=1e-3, bad_p=1e-6)
    now = {"Triggers": gaussian(28.3, 0.5, 5000)}
    assert check.judge(now, None, Context()).level == NULL  # no reference_run
    same = check.judge(now, {"Triggers": gaussian(28.3, 0.5, 20000)}, Context())
    assert same.level == GOOD and same.value > 1e-3
    moved = check.judge(now, {"Triggers": gaussian(28.8, 0.5, 20000)}, Context())
    assert moved.level == BAD and moved.value < 1e-6 and "p = " in moved.reason
    assert check.judge(now, {"Triggers": gaussian(28.3, 0.5, 100)}, Context()).level == NULL


def test_error_rate_counts_the_spills_whose_errors_name_a_module():
    check = born(CheckPyErrorRate, modules=["MapPy*"], medium=0.02, bad=0.1)
    errors = {"MapPyTOFDigits": 3, "ReducePyTOFPlot": 50}
    assert check.judge({}, None, Context(spills=5, error_spills=errors)).level == NULL
    verdict = check.judge({}, None, Context(spills=100, error_spills=errors))
    assert verdict.level == MEDIUM and verdict.value == pytest.approx(0.03)
    assert "3 of 100 spills with errors in MapPyTOFDigits" in verdict.reason
    assert check.judge({}, None, Context(spills=20, error_spills=errors)).level == BAD


@pytest.mark.parametrize("cls, parameters, match", [
    (CheckPyMinimumEntries, {}, "parameter 'minimum' is None, expected set"),
    (CheckPyMinimumEntries, {"minimum": "ten"}, "'minimum' is 'ten', expected int"),
    (CheckPyMinimumEntries, {"minimum": 10, "minimun": 3}, "'minimun' is 3, expected a param"),
    (CheckPyPeakPosition, {"window": 0.3}, "'peak'.*the name of an expected peak"),
    (CheckPyDeadChannels, {"baseline": "mean"}, "'baseline' is 'mean', expected one of"),
    (CheckPyReferenceKS, {"bad_p": 0.1}, "'bad_p' is 0.1, expected at most medium_p"),
], ids=["missing", "type", "unknown", "together", "choice", "order"])
def test_a_bad_parameter_is_a_clear_error_at_birth(cls, parameters, match):
    with pytest.raises(ConfigurationError, match=f"MAUS-172 .*{match}"):
        born(cls, **parameters)


# --- The judge ---------------------------------------------------------------------------------

class CheckPyRaises(CheckBase):
    def judge(self, histograms, reference, context):
        raise ZeroDivisionError("no entries to divide by")


def write(tmp_path, text: str, name="checks.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_a_check_that_raises_is_null_with_its_error_and_the_others_still_run(tmp_path, caplog):
    checks = quality_checks({"quality_checks_file": write(tmp_path, """
        format_version = 1
        [groups]
        "time of flight" = ["tof_time_*"]
        [[plots]]
        tags = ["tof_time_01"]
        [[plots.checks]]
        check = "CheckPyMinimumEntries"
        minimum = 10
        """)})
    judge = Judge(checks, "ReducePyTOFPlot")
    judge.plan("tof_time_01")[0].insert(0, CheckPyRaises())
    quality = judge.quality("tof_time_01", {"Triggers": gaussian(28.0, 0.2, 50)}, None,
                            Context(tag="tof_time_01"))
    assert quality["level"] == GOOD and quality["groups"] == ["time of flight"]
    failed, entries = quality["checks"]
    assert failed["check"] == "CheckPyRaises" and failed["level"] == NULL
    assert failed["reason"].startswith("MAUS-177 check CheckPyRaises of plot tof_time_01 failed")
    assert "ZeroDivisionError: no entries to divide by" in failed["reason"]
    assert entries == {"check": "CheckPyMinimumEntries", "level": GOOD, "value": 50.0,
                       "reason": "50 entries, at least 10 needed"}
    assert judge.quality("tof_nsp", {}, None, Context()) == {"level": NULL, "groups": [],
                                                             "checks": []}
    # It fails again at the next refresh: the sidecar says so again, the log only once.
    again = judge.quality("tof_time_01", {"Triggers": gaussian(28.0, 0.2, 50)}, None,
                          Context(tag="tof_time_01"))
    assert again["checks"][0] == failed
    assert [r.getMessage() for r in caplog.records].count(failed["reason"]) == 1


def test_the_sidecar_quality_is_valid_against_the_image_schema():
    from reducers.image_document import image_document_json, image_schema

    quality = Judge(quality_checks(make_config()), "ReducePyTOFPlot").quality(
        "tof_time_01", {"Triggers": gaussian(28.27, 0.17, 3000)}, None,
        Context(spills_seen=20, peaks={"mu+": 28.27}))
    assert quality["level"] == GOOD and quality["groups"] == ["time of flight"]
    document = image_document_json(
        tag="tof_time_01", image_type="png", data="", description="", keywords=[],
        run_number=1, spill_number=20, spills_seen=20, histograms=[], quality=quality)
    jsonschema.Draft7Validator(image_schema()).validate(document)
    document["image"]["quality"]["level"] = "Fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(image_schema()).validate(document)


# --- The quality-checks file ---------------------------------------------------------------------

@pytest.mark.parametrize("text, code, match", [
    ("format_version = 1\n[[plots]]\ntags = ['a']\n[[plots.checks]]\ncheck = 'CheckPyNope'\n",
     "MAUS-171", r"plots\]\] 1 check 1: unknown check 'CheckPyNope'; known: CheckPyDeadChannels"),
    ("format_version = 1\n[[plots]]\ntags = ['a']\n[[plots.checks]]\n"
     "check = 'CheckPyMinimumEntries'\nminimum = -1\n",
     "MAUS-172", "parameter 'minimum' is -1, expected int >= 1"),
    ("format_version = 2\n", "MAUS-174", "format_version is 2, expected 1"),
    ("format_version = 1\n[groups]\nTOF1 = 'tof_xy_1'\n", "MAUS-174",
     "groups.TOF1 is 'tof_xy_1', expected a non-empty list"),
    ("format_version = 1\n[[plots]]\ntag = ['a']\n", "MAUS-174", r"plots 1.tag is \['a'\]"),
    ("format_version = 1\n[[plots\n", "MAUS-170", "cannot be read"),
], ids=["unknown_check", "bad_parameter", "version", "groups", "entry_key", "not_toml"])
def test_the_file_is_checked_when_it_is_loaded(tmp_path, text, code, match):
    with pytest.raises(ConfigurationError, match=f"{code} .*{match}"):
        quality_checks({"quality_checks_file": write(tmp_path, text)})


def test_a_missing_file_and_an_empty_key():
    with pytest.raises(ConfigurationError, match="MAUS-170 quality_checks_file .*nowhere.toml"):
        quality_checks({"quality_checks_file": "/nowhere.toml"})
    assert quality_checks({"quality_checks_file": ""}) is EMPTY


class ReducePyPlots(ReduceBase):
    def plot_tags(self):
        return ["tof_time_01", "tof_time_12"]


def test_a_pattern_that_matches_no_plot_stops_the_run_at_birth(tmp_path):
    text = """
        format_version = 1
        [[plots]]
        tags = ["tof_time_*"]
        [[plots]]
        tags = ["tof_tiem_02"]
        [[plots]]
        tags = ["tdcadc_*"]
        reducer = "ReducePyHistogramTDCADCCounts"
        """
    config = {"quality_checks_file": write(tmp_path, text)}
    with pytest.raises(ConfigurationError, match=r"MAUS-173 .*\[\[plots\]\] 2: tag pattern "
                                                 r"'tof_tiem_02' matches no plot .*tof_time_01"):
        check_plot_patterns(config, [ReducePyPlots()])
    # An entry for a reducer that is not configured is simply not in use.
    config = {"quality_checks_file": write(tmp_path, text.replace("tof_tiem_02", "tof_time_12"))}
    check_plot_patterns(config, [ReducePyPlots()])


def test_the_shipped_file_covers_the_default_plots_and_go_py_stops_on_a_bad_one(
        go_command, tmp_path):
    from reducers.tdc_adc_counts import ReducePyHistogramTDCADCCounts
    from reducers.tof_plot import ReducePyTOFPlot

    config = make_config()
    reducers = [ReducePyTOFPlot(), ReducePyHistogramTDCADCCounts()]
    for reducer in reducers:
        reducer.birth(config)
    check_plot_patterns(config, reducers)
    checks = quality_checks(config)
    assert [name for name, _ in checks.groups] == ["TOF0", "TOF1", "TOF2", "time of flight",
                                                   "DAQ"]
    for reducer in reducers:
        for tag in reducer.plot_tags():
            assert checks.checks_of(reducer.module_name(), tag), tag
            assert checks.groups_of(tag), tag
    bad = write(tmp_path, "format_version = 1\n[[plots]]\ntags = ['tof_nothing']\n")
    result = subprocess.run([*go_command, "--spill_count", "2", "--progress", "false",
                             "--quality_checks_file", bad], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "MAUS-173" in result.stderr and "'tof_nothing' matches no plot" in result.stderr


# --- The registry's check kind ---------------------------------------------------------------

def test_checks_are_modules_of_the_registry_and_plug_ins_add_their_own(tmp_path, monkeypatch):
    registry = build_default_registry()
    assert {"CheckPyMinimumEntries", "CheckPyPeakPosition", "CheckPyDeadChannels",
            "CheckPyHotChannels", "CheckPyReferenceChi2", "CheckPyReferenceKS",
            "CheckPyErrorRate"} <= set(registry.names("check"))
    assert registry.get("CheckPyDeadChannels", kind="check") is CheckPyDeadChannels
    # A third-party distribution's check, through the entry-point group, used in a file.
    (tmp_path / "maus_check_plugin.py").write_text(textwrap.dedent("""
        from maus_online.checks import GOOD, CheckBase, Quality

        class CheckPyAlwaysGood(CheckBase):
            def judge(self, histograms, reference, context):
                return Quality(GOOD, 1.0, "always")
        """))
    info = tmp_path / "maus_check_plugin-1.0.dist-info"
    info.mkdir()
    for name, text in (("METADATA", "Metadata-Version: 2.1\nName: maus-check-plugin\n"
                                    "Version: 1.0\n"),
                       ("entry_points.txt", "[maus_online.modules]\nCheckPyAlwaysGood = "
                                            "maus_check_plugin:CheckPyAlwaysGood\n")):
        (info / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    checks = quality_checks({"quality_checks_file": write(tmp_path, """
        format_version = 1
        [[plots]]
        tags = ["*"]
        [[plots.checks]]
        check = "CheckPyAlwaysGood"
        """)})
    quality = Judge(checks, "ReducePyAny").quality("x", {}, None, Context())
    assert quality["level"] == GOOD and quality["checks"][0]["check"] == "CheckPyAlwaysGood"
    sys.modules.pop("maus_check_plugin", None)


def test_python_m_lists_the_checks_and_their_parameters():
    result = subprocess.run([sys.executable, "-m", "maus_online.checks"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "CheckPyPeakPosition" in result.stdout and "window (float, required)" in result.stdout


# --- The simulation's faults ----------------------------------------------------------------

def digitized(**overrides) -> dict:
    config = make_config(particles_per_spill=300, **overrides)
    spill = skeleton(1, 1)
    for cls in (MapPyBeamMaker, MapPySimulation, MapPyTOFMCDigitizer):
        module = cls()
        module.birth(config)
        spill = module.process(spill)
    return spill


def leading_times(spill: dict, station: str) -> list[int]:
    return [hit["leading_time"] for trigger in spill["daq_data"][station]
            for hit in trigger["V1290"]]


def test_a_dead_pmt_never_fires_and_a_station_delay_moves_only_that_station():
    clean = digitized()
    keys = {hit["channel_key"] for trigger in clean["daq_data"]["tof1"]
            for hit in trigger["V1290"]}
    # TOFChannelKey 1 0 3 0 tof1 is cabled to this TDC channel (conf/tof_cabling.json).
    assert "DAQChannelKey 1 1 3 102 tof1" in keys
    dead = digitized(simulation_dead_pmts=["TOFChannelKey 1 0 3 0 tof1"])
    dead_keys = {hit["channel_key"] for trigger in dead["daq_data"]["tof1"]
                 for hit in trigger["V1290"]}
    assert keys - dead_keys == {"DAQChannelKey 1 1 3 102 tof1"}
    late = digitized(simulation_station_time_offsets={"tof1": 1.0})
    assert leading_times(late, "tof0") == leading_times(clean, "tof0")
    shift = np.array(leading_times(late, "tof1")) - np.array(leading_times(clean, "tof1"))
    assert abs(shift.mean() * 0.025 - 1.0) < 0.01  # 25 ps counts


@pytest.mark.parametrize("overrides, match", [
    ({"simulation_dead_pmts": ["TOFChannelKey 1 0 9 0 tof1"]},
     "MAUS-175 simulation_dead_pmts: 'TOFChannelKey 1 0 9 0 tof1' is not a PMT"),
    ({"simulation_station_time_offsets": {"tof3": 1.0}},
     "MAUS-176 simulation_station_time_offsets: 'tof3' is not a station .*tof0, tof1, tof2"),
])
def test_a_fault_that_names_nothing_is_a_clear_error(overrides, match):
    with pytest.raises(ConfigurationError, match=match):
        MapPyTOFMCDigitizer().birth(make_config(**overrides))


# --- On the merge side of a histogram reducer ---------------------------------------------------

def test_the_merge_side_counts_spills_with_errors_and_judges_every_refresh(tmp_path):
    from reducers.harness import ReducerHarness
    from reducers.matplotlib_histogram import ReducePyMatplotlibHistogram
    from reducers.plotting import Plot

    class ReducePyCounted(ReducePyMatplotlibHistogram):
        """Spills by the parity of their number, filled on the merge side (no split)."""

        def book(self):
            self.parity = bh.Histogram(bh.axis.Integer(0, 2), storage=bh.storage.Int64())

        def fill(self, spill):
            self.parity.fill([spill["spill_number"] % 2])

        def plots(self):
            return [Plot("counted", "Counted", "Spills.", ("test",), {"Spills": self.parity})]

        def render(self, plot, label):
            return b"an image"

    config = make_config(refresh_rate=10, histogram_drawing="inline", quality_checks_file=write(
        tmp_path, """
        format_version = 1
        [groups]
        DAQ = ["counted"]
        [[plots]]
        tags = ["counted"]
        [[plots.checks]]
        check = "CheckPyErrorRate"
        modules = ["MapPy*"]
        medium = 0.05
        bad = 0.2
        """))
    spills = [skeleton(1, n) for n in range(1, 21)]
    for spill in spills[:3]:  # 3 of the first 10 spills failed in a map, none after
        spill["errors"] = {"MapPyTOFDigits": ["ValueError: no digits"]}
    harness = ReducerHarness(ReducePyCounted(), config)
    try:
        documents = harness.run(spills)
    finally:
        harness.close()
    levels = [(d["image"]["spills_seen"], d["image"]["quality"]["level"],
               d["image"]["quality"]["checks"][0]["value"]) for d in documents]
    assert levels == [(10, BAD, 0.3), (20, MEDIUM, 0.15), (20, MEDIUM, 0.15)]
    assert documents[0]["image"]["quality"]["groups"] == ["DAQ"]
