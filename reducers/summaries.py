"""Summary numbers of each plot, and their history over a run: what the trends are drawn from.

Consumes a :class:`~reducers.plotting.Plot` at each refresh (on the merge side, never in the
drawing process: the numbers cost microseconds, and a skipped drawing still counts); produces
the image document's ``summary`` and ``summary_history`` (docs/histograms.md)::

    {"entries": 1234,                                   # the first histogram's, flow included
     "histograms": {"Triggers": {"entries": 1234, "mean": 28.1, "std": 1.7}},
     "peaks": {"e+": 25.52, "mu+": 28.27, "pi+": None}}  # only plots with expected peaks

``mean`` and ``std`` weigh the in-range bin centres by their counts (an integer axis's bins
are centred on their integers, as the plots draw them); they are None for a 2D histogram or
one with nothing in range. ``peaks`` are the fitted positions of the PID peaks
(:func:`fit_peaks`), None where there is too little to judge.

>>> import boost_histogram as bh
>>> h = bh.Histogram(bh.axis.Integer(0, 4)); _ = h.fill([1, 1, 3, 9])
>>> histogram_summary(h)
{'entries': 4, 'mean': 1.6666666666666667, 'std': 0.9428090415820634}
"""
from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Mapping
from typing import Any

import boost_histogram as bh
import numpy as np

from .plotting import Plot

#: Refreshes a plot's history keeps: the oldest go first (500 refreshes of 10 spills are
#: 5,000 spills, a long run; each entry is ~100-300 bytes of every sidecar).
HISTORY_LENGTH = 500
#: Entries a peak's window needs before its position means anything.
MIN_PEAK_ENTRIES = 20
#: Counts the highest bin of a window needs to be taken for a peak rather than noise.
MIN_PEAK_HEIGHT = 5
#: A window never reaches further than this from the expected time (ns): a peak is narrow.
MAX_HALF_WINDOW = 2.0


def histogram_summary(histogram: bh.Histogram) -> dict[str, Any]:
    """``entries`` (flow bins included), and ``mean`` and ``std`` of a 1D histogram."""
    summary: dict[str, Any] = {"entries": int(histogram.sum(flow=True)), "mean": None,
                               "std": None}
    if histogram.ndim != 1:
        return summary
    counts = histogram.values().astype(np.float64)
    total = counts.sum()
    if total > 0:
        centres = _centres(histogram.axes[0])
        mean = float(np.dot(counts, centres) / total)
        variance = float(np.dot(counts, (centres - mean) ** 2) / total)
        summary["mean"], summary["std"] = mean, math.sqrt(max(variance, 0.0))
    return summary


def plot_summary(plot: Plot) -> dict[str, Any]:
    """The ``summary`` of ``plot`` (the layout of the module docstring)."""
    histograms = {name: histogram_summary(h) for name, h in plot.histograms.items()}
    first = next(iter(histograms.values()), {"entries": 0})
    summary: dict[str, Any] = {"entries": first["entries"], "histograms": histograms}
    if plot.peaks:
        shown = next(iter(plot.histograms.values()), None)
        summary["peaks"] = ({name: None for name in plot.peaks} if shown is None
                            else fit_peaks(shown, plot.peaks))
    return summary


def fit_peaks(histogram: bh.Histogram, expected: Mapping[str, float]) -> dict[str, float | None]:
    """The fitted position of each peak of ``expected`` ({name: expected position}).

    Each peak is looked for in a window around its expected position that reaches half way to
    the neighbouring expected peaks (at most :data:`MAX_HALF_WINDOW`): its highest bin must
    hold :data:`MIN_PEAK_HEIGHT` counts, the window :data:`MIN_PEAK_ENTRIES`, and the highest
    bin must not be the window's first or last -- a slope falling from a neighbouring peak is
    not a peak. A Gaussian fitted to the window (scipy's ``curve_fit``) gives the position; a
    fit that fails or leaves the window gives way to the centroid of the five bins around the
    highest.
    """
    if histogram.ndim != 1 or not expected:
        return {name: None for name in expected}
    centres = _centres(histogram.axes[0])
    counts = histogram.values().astype(np.float64)
    order = sorted(expected, key=expected.get)
    positions = [expected[name] for name in order]
    peaks: dict[str, float | None] = {}
    for n, name in enumerate(order):
        gaps = [positions[n] - positions[n - 1]] if n else []
        gaps += [positions[n + 1] - positions[n]] if n + 1 < len(order) else []
        half = min([MAX_HALF_WINDOW, *(gap / 2 for gap in gaps)])
        window = np.nonzero(np.abs(centres - positions[n]) <= half)[0]
        peaks[name] = _peak(centres[window], counts[window])
    return {name: peaks[name] for name in expected}


def _peak(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or y.sum() < MIN_PEAK_ENTRIES:
        return None
    top = int(np.argmax(y))
    if y[top] < MIN_PEAK_HEIGHT or top in (0, len(y) - 1):
        return None
    near = slice(max(top - 2, 0), top + 3)
    centroid = float(np.dot(x[near], y[near]) / y[near].sum())
    width = float(x[1] - x[0])
    from scipy.optimize import curve_fit  # at the first fit: importing scipy takes ~0.2 s

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an ill-conditioned fit is handled below
            (height, mean, sigma), _ = curve_fit(
                _gaussian, x, y, p0=(y[top], x[top], 2 * width), maxfev=400)
    except (RuntimeError, ValueError, TypeError):
        return centroid
    if not (x[0] <= mean <= x[-1]) or not math.isfinite(mean) or height <= 0:
        return centroid
    return float(mean)


def _gaussian(x: np.ndarray, height: float, mean: float, sigma: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((x - mean) / sigma) ** 2)


def _centres(axis: bh.axis.Axis) -> np.ndarray:
    """Bin centres; an integer axis (slabs, channels) is centred on its integers."""
    centres = np.asarray(axis.centers, dtype=np.float64)
    return centres - 0.5 if isinstance(axis, bh.axis.Integer) else centres


class SummaryHistory:
    """Consumes each refresh's summaries by tag; produces each plot's ``summary_history``,
    oldest first, at most :data:`HISTORY_LENGTH` entries. One per run: the merge part makes a
    new one at each birth, so a run's history starts with the run."""

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self.length = length
        self._entries: dict[str, deque[dict[str, Any]]] = {}

    def add(self, tag: str, spills_seen: int, time: str, summary: dict[str, Any]
            ) -> list[dict[str, Any]]:
        """Record the refresh; return the plot's history, this refresh last. A refresh with
        no spill added since the last (an end of run right after a refresh) replaces that
        last entry: a trend has one point per state of the histograms."""
        entries = self._entries.setdefault(tag, deque(maxlen=self.length))
        if entries and entries[-1]["spills_seen"] == spills_seen:
            entries.pop()
        entries.append({"spills_seen": spills_seen, "time": time, "summary": summary})
        return list(entries)  # a copy: later refreshes must not change a document's history
