"""Summary numbers of each plot (reducers/summaries.py): right for known fills, the PID peaks
where the physics puts them, a bounded history per refresh, and the final one in run.json.
"""
from __future__ import annotations

import doctest
import json

import boost_histogram as bh
import fastjsonschema
import numpy as np
import pytest

import reducers.summaries
from maus_online.tof.particles import SPECIES, expected_time_of_flight
from reducers.harness import ReducerHarness
from reducers.image_document import image_schema
from reducers.plotting import Plot, integer_axis, regular_axis
from reducers.summaries import (SummaryHistory, fit_peaks, histogram_summary,
                                plot_summary)
from reducers.tof_plot import ReducePyTOFPlot
from tests.celery_workers import run_go
from tests.conftest import make_config
from tests.tof_helpers import run_chain

SIDECAR = fastjsonschema.compile({**image_schema(), "$ref": "#/definitions/sidecar"})


def test_the_doctests_hold():
    assert doctest.testmod(reducers.summaries).failed == 0


def test_mean_and_std_of_a_known_fill_use_bin_centres_in_range_only():
    h = bh.Histogram(regular_axis(10, 0.0, 10.0, "x"), storage=bh.storage.Int64())
    h.fill([2.5, 2.5, 4.5, 4.5, -3.0, 42.0])  # two outside the axis: entries, not mean
    summary = histogram_summary(h)
    assert summary == {"entries": 6, "mean": 3.5, "std": 1.0}
    assert isinstance(summary["entries"], int)


def test_an_integer_axis_is_centred_on_its_integers():
    h = bh.Histogram(integer_axis(5, "Slab"), storage=bh.storage.Int64())
    h.fill([0, 4])
    assert histogram_summary(h) == {"entries": 2, "mean": 2.0, "std": 2.0}


def test_empty_and_2d_histograms_have_no_mean():
    empty = bh.Histogram(regular_axis(4, 0.0, 4.0, "x"), storage=bh.storage.Int64())
    assert histogram_summary(empty) == {"entries": 0, "mean": None, "std": None}
    flat = bh.Histogram(regular_axis(4, 0.0, 4.0, "x"), storage=bh.storage.Int64())
    flat.fill([9.0, 9.0])
    assert histogram_summary(flat) == {"entries": 2, "mean": None, "std": None}
    xy = bh.Histogram(integer_axis(2, "x"), integer_axis(2, "y"), storage=bh.storage.Int64())
    xy.fill([0, 1], [1, 1])
    assert histogram_summary(xy) == {"entries": 2, "mean": None, "std": None}


def test_a_plot_summary_names_each_histogram_and_counts_the_first():
    a = bh.Histogram(regular_axis(4, 0.0, 4.0, "x"), storage=bh.storage.Int64())
    b = a.copy()
    a.fill([0.5, 1.5, 99.0])
    b.fill([3.5])
    summary = plot_summary(Plot("p", "P", "", (), {"TOF0": a, "TOF1": b}))
    assert summary == {"entries": 3, "histograms": {
        "TOF0": {"entries": 3, "mean": 1.0, "std": 0.5},
        "TOF1": {"entries": 1, "mean": 3.5, "std": 0.0}}}
    assert "peaks" not in summary  # only plots with expected peaks have them


def test_peaks_of_known_gaussians_are_found_and_absent_ones_are_null():
    rng = np.random.default_rng(3)
    h = bh.Histogram(regular_axis(200, 20.0, 40.0, "t"), storage=bh.storage.Int64())
    h.fill(np.concatenate([rng.normal(25.6, 0.12, 300), rng.normal(28.2, 0.15, 3000)]))
    peaks = fit_peaks(h, {"e+": 25.5, "mu+": 28.3, "pi+": 30.1})
    assert list(peaks) == ["e+", "mu+", "pi+"]
    assert peaks["e+"] == pytest.approx(25.6, abs=0.05)
    assert peaks["mu+"] == pytest.approx(28.2, abs=0.03)
    assert peaks["pi+"] is None  # only the muons' tail reaches its window


def test_too_few_entries_give_no_peak():
    h = bh.Histogram(regular_axis(200, 20.0, 40.0, "t"), storage=bh.storage.Int64())
    h.fill([28.3] * 4)
    assert fit_peaks(h, {"e+": 25.5, "mu+": 28.3, "pi+": 30.1}) == {
        "e+": None, "mu+": None, "pi+": None}


