"""ReducePyMatplotlibHistogram: the histogram reducer super-class that draws with matplotlib.

Consumes what every histogram reducer consumes (see :mod:`reducers.histogram_base`);
produces image documents whose images matplotlib drew in the house style
(:mod:`reducers.style`). A subclass books, fills and lists its plots; it may override
:meth:`ReducePyMatplotlibHistogram.draw` to add to the default drawing (1D histograms as
outlines on one frame, a 2D histogram as a colour map with a colour bar).

Each image is drawn on its own :class:`matplotlib.figure.Figure` with its own Agg canvas,
never through pyplot: nothing global changes (backend, rcParams, the pyplot figure list), so
it works headless, in worker processes, and beside any other matplotlib user.
"""
from __future__ import annotations

import io
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boost_histogram as bh
import numpy as np

from . import style
from .histogram_base import ReducePyHistogram
from .plotting import Plot, empty_note
from .reference import outlines, reference_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: savefig options per image type. PNG at zlib level 3 encodes ~3x quicker than the default
#: 6 for ~10 % more bytes; the creation date is left out so an unchanged plot gives the same file.
SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "png": {"pil_kwargs": {"compress_level": 3}, "metadata": {"Software": "MAUS Online"}},
    "jpg": {"pil_kwargs": {"quality": 92}},
    "svg": {"metadata": {"Date": None}},
    "pdf": {"metadata": {"Creator": "MAUS Online", "CreationDate": None}},
    "eps": {},
}


@cache
def mpl() -> SimpleNamespace:
    """matplotlib's pieces, imported at the first drawing: the registry imports this module in
    every process that builds it (workers too), and importing matplotlib takes ~0.6 s."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    return SimpleNamespace(
        Figure=Figure, FigureCanvasAgg=FigureCanvasAgg, MaxNLocator=MaxNLocator,
        colour_map=matplotlib.colormaps[style.COLOUR_MAP].with_extremes(bad="white"))


class ReducePyMatplotlibHistogram(ReducePyHistogram):
    """Histogram reducer drawn by matplotlib (abstract: subclasses book and fill histograms)."""

    def render(self, plot: Plot, label: str) -> bytes:
        figure = mpl().Figure(figsize=(style.WIDTH / style.DPI, style.HEIGHT / style.DPI),
                              dpi=style.DPI, facecolor="white")
        mpl().FigureCanvasAgg(figure)  # the figure's own canvas: no pyplot, no global backend
        left, bottom, right, top = style.FRAME_2D if plot.is_2d else style.FRAME
        axes = figure.add_axes((left, bottom, right - left, top - bottom))
        self.draw(plot, axes)
        decorate(plot, axes, label)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=self.image_type, **SAVE_OPTIONS[self.image_type])
        return buffer.getvalue()

    def draw(self, plot: Plot, axes: Axes) -> None:
        """Draw ``plot``'s histograms on ``axes``; titles and marks are added afterwards."""
        if plot.is_2d:
            draw_2d(plot, axes)
        else:
            draw_1d(plot, axes)


def edges(axis: bh.axis.Axis) -> np.ndarray:
    """Bin edges to draw; integer axes (slab numbers) are centred on their integers."""
    result = np.asarray(axis.edges, dtype=float)
    return result - 0.5 if isinstance(axis, bh.axis.Integer) else result


