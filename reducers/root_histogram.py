"""ReducePyROOTHistogram: the histogram reducer super-class that draws with PyROOT.

Consumes what every histogram reducer consumes (see :mod:`reducers.histogram_base`);
produces image documents whose images ROOT drew, in batch mode, in the house style of
:mod:`reducers.style` -- the same sizes, colours, line styles and texts as the matplotlib
reducers. A subclass books, fills and lists its plots exactly as a matplotlib one does, and
may override :meth:`ReducePyROOTHistogram.draw`.

ROOT is the optional extra ``pip install 'maus-online[root]'`` (the PyPI package ``root``,
real ROOT). It is imported at birth, not at import, so that the registry lists ROOT reducers
where ROOT is missing and birth says how to install it. ROOT's state is per process; this
module sets batch mode, quiet printing, the palette and the grid style there, once.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

import boost_histogram as bh
import numpy as np

from maus_online.errors import ConfigurationError
from maus_online.modules import Config

from . import style
from .histogram_base import ReducePyHistogram
from .plotting import Plot, empty_note
from .reference import outlines, reference_label

#: Unicode the plot texts use -> ROOT's TLatex (ROOT's text rendering does not read UTF-8).
LATEX = {"μ": "#mu", "π": "#pi", "⁺": "^{+}", "⁻": "^{-}", "→": "#rightarrow",
         "·": "#upoint", "−": "-", "–": "-"}
FONT = 43  # Helvetica, sizes in pixels: the style's pixel sizes carry over unchanged

_root: Any = None


def import_root() -> Any:
    """The ROOT module, set up for drawing images in this process (once)."""
    global _root
    if _root is None:
        with warnings.catch_warnings():
            # The PyPI build announces itself as an alpha at import; choosing it is deliberate
            # (docs/histograms.md), so that one warning is not an error here.
            warnings.filterwarnings("ignore", message=r"\s*This distribution of ROOT is in alpha",
                                    category=UserWarning)
            import ROOT
        ROOT.gROOT.SetBatch(True)
        ROOT.gErrorIgnoreLevel = ROOT.kWarning  # no "Info in <TCanvas::Print>" per image
        ROOT.TH1.AddDirectory(False)  # histograms belong to Python, not to gDirectory
        ROOT.gStyle.SetPalette(ROOT.kViridis)
        ROOT.gStyle.SetNumberContours(255)  # a smooth colour bar, as matplotlib's
        ROOT.gStyle.SetGridColor(ROOT.TColor.GetColor(style.GRID_COLOUR))
        ROOT.gStyle.SetGridStyle(1)
        ROOT.gStyle.SetOptStat(0)
        ROOT.gStyle.SetOptTitle(0)
        _root = ROOT
    return _root


def latex(text: str) -> str:
    """``text`` with the Unicode the plots use written as TLatex."""
    for plain, code in LATEX.items():
        text = text.replace(plain, code)
    return text


class ReducePyROOTHistogram(ReducePyHistogram):
    """Histogram reducer drawn by ROOT (abstract: subclasses book and fill histograms)."""

    def __init__(self) -> None:
        super().__init__()
        self.root: Any = None
        self._drawn = 0  # ROOT objects need names; a counter keeps them unique

    def birth(self, config: Config) -> None:
        try:
            self.root = import_root()
        except ImportError as exc:
            raise ConfigurationError(
                f"{self.module_name()} draws with ROOT, which is not installed here "
                f"({exc}); install it with: pip install 'maus-online[root]'") from exc
        super().birth(config)

    def render(self, plot: Plot, label: str) -> bytes:
        ROOT = self.root
        self._drawn += 1
        name = f"maus_{id(self):x}_{self._drawn}"
        canvas = ROOT.TCanvas(name, plot.title, style.WIDTH, style.HEIGHT)
        canvas.SetCanvasSize(style.WIDTH, style.HEIGHT)  # the drawable area, not the window
        left, bottom, right, top = style.FRAME_2D if plot.is_2d else style.FRAME
        canvas.SetMargin(left, 1 - right, bottom, 1 - top)
        canvas.SetTicks(1, 0 if plot.is_2d else 1)
        canvas.SetFillColor(0)
        if not plot.is_2d:
            canvas.SetGrid()
        try:
            keep = [*self.draw(plot, canvas), *decorate(ROOT, plot, canvas, label)]
            canvas.Update()
            with tempfile.TemporaryDirectory(prefix="maus-root-") as directory:
                path = os.path.join(directory, f"{name}.{self.image_type}")
                canvas.Print(path)  # ROOT writes files only; the suffix picks the type
                with open(path, "rb") as stream:
                    data = stream.read()
        finally:
            canvas.Close()
        del keep
        return data

    def draw(self, plot: Plot, canvas: Any) -> list[Any]:
        """Draw ``plot``'s histograms on ``canvas``; returns the ROOT objects to keep alive
        until the image is printed (ROOT draws references, not copies)."""
        if plot.is_2d:
            return draw_2d(self.root, plot, canvas, f"{canvas.GetName()}_h")
        return draw_1d(self.root, plot, canvas, f"{canvas.GetName()}_h")


def _edges(axis: bh.axis.Axis) -> np.ndarray:
    result = np.asarray(axis.edges, dtype=np.float64)
    return result - 0.5 if isinstance(axis, bh.axis.Integer) else result


def to_th1(ROOT: Any, histogram: bh.Histogram, name: str) -> Any:
    """A TH1D with ``histogram``'s bins and contents, flow bins included."""
    edges = _edges(histogram.axes[0])
    th1 = ROOT.TH1D(name, "", len(edges) - 1, edges)
    th1.SetContent(np.ascontiguousarray(histogram.values(flow=True), dtype=np.float64))
    th1.SetEntries(float(histogram.sum(flow=True)))
    return th1


