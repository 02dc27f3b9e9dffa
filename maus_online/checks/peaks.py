"""CheckPyPeakPosition: a peak (the mu+ of ``tof_time_01``, ...) within a window of its
expected position.

Consumes one 1D histogram of the plot and the expected position: the plot's own expected
peak named by ``peak`` (``Plot.peaks``, computed at ``tof_pid_reference_momentum``), or
``expected``. The peak is the highest bin within ``search`` of the expected position, refined
by a Gaussian fitted (scipy's ``curve_fit``) to the bins within ``fit_half_width`` of it;
produces Good, Medium at ``medium`` or more from the expected position, Bad at ``window`` or
more. Null below ``minimum_entries`` in the search range. A cable delay of one station or a
beam of another momentum moves the peaks.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .base import CheckBase, Context, Histograms, Parameter
from .levels import NULL, Quality, graded


class CheckPyPeakPosition(CheckBase):
    """The fitted peak within ``window`` of where it is expected."""

    parameters = {
        "peak": Parameter("str", "", "name of the plot's expected peak (e+, mu+, pi+)"),
        "expected": Parameter("float", math.nan, "expected position, when peak is not set"),
        "window": Parameter("float", None, "distance from the expected position that is Bad",
                            minimum=0),
        "medium": Parameter("float", math.inf, "distance that is Medium", minimum=0),
        "search": Parameter("float", 1.5, "half-width of the range searched for the peak",
                            minimum=0),
        "fit_half_width": Parameter("float", 0.4, "half-width of the fitted range", minimum=0),
        "minimum_entries": Parameter("int", 200, "entries in the search range needed to judge",
                                     minimum=1),
        "histogram": Parameter("str", "", "legend label of the histogram (default: the first)"),
    }
    peak: str
    expected: float
    window: float
    medium: float
    search: float
    fit_half_width: float
    minimum_entries: int
    histogram: str

    def configure(self, where: str) -> None:
        if not self.peak and math.isnan(self.expected):
            raise self.bad(where, "peak", "the name of an expected peak, or set expected")

    def judge(self, histograms: Histograms, reference: Histograms | None,
              context: Context) -> Quality:
        name = self.histogram or next(iter(histograms))
        histogram = histograms[name]
        expected = context.peaks.get(self.peak, math.nan) if self.peak else self.expected
        if math.isnan(expected):
            return Quality(NULL, None, f"{context.tag} has no expected {self.peak} peak")
        centres = np.asarray(histogram.axes[0].centers, dtype=np.float64)
        counts = histogram.values().astype(np.float64)
        near = np.abs(centres - expected) <= self.search
        if counts[near].sum() < self.minimum_entries:
            return Quality(NULL, None, f"{int(counts[near].sum())} entries within "
                                       f"{self.search:g} of {expected:.2f}, "
                                       f"{self.minimum_entries} needed")
        top = centres[near][int(np.argmax(counts[near]))]
        position = fitted(centres, counts, top, self.fit_half_width)
        shift = position - expected
        level = graded(abs(shift), self.medium, self.window)
        what = f"{self.peak} peak" if self.peak else "peak"
        return Quality(level, shift, f"{what} of {name} at {position:.3f}, {shift:+.3f} from "
                                     f"the expected {expected:.3f} (Bad at ±{self.window:g})")


def fitted(centres: np.ndarray, counts: np.ndarray, top: float, half_width: float) -> float:
    """The mean of a Gaussian fitted to the bins within ``half_width`` of ``top``; the
    centroid of those bins when the fit fails or leaves them."""
    from scipy.optimize import curve_fit  # imported at the first fit: scipy takes ~0.2 s

    window = np.abs(centres - top) <= half_width
    x, y = centres[window], counts[window]
    centroid = float(np.dot(x, y) / y.sum())
    if len(x) < 4:
        return centroid
    sigma = max(float(np.sqrt(np.dot(y, (x - centroid) ** 2) / y.sum())), 1e-6)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an ill-conditioned fit falls back below
            (_, mean, _), _ = curve_fit(_gaussian, x, y, p0=(y.max(), centroid, sigma),
                                        maxfev=400)
    except (RuntimeError, ValueError, TypeError):
        return centroid
    return float(mean) if x[0] <= mean <= x[-1] else centroid


def _gaussian(x: np.ndarray, height: float, mean: float, sigma: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((x - mean) / sigma) ** 2)