def draw_1d(plot: Plot, axes: Axes) -> None:
    """Outlines of every histogram on one frame; a lone histogram is also filled."""
    items = list(plot.histograms.items())
    highest = 0.0
    for n, (name, histogram) in enumerate(items):
        x = np.repeat(edges(histogram.axes[0]), 2)
        values = histogram.values()
        # One polyline per histogram (quicker to draw than stairs patches): up from zero at
        # the first edge, along each bin, down to zero at the last edge.
        y = np.concatenate(([0.0], np.repeat(values, 2), [0.0]))
        if len(items) == 1:
            axes.fill_between(x, y, color=style.FILL, linewidth=0)
        axes.plot(x, y, color=style.COLOURS[n % len(style.COLOURS)],
                  linestyle=style.LINE_STYLES[n % len(style.LINE_STYLES)],
                  linewidth=style.LINE_WIDTH, label=name)
        highest = max(highest, float(values.max(initial=0)))
    for k, (n, _, values) in enumerate(outlines(plot)):  # the reference, scaled to these entries
        # One legend entry for the reference: its outlines share the histograms' colours.
        axes.plot(np.repeat(edges(items[n][1].axes[0]), 2),
                  np.concatenate(([0.0], np.repeat(values, 2), [0.0])),
                  color=style.COLOURS[n % len(style.COLOURS)],
                  linestyle=style.REFERENCE_LINE_STYLE, linewidth=style.REFERENCE_LINE_WIDTH,
                  label=reference_label(plot) if k == 0 else "_nolegend_")
        highest = max(highest, float(values.max(initial=0)))
    first = items[0][1].axes[0]
    axes.set_xlim(*edges(first)[[0, -1]])
    # Head room for the legend and the marks' labels.
    axes.set_ylim(0, highest * 1.22 if highest > 0 else 1)
    axes.set_xlabel(first.label)
    axes.set_ylabel(plot.y_label)
    # Few ticks: their labels must stay apart on a 400 px thumbnail.
    axes.xaxis.set_major_locator(mpl().MaxNLocator(nbins=6,
                                                   integer=isinstance(first, bh.axis.Integer)))
    if len(items) > 1 or plot.reference is not None:
        axes.legend(loc="upper right", frameon=False, fontsize=style.points(style.TICK_PX),
                    handlelength=2.2)


def draw_2d(plot: Plot, axes: Axes) -> None:
    """The single 2D histogram as a colour map; empty bins stay white."""
    ((name, histogram),) = plot.histograms.items()
    x_axis, y_axis = histogram.axes
    values = histogram.values()
    mesh = axes.pcolormesh(edges(x_axis), edges(y_axis), np.ma.masked_equal(values, 0).T,
                           cmap=mpl().colour_map, vmin=0,
                           vmax=max(1.0, float(values.max(initial=0))))
    axes.set_xlabel(x_axis.label)
    axes.set_ylabel(y_axis.label)
    for axis, chart_axis in ((x_axis, axes.xaxis), (y_axis, axes.yaxis)):
        chart_axis.set_major_locator(mpl().MaxNLocator(
            nbins=6, integer=isinstance(axis, bh.axis.Integer)))
    bar = axes.figure.colorbar(mesh, cax=axes.figure.add_axes(style.COLOUR_BAR))
    bar.set_label(plot.y_label, size=style.points(style.LABEL_PX))
    bar.ax.tick_params(labelsize=style.points(style.TICK_PX))
    bar.ax.yaxis.set_major_locator(mpl().MaxNLocator(integer=True))


def decorate(plot: Plot, axes: Axes, label: str) -> None:
    """What every plot has, whoever drew it: titles, text sizes, marks, the empty note."""
    axes.set_title(plot.title, loc="left", fontsize=style.points(style.TITLE_PX), pad=8)
    axes.set_title(label, loc="right", fontsize=style.points(style.NOTE_PX), pad=8,
                   color=style.NOTE_COLOUR)
    axes.xaxis.label.set_size(style.points(style.LABEL_PX))
    axes.yaxis.label.set_size(style.points(style.LABEL_PX))
    axes.tick_params(labelsize=style.points(style.TICK_PX), direction="in", top=True,
                     right=not plot.is_2d)
    if plot.x_ticks:
        axes.set_xticks(list(plot.x_ticks), labels=list(plot.x_ticks.values()))
    if not plot.is_2d:
        axes.grid(True, color=style.GRID_COLOUR, linewidth=0.6)
        axes.set_axisbelow(True)
    for mark in plot.marks:
        axes.axvline(mark.position, color=style.MARK_COLOUR, linestyle="--", linewidth=1.0)
        axes.text(mark.position, 0.975, mark.label, transform=axes.get_xaxis_transform(),
                  ha="center", va="top", fontsize=style.points(style.LABEL_PX),
                  color=style.MARK_COLOUR, backgroundcolor="white")
    note = empty_note(plot)
    if note:
        axes.text(0.5, 0.5, note, transform=axes.transAxes, ha="center", va="center",
                  fontsize=style.points(style.LABEL_PX), color=style.NOTE_COLOUR)
