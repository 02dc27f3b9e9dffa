"""CheckPyReferenceChi2 and CheckPyReferenceKS: does the plot look like the reference run?

Consumes each histogram of the plot and the same histogram of the reference run
(``reference_run``; the plot's ``reference``), bins as booked (the reference's bins were
checked equal at birth, MAUS-161); produces the smallest p-value over the histograms, Medium
below ``medium_p``, Bad below ``bad_p``. Null without a reference run, or while either has
fewer than ``minimum_entries``.

* χ²: scipy.stats.chi2_contingency of the two rows of counts (the bins that either fills):
  are they drawn from one distribution, whatever the two runs' sizes?
* Kolmogorov-Smirnov (1D histograms only): the largest distance between the two cumulative
  distributions, its p-value from scipy.stats.kstwo for the two sample sizes' effective size
  (binning makes the test conservative).
"""
from __future__ import annotations

import numpy as np

from .base import CheckBase, Context, Histograms, Parameter
from .levels import BAD, GOOD, MEDIUM, NULL, Quality

_COMMON = {
    "medium_p": Parameter("float", 1e-3, "p-value below which the plot is Medium", minimum=0),
    "bad_p": Parameter("float", 1e-6, "p-value below which the plot is Bad", minimum=0),
    "minimum_entries": Parameter("int", 500, "entries both need before they are compared",
                                 minimum=1),
}


class _ReferenceCheck(CheckBase):
    medium_p: float
    bad_p: float
    minimum_entries: int
    test = ""

    def configure(self, where: str) -> None:
        if self.bad_p > self.medium_p:
            raise self.bad(where, "bad_p", f"at most medium_p ({self.medium_p:g})")

    def p_value(self, now: np.ndarray, then: np.ndarray) -> float | None:
        raise NotImplementedError

    def judge(self, histograms: Histograms, reference: Histograms | None,
              context: Context) -> Quality:
        if not reference:
            return Quality(NULL, None, "no reference run (reference_run is empty)")
        worst: tuple[float, str] | None = None
        for name, histogram in histograms.items():
            if name not in reference:
                continue
            now = histogram.values().astype(np.float64).ravel()
            then = reference[name].values().astype(np.float64).ravel()
            if min(now.sum(), then.sum()) < self.minimum_entries:
                continue
            p = self.p_value(now, then)
            if p is not None and (worst is None or p < worst[0]):
                worst = (p, name)
        if worst is None:
            return Quality(NULL, None, f"fewer than {self.minimum_entries} entries to compare "
                                       "with the reference, or nothing comparable")
        p, name = worst
        level = BAD if p < self.bad_p else MEDIUM if p < self.medium_p else GOOD
        return Quality(level, p, f"{self.test} of {name} against the reference: p = {p:.3g} "
                                 f"(Medium below {self.medium_p:g}, Bad below {self.bad_p:g})")


class CheckPyReferenceChi2(_ReferenceCheck):
    """χ² compatibility of the binned histograms with the reference run's."""

    parameters = dict(_COMMON)
    test = "χ²"

    def p_value(self, now: np.ndarray, then: np.ndarray) -> float | None:
        from scipy.stats import chi2_contingency

        filled = (now + then) > 0
        if filled.sum() < 2:
            return None
        return float(chi2_contingency(np.vstack([now[filled], then[filled]]),
                                      correction=False).pvalue)


class CheckPyReferenceKS(_ReferenceCheck):
    """Kolmogorov-Smirnov compatibility of a 1D histogram with the reference run's."""

    parameters = dict(_COMMON)
    test = "Kolmogorov-Smirnov"

    def judge(self, histograms: Histograms, reference: Histograms | None,
              context: Context) -> Quality:
        if any(h.ndim != 1 for h in histograms.values()):
            return Quality(NULL, None, "Kolmogorov-Smirnov needs 1D histograms")
        return super().judge(histograms, reference, context)

    def p_value(self, now: np.ndarray, then: np.ndarray) -> float | None:
        from scipy.stats import kstwo

        n, m = now.sum(), then.sum()
        distance = float(np.max(np.abs(np.cumsum(now) / n - np.cumsum(then) / m)))
        size = int(round(n * m / (n + m)))
        return float(kstwo.sf(distance, max(size, 1)))