def to_th2(ROOT: Any, histogram: bh.Histogram, name: str) -> Any:
    """A TH2D with ``histogram``'s bins and contents; ROOT counts x fastest."""
    x, y = (_edges(axis) for axis in histogram.axes)
    th2 = ROOT.TH2D(name, "", len(x) - 1, x, len(y) - 1, y)
    th2.SetContent(np.ascontiguousarray(histogram.values(flow=True).T.ravel(), dtype=np.float64))
    th2.SetEntries(float(histogram.sum(flow=True)))
    return th2


def style_axes(th: Any, titles: Sequence[str]) -> None:
    """Pixel fonts and titles of the house style on ``th``'s axes."""
    for axis, title, offset in zip((th.GetXaxis(), th.GetYaxis(), th.GetZaxis()), titles,
                                   (1.15, 1.45, 1.3)):
        axis.SetTitle(latex(title))
        axis.SetTitleFont(FONT)
        axis.SetTitleSize(style.LABEL_PX)
        axis.SetTitleOffset(offset)
        axis.SetLabelFont(FONT)
        axis.SetLabelSize(style.TICK_PX)
        axis.SetNdivisions(506)
    th.GetXaxis().CenterTitle(True)
    th.GetYaxis().CenterTitle(True)


def draw_1d(ROOT: Any, plot: Plot, canvas: Any, name: str) -> list[Any]:
    """Outlines of every histogram on one frame; a lone histogram is also filled."""
    items = list(plot.histograms.items())
    keep = [to_th1(ROOT, h, f"{name}{n}") for n, (_, h) in enumerate(items)]
    highest = max(float(h.values().max(initial=0)) for _, h in items)
    frame = keep[0]
    frame.SetMinimum(0)
    frame.SetMaximum(highest * 1.22 if highest > 0 else 1)
    style_axes(frame, (items[0][1].axes[0].label, plot.y_label))
    for n, th1 in enumerate(keep):
        th1.SetLineColor(ROOT.TColor.GetColor(style.COLOURS[n % len(style.COLOURS)]))
        th1.SetLineStyle(style.ROOT_LINE_STYLES[n % len(style.ROOT_LINE_STYLES)])
        th1.SetLineWidth(style.ROOT_LINE_WIDTH)
        if len(keep) == 1:
            th1.SetFillColor(ROOT.TColor.GetColor(style.FILL))
        th1.Draw("HIST" if n == 0 else "HIST SAME")
    references = []
    for n, _, values in outlines(plot):  # the reference run, scaled to these entries
        th1 = to_th1(ROOT, items[n][1], f"{name}ref{n}")
        th1.SetContent(np.ascontiguousarray(np.concatenate(([0.0], values, [0.0]))))
        th1.SetLineColor(ROOT.TColor.GetColor(style.COLOURS[n % len(style.COLOURS)]))
        th1.SetLineStyle(style.ROOT_REFERENCE_LINE_STYLE)
        th1.SetLineWidth(style.ROOT_REFERENCE_LINE_WIDTH)
        th1.SetFillStyle(0)
        th1.Draw("HIST SAME")
        references.append(th1)
        highest = max(highest, float(values.max(initial=0)))
    frame.SetMaximum(highest * 1.22 if highest > 0 else 1)
    if len(items) > 1 or references:
        rows = len(items) + bool(references)
        left = 0.60 if references else 0.70  # "Run 7 (reference)" is the widest entry
        legend = ROOT.TLegend(left, 0.905 - 0.055 * rows - 0.02, 0.94, 0.885)
        legend.SetBorderSize(0)
        legend.SetFillStyle(0)
        legend.SetTextFont(FONT)
        legend.SetTextSize(style.TICK_PX)
        for (label, _), th1 in zip(items, keep):
            legend.AddEntry(th1, latex(label), "l")
        if references:  # one entry: the outlines share the histograms' colours
            legend.AddEntry(references[0], latex(reference_label(plot)), "l")
        legend.Draw()
        keep.append(legend)
    keep += references
    frame.Draw("AXIS SAME")  # the frame's ticks over the filled histogram
    return keep


