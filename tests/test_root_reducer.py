"""ReducePyROOTHistogram and ReducePyTOFTimeROOT: plots drawn by real PyROOT, in batch mode.

ROOT is the optional extra ``.[root]``; CI installs it (Makefile), so there these tests run.
Where ROOT is missing they are skipped, except the one that checks what birth then says.
"""
from __future__ import annotations

import base64
import importlib.util
import io
import sys

import pytest
from PIL import Image

from maus_online.errors import ConfigurationError
from reducers import root_histogram
from reducers.root_histogram import ReducePyROOTHistogram, latex
from reducers.tdc_adc_counts import ReducePyHistogramTDCADCCounts
from reducers.tof_plot import ReducePyTOFPlot
from reducers.tof_time_root import ReducePyTOFTimeROOT
from reducers.harness import ReducerHarness
from tests.conftest import make_config
from tests.tof_helpers import run_chain

needs_root = pytest.mark.skipif(
    importlib.util.find_spec("ROOT") is None,
    reason="ROOT is not installed (pip install '.[root]'); CI installs it")


def final_documents(reducer, spills, **overrides):
    """The end-of-run documents by tag; drawn here (``inline``), where ROOT can be looked at."""
    harness = ReducerHarness(reducer, make_config(histogram_drawing="inline", **overrides))
    return {d["image"]["tag"]: d for d in harness.run(spills)}


def png_size(document) -> tuple[int, int]:
    data = base64.b64decode(document["image"]["data"])
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        return image.size


@needs_root
def test_the_time_of_flight_is_drawn_by_real_root_with_the_same_numbers():
    spills = run_chain(range(1, 3), particles_per_spill=100)
    root = ReducePyTOFTimeROOT()
    drawn = final_documents(root, spills)
    ROOT = sys.modules["ROOT"]
    assert ROOT.gROOT.IsBatch() and ROOT.gROOT.GetVersion().startswith("6.")
    assert list(drawn) == ["tof_time_01_root", "tof_time_12_root", "tof_time_02_root"]
    assert root._drawn == 3  # three canvases went through ROOT's TCanvas::Print
    assert not list(ROOT.gROOT.GetListOfCanvases())  # and none is left behind
    reference = final_documents(ReducePyTOFPlot(), spills)
    for tag, document in drawn.items():
        assert png_size(document) == (640, 480)
        assert len(document["image"]["data"]) > 10_000  # a drawn plot, not a blank canvas
        twin = reference[tag.removesuffix("_root")]["image"]
        assert document["image"]["histograms"] == twin["histograms"]
        assert document["image"]["description"] == twin["description"]


class _TOFPlotROOT(ReducePyROOTHistogram):
    """ReducePyTOFPlot's plots drawn by ROOT: overlays, 2D maps, an empty plot."""

    configure = ReducePyTOFPlot.configure
    book = ReducePyTOFPlot.book
    fill = ReducePyTOFPlot.fill
    plots = ReducePyTOFPlot.plots
    _per_station = ReducePyTOFPlot._per_station


class _TDCADCROOT(ReducePyROOTHistogram):
    """ReducePyHistogramTDCADCCounts's plots drawn by ROOT: texts in place of tick numbers."""

    configure = ReducePyHistogramTDCADCCounts.configure
    book = ReducePyHistogramTDCADCCounts.book
    fill = ReducePyHistogramTDCADCCounts.fill
    _columns = ReducePyHistogramTDCADCCounts._columns
    plots = ReducePyHistogramTDCADCCounts.plots


@needs_root
@pytest.mark.parametrize("cls", [_TOFPlotROOT, _TDCADCROOT], ids=["tof_plots", "tdcadc_plots"])
def test_every_drawing_path_of_the_root_back_end(cls):
    reducer = cls()
    spills = run_chain(range(1, 2), particles_per_spill=50)
    documents = final_documents(reducer, spills)
    assert spills[0]["errors"] == {}
    assert len(documents) == len(reducer.plots()) >= 5
    for document in documents.values():
        assert png_size(document) == (640, 480)
    assert len(final_documents(cls(), [])) == len(documents)  # "No entries yet" plots draw too


def test_without_root_birth_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(root_histogram, "_root", None)
    monkeypatch.setitem(sys.modules, "ROOT", None)  # makes `import ROOT` fail
    with pytest.raises(ConfigurationError, match=r"pip install 'maus-online\[root\]'"):
        ReducePyTOFTimeROOT().birth(make_config())


def test_plot_texts_become_tlatex():
    assert latex("Time of flight TOF0 → TOF1") == "Time of flight TOF0 #rightarrow TOF1"
    assert latex("μ⁺ π⁺ e⁺") == "#mu^{+} #pi^{+} e^{+}"
    assert latex("t(TOF1) − t(TOF0) [ns]") == "t(TOF1) - t(TOF0) [ns]"