def test_the_history_grows_per_refresh_is_bounded_and_replaces_a_repeated_state():
    history = SummaryHistory(length=3)
    for seen in (1, 2, 3, 4):
        entries = history.add("t", seen, f"time {seen}", {"entries": seen})
    assert [e["spills_seen"] for e in entries] == [2, 3, 4]
    entries = history.add("t", 4, "the end", {"entries": 4})  # end of run, nothing added
    assert [(e["spills_seen"], e["time"]) for e in entries] == [(2, "time 2"), (3, "time 3"),
                                                                 (4, "the end")]


@pytest.mark.parametrize("drawing", ["inline", "process"])
def test_each_refresh_carries_its_summary_and_the_run_s_history(drawing):
    spills = run_chain(range(1, 5), particles_per_spill=100)
    harness = ReducerHarness(ReducePyTOFPlot(), make_config(histogram_drawing=drawing,
                                                            refresh_rate=1))
    try:
        documents = harness.run(spills)
    finally:
        harness.close()
    times = [d["image"] for d in documents if d["image"]["tag"] == "tof_time_01"]
    final = times[-1]
    for image in times:
        sidecar = {"maus_event_type": "Image",
                   "image": {**{k: v for k, v in image.items() if k != "data"},
                             "image_file": "x.png"}}
        SIDECAR(sidecar)
        history = image["summary_history"]
        assert history[-1] == {"spills_seen": image["spills_seen"], "time": image["time"],
                               "summary": image["summary"]}
        assert [e["spills_seen"] for e in history] == sorted({e["spills_seen"] for e in history})
    if drawing == "inline":  # every refresh drawn: the history grows by one each time
        assert [len(image["summary_history"]) for image in times] == [1, 2, 3, 4, 4]
    assert final["summary"]["entries"] == sum(final["histograms"][0]["storage"]["values"])
    assert set(final["summary"]["peaks"]) == {"e+", "mu+", "pi+"}
    assert set(final["summary"]["histograms"]) == {"Triggers"}
    # 2D and multi-station plots have summaries too, without peaks.
    xy = [d["image"] for d in documents if d["image"]["tag"] == "tof_xy_1"][-1]
    assert xy["summary"]["histograms"]["TOF1"]["mean"] is None
    assert "peaks" not in xy["summary"]
    nsp = [d["image"] for d in documents if d["image"]["tag"] == "tof_nsp"][-1]
    assert set(nsp["summary"]["histograms"]) == {"TOF0", "TOF1", "TOF2"}


def test_a_new_run_starts_a_new_history():
    spills = run_chain(range(1, 3), particles_per_spill=20)
    harness = ReducerHarness(ReducePyTOFPlot(), make_config(histogram_drawing="inline",
                                                            refresh_rate=1))
    try:
        harness.run(spills, run=1)
        second = harness.run([{**spill, "run_number": 2} for spill in spills], run=2)
    finally:
        harness.close()
    image = [d["image"] for d in second if d["image"]["tag"] == "tof_time_01"][-1]
    assert image["run_number"] == 2
    assert [e["spills_seen"] for e in image["summary_history"]] == [1, 2]


def test_go_py_finds_the_muon_peak_and_keeps_the_final_summary_in_run_json(
        queue, worker_env, tmp_path):
    result = run_go(queue, worker_env, tmp_path, "--run_number", "4", "--spill_count", "12",
                    "--particles_per_spill", "200", "--random_seed", "11",
                    "--refresh_rate", "4", "--histogram_drawing", "inline")
    assert result.returncode == 0, result.stdout + result.stderr
    sidecar = json.loads((tmp_path / "images" / "tof_time_01.json").read_text())["image"]
    SIDECAR({"maus_event_type": "Image", "image": sidecar})
    config = make_config()
    from maus_online.tof.detector import load_geometry

    length = load_geometry(config["tof_geometry_file"]).distance(0, 1)
    expected = expected_time_of_flight(length, config["tof_pid_reference_momentum"],
                                       SPECIES["mu+"].mass)
    assert sidecar["summary"]["peaks"]["mu+"] == pytest.approx(expected, abs=0.3)
    assert [e["spills_seen"] for e in sidecar["summary_history"]] == [4, 8, 12]
    run = json.loads((tmp_path / "archive" / "run_000004" / "run.json").read_text())
    for tag, plot in run["plots"].items():
        archived = json.loads((tmp_path / "archive" / "run_000004" / plot["sidecar"]
                               ).read_text())["image"]
        assert plot["summary"] == archived["summary"], tag
        assert plot["summary"]["entries"] == plot["entries"], tag
    assert run["plots"]["tof_time_01"]["summary"] == sidecar["summary"]