def draw_2d(ROOT: Any, plot: Plot, canvas: Any, name: str) -> list[Any]:
    """The single 2D histogram as a colour map with its colour bar; empty bins stay white."""
    ((_, histogram),) = plot.histograms.items()
    th2 = to_th2(ROOT, histogram, name)
    style_axes(th2, (histogram.axes[0].label, histogram.axes[1].label, plot.y_label))
    th2.SetMinimum(0)
    th2.SetMaximum(max(1.0, float(histogram.values().max(initial=0))))
    th2.Draw("COLZ")
    canvas.Update()  # makes the palette, which is then moved where the style wants it
    palette = th2.GetListOfFunctions().FindObject("palette")
    if palette:
        x, y, width, height = style.COLOUR_BAR
        palette.SetX1NDC(x)
        palette.SetX2NDC(x + width)
        palette.SetY1NDC(y)
        palette.SetY2NDC(y + height)
    return [th2]


def decorate(ROOT: Any, plot: Plot, canvas: Any, label: str) -> list[Any]:
    """What every plot has, whoever drew it: titles, marks, x tick texts, the empty note."""
    left, bottom, right, top = style.FRAME_2D if plot.is_2d else style.FRAME
    keep = []

    def text(x: float, y: float, content: str, size: int, align: int, colour: str = "#000000",
             ndc: bool = True) -> Any:
        latex_text = ROOT.TLatex(x, y, latex(content))
        latex_text.SetNDC(ndc)
        latex_text.SetTextFont(FONT)
        latex_text.SetTextSize(size)
        latex_text.SetTextAlign(align)
        latex_text.SetTextColor(ROOT.TColor.GetColor(colour))
        latex_text.Draw()
        keep.append(latex_text)
        return latex_text

    text(left, top + 0.025, plot.title, style.TITLE_PX, 11)
    text(right, top + 0.025, label, style.NOTE_PX, 31, style.NOTE_COLOUR)
    canvas.Update()
    x_min, x_max = canvas.GetUxmin(), canvas.GetUxmax()
    y_min, y_max = canvas.GetUymin(), canvas.GetUymax()
    for mark in plot.marks:
        line = ROOT.TLine(mark.position, y_min, mark.position, y_max * 0.92)
        line.SetLineStyle(2)
        line.SetLineColor(ROOT.TColor.GetColor(style.MARK_COLOUR))
        line.Draw()
        keep.append(line)
        text(mark.position, y_max * 0.975, mark.label, style.LABEL_PX, 23, style.MARK_COLOUR,
             ndc=False)
    if plot.x_ticks and x_max > x_min:
        for histogram in canvas.GetListOfPrimitives():
            if histogram.InheritsFrom("TH1"):
                histogram.GetXaxis().SetLabelSize(0)  # the numbers give way to the texts
        for position, content in plot.x_ticks.items():
            x = left + (position - x_min) / (x_max - x_min) * (right - left)
            text(x, bottom - 0.015, content, style.TICK_PX, 23)
    note = empty_note(plot)
    if note:
        text(0.5 * (left + right), 0.5 * (bottom + top), note, style.LABEL_PX, 22,
             style.NOTE_COLOUR)
    return keep
