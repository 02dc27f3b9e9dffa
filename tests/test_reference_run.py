"""The reference run (reducers/reference.py): a good run's plots drawn under the current ones,
carried in each sidecar as image.reference, refused at the start when it cannot be right.
"""
from __future__ import annotations

import base64
import doctest
import json
import shutil
import sys
from pathlib import Path

import boost_histogram as bh
import pytest

import reducers.reference
from maus_online.errors import ConfigurationError
from reducers.drawing import plot_from_json, plot_json
from reducers.harness import ReducerHarness
from reducers.plotting import Plot, Reference, regular_axis
from reducers.reference import binning_difference, load_references
from reducers.tof_plot import ReducePyTOFPlot
from reducers.tof_time_root import ReducePyTOFTimeROOT
from tests.celery_workers import run_go
from tests.conftest import make_config
from tests.image_directory import sidecar_paths
from tests.test_root_reducer import needs_root
from tests.tof_helpers import run_chain

#: Small spills and the same seed: runs A and B have the same plots, a few seconds each.
FAST = ["--particles_per_spill", "30", "--random_seed", "5", "--spill_count", "3"]


def go(queue, worker_env, cwd, *args):
    return run_go(queue, worker_env, cwd, *FAST, *args)


def sidecars(directory: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text())["image"]
            for path in sidecar_paths(directory)}


@pytest.fixture
def run_a(queue, worker_env, tmp_path) -> Path:
    """Run 5, archived in tmp_path/archive: the reference."""
    result = go(queue, worker_env, tmp_path, "--run_number", "5",
                "--histogram_drawing", "inline")
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path / "archive" / "run_000005"


def test_the_doctests_hold():
    assert doctest.testmod(reducers.reference).failed == 0


# --- go.py ------------------------------------------------------------------------------------

def test_run_b_carries_run_a_as_its_reference_in_both_drawing_modes(
        queue, worker_env, tmp_path, run_a):
    reference = sidecars(run_a)
    for run, drawing in ((6, "process"), (7, "inline")):
        images = tmp_path / f"images_{run}"
        result = go(queue, worker_env, tmp_path, "--run_number", str(run), "--reference_run",
                    "5", "--histogram_drawing", drawing, "--image_directory", str(images))
        assert result.returncode == 0, result.stdout + result.stderr
        drawn = sidecars(images)
        assert set(drawn) == set(reference)
        for tag, image in drawn.items():
            assert image["reference"] == {"run_number": 5,
                                          "histograms": reference[tag]["histograms"]}, tag
            assert "reference" not in reference[tag]
    # The same run without a reference: the same numbers, another image -- the drawing
    # process drew the dashed outlines.
    plain = tmp_path / "images_plain"
    result = go(queue, worker_env, tmp_path, "--run_number", "6", "--image_directory",
                str(plain), "--archive_directory", str(tmp_path / "archive_plain"))
    assert result.returncode == 0, result.stdout + result.stderr
    with_reference, without = sidecars(tmp_path / "images_6"), sidecars(plain)
    for tag in ("tof_time_01", "tdcadc_adc"):
        assert with_reference[tag]["histograms"] == without[tag]["histograms"]
        assert (tmp_path / "images_6" / f"{tag}.png").read_bytes() != \
            (plain / f"{tag}.png").read_bytes()


def test_a_run_the_archive_lacks_is_a_configuration_error_naming_run_and_tag(
        queue, worker_env, tmp_path):
    result = go(queue, worker_env, tmp_path, "--reference_run", "99")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MAUS-160" in result.stderr
    assert "reference_run '99'" in result.stderr and "run_000099" in result.stderr
    assert "tdcadc_tdc" in result.stderr  # the first plot of the first histogram reducer


def test_a_plot_with_other_bins_is_a_configuration_error_naming_run_and_tag(
        queue, worker_env, tmp_path, run_a):
    other = tmp_path / "other_run"
    shutil.copytree(run_a, other)
    sidecar = other / "tof_time_01.json"
    document = json.loads(sidecar.read_text())
    axis = document["image"]["histograms"][0]["axes"][0]
    axis["bins"] = 100  # another binning
    document["image"]["histograms"][0]["storage"]["values"] = [0] * 102
    sidecar.write_text(json.dumps(document))
    result = go(queue, worker_env, tmp_path, "--reference_run", str(other))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MAUS-161" in result.stderr
    assert f"reference_run '{other}'" in result.stderr and "tof_time_01" in result.stderr
    assert "100 bins 20-40 in the reference, 200 bins 20-40 now" in result.stderr


def test_a_plot_the_reference_lacks_is_drawn_without_one_with_a_warning(
        queue, worker_env, tmp_path, run_a):
    (run_a / "tof_nsp.json").unlink()
    result = go(queue, worker_env, tmp_path, "--run_number", "6", "--reference_run", "5",
                "--histogram_drawing", "inline")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MAUS-162" in result.stderr and "tof_nsp" in result.stderr
    drawn = sidecars(tmp_path / "images")
    assert "reference" not in drawn["tof_nsp"]
    assert drawn["tof_time_01"]["reference"]["run_number"] == 5


# --- The pieces -------------------------------------------------------------------------------

def time_plot(bins: int = 4) -> Plot:
    h = bh.Histogram(regular_axis(bins, 0.0, 4.0, "t [ns]"), storage=bh.storage.Int64())
    return Plot("t", "T", "", (), {"Triggers": h})


def test_bins_are_compared_but_not_axis_titles():
    now = time_plot().histograms
    retitled = {"Triggers": bh.Histogram(regular_axis(4, 0.0, 4.0, "time [ns]"))}
    assert binning_difference(now, retitled) == ""
    assert binning_difference(now, time_plot(8).histograms) == (
        "Triggers: 8 bins 0-4 in the reference, 4 bins 0-4 now")
    assert "histograms TOF0 in the reference" in binning_difference(
        now, {"TOF0": now["Triggers"]})


def test_no_reference_run_reads_nothing(tmp_path):
    assert load_references(make_config(image_directory=str(tmp_path / "i")), "R",
                           [time_plot()]) == {}


def test_an_unreadable_sidecar_is_a_configuration_error(tmp_path):
    (tmp_path / "t.json").write_text("{")
    with pytest.raises(ConfigurationError, match=r"MAUS-163 .*plot t from"):
        load_references(make_config(reference_run=str(tmp_path)), "R", [time_plot()])


def test_the_reference_survives_the_trip_to_the_drawing_process():
    plot = time_plot()
    old = bh.Histogram(regular_axis(4, 0.0, 4.0, "t [ns]"), storage=bh.storage.Int64())
    old.fill([1.5, 2.5])
    plot.reference = Reference(3, {"Triggers": old})
    back = plot_from_json(json.loads(json.dumps(plot_json(plot))))
    assert back.reference.run_number == 3
    assert back.reference.histograms["Triggers"] == old


def final_images(reducer, spills, run: int, **overrides) -> dict[str, dict]:
    """The ``image`` of each document of a run of ``reducer``, by tag, drawn here."""
    harness = ReducerHarness(reducer, make_config(histogram_drawing="inline", **overrides))
    try:
        documents = harness.run([{**spill, "run_number": run} for spill in spills], run=run)
    finally:
        harness.close()
    return {d["image"]["tag"]: d["image"] for d in documents}


def reference_directory(tmp_path: Path, reducer, spills) -> Path:
    """A run directory of ``reducer``'s final sidecars of run 3, made here (no run.json: the
    files are found by their tags)."""
    directory = tmp_path / "reference"
    directory.mkdir()
    for tag, image in final_images(reducer, spills, 3).items():
        image = {k: v for k, v in image.items() if k != "data"}
        (directory / f"{tag}.json").write_text(json.dumps(
            {"maus_event_type": "Image", "image": image}))
    return directory


class DashedSpy(ReducePyTOFPlot):
    """Remembers the lines matplotlib drew on each plot: (dashed, width, sum of the line)."""

    def draw(self, plot, axes):
        super().draw(plot, axes)
        self.lines = getattr(self, "lines", {})
        self.lines[plot.tag] = [(line.get_linestyle() == "--", line.get_linewidth(),
                                 sum(line.get_ydata())) for line in axes.get_lines()]


def test_matplotlib_draws_the_reference_dashed_and_scaled(tmp_path):
    spills = run_chain(range(1, 3), particles_per_spill=60)
    directory = reference_directory(tmp_path, ReducePyTOFPlot(), spills[:1])
    spy = DashedSpy()
    documents = final_images(spy, spills, 4, reference_run=str(directory))
    from reducers import style

    reference = (True, style.REFERENCE_LINE_WIDTH)
    (data, outline) = spy.lines["tof_time_01"]  # the data, then the reference
    assert data[:2] == (False, style.LINE_WIDTH) and outline[:2] == reference
    assert outline[2] == pytest.approx(data[2])  # scaled to the current entries
    assert [line[:2] for line in spy.lines["tof_nsp"]].count(reference) == 3  # per station
    assert not spy.lines["tof_xy_1"]  # a colour map: no outline
    assert documents["tof_xy_1"]["reference"]["run_number"] == 3  # carried, not drawn


class CanvasSpy(ReducePyTOFTimeROOT):
    """Remembers the histograms on each ROOT canvas: (name, line style, integral)."""

    def draw(self, plot, canvas):
        keep = super().draw(plot, canvas)
        self.drawn = getattr(self, "drawn", {})
        self.drawn[plot.tag] = [(h.GetName(), h.GetLineStyle(), h.Integral())
                                for h in canvas.GetListOfPrimitives() if h.InheritsFrom("TH1")]
        return keep


@needs_root
def test_root_draws_the_reference_as_a_dashed_histogram_scaled_to_the_entries(tmp_path):
    from reducers import style

    spills = run_chain(range(1, 4), particles_per_spill=60)
    directory = reference_directory(tmp_path, ReducePyTOFTimeROOT(), spills[:1])
    spy = CanvasSpy()
    documents = final_images(spy, spills, 4, reference_run=str(directory))
    assert "ROOT" in sys.modules
    histograms = spy.drawn["tof_time_01_root"]
    data = [h for h in histograms if h[1] != style.ROOT_REFERENCE_LINE_STYLE]
    dashed = [h for h in histograms if h[1] == style.ROOT_REFERENCE_LINE_STYLE]
    assert len(dashed) == 1 and "ref" in dashed[0][0]
    assert dashed[0][2] == pytest.approx(data[0][2])  # normalised to the current entries
    assert documents["tof_time_01_root"]["reference"]["run_number"] == 3
    assert len(base64.b64decode(documents["tof_time_01_root"]["data"])) > 10_000
