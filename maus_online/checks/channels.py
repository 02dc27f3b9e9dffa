"""CheckPyDeadChannels and CheckPyHotChannels: a channel far below or above what it should see.

Consumes the plot's histograms of hits per channel (an occupancy, hits per PMT); each channel
is compared with a *baseline*:

* ``baseline = "median"``: the median channel of the histogram (one station's channels);
* ``baseline = "partner"``: the other PMT of the same slab. The bins are ``groups`` equal
  parts (the occupancy's plane 0 PMT 0, plane 0 PMT 1, plane 1 PMT 0, plane 1 PMT 1), and
  part 2k and 2k + 1 are the two ends of the same slabs: both see every particle that crosses
  the slab, so they agree whatever the beam's profile, where a station median would call the
  unlit edge slabs dead.

Only channels whose baseline holds ``minimum_baseline`` counts are judged. A channel is Bad
below ``bad_fraction`` x its baseline (dead) or above ``bad_factor`` x (hot), Medium below
``medium_fraction`` (above ``medium_factor``), and only when Poisson's probability of so few
(so many) hits given the baseline (scipy.stats.poisson) is below ``significance``: so low
statistics never alarm. The value is the worst channel's ratio to its baseline.
"""
from __future__ import annotations

import numpy as np

from .base import CheckBase, Context, Histograms, Parameter
from .levels import BAD, GOOD, MEDIUM, NULL, Quality

_COMMON = {
    "baseline": Parameter("str", "median", "what a channel is compared with",
                          choices=("median", "partner")),
    "groups": Parameter("int", 4, "equal parts of the bins (for baseline partner, and names)",
                        minimum=1),
    "names": Parameter("str", "bin", "how channels are named in the reason",
                       choices=("bin", "plane_pmt_slab")),
    "minimum_baseline": Parameter("float", 20.0, "baseline counts needed to judge a channel",
                                  minimum=0),
    "significance": Parameter("float", 1e-6, "Poisson probability below which a channel may "
                                             "alarm", minimum=0),
    "histograms": Parameter("list[str]", [], "legend labels judged (default: all)"),
}


class _ChannelCheck(CheckBase):
    """Shared by the dead and hot checks: the baselines and the verdict."""

    baseline: str
    groups: int
    names: str
    minimum_baseline: float
    significance: float
    histograms: list[str]
    #: True for the dead check (too few), False for the hot check (too many).
    low = True

    def configure(self, where: str) -> None:
        if self.baseline == "partner" and self.groups % 2:
            raise self.bad(where, "groups", "an even number (pairs of PMT ends) for partner")
        if self.names == "plane_pmt_slab" and self.groups != 4:
            raise self.bad(where, "groups", "4 for names plane_pmt_slab")

    def thresholds(self) -> tuple[float, float]:
        raise NotImplementedError

    def judge(self, histograms: Histograms, reference: Histograms | None,
              context: Context) -> Quality:
        from scipy.stats import poisson

        medium, bad = self.thresholds()
        worst: tuple[float, str] | None = None
        judged = 0
        for name, histogram in histograms.items():
            if self.histograms and name not in self.histograms:
                continue
            counts = histogram.values().astype(np.float64).ravel()
            base = self._baselines(counts)
            ok = base >= self.minimum_baseline
            if not ok.any():
                continue
            judged += int(ok.sum())
            ratio = counts / np.maximum(base, 1e-12)
            # The probability of a count this far out, were the channel as good as its
            # baseline: only a significant departure may alarm.
            p = poisson.cdf(counts, base) if self.low else poisson.sf(counts - 1, base)
            score = np.where(ok & (p < self.significance), ratio, 1.0)
            # Channels that may not alarm still show the worst judged ratio when all is well.
            shown = np.where(ok, score if (score != 1.0).any() else ratio,
                             np.inf if self.low else -np.inf)
            c = int(np.argmin(shown) if self.low else np.argmax(shown))
            value = float(score[c])
            if worst is None or (value < worst[0] if self.low else value > worst[0]):
                worst = (value, f"{name} {self._channel(c, len(counts))}: "
                                f"{int(counts[c])} hits, baseline {base[c]:.0f}")
        if worst is None:
            return Quality(NULL, None, f"no channel has {self.minimum_baseline:g} baseline "
                                       "counts yet")
        ratio, where = worst
        if self.low:
            level = BAD if ratio < bad else MEDIUM if ratio < medium else GOOD
        else:
            level = BAD if ratio > bad else MEDIUM if ratio > medium else GOOD
        kind = "dead" if self.low else "hot"
        if level == GOOD:
            return Quality(GOOD, ratio, f"no {kind} channel among {judged}; "
                                        f"worst {where} ({self.baseline})")
        return Quality(level, ratio, f"{kind} channel {where} ({self.baseline})")

    def _baselines(self, counts: np.ndarray) -> np.ndarray:
        if self.baseline == "median":
            return np.full_like(counts, float(np.median(counts)) if len(counts) else 0.0)
        part = len(counts) // self.groups
        pairs = counts[:part * self.groups].reshape(self.groups // 2, 2, part)
        partners = pairs[:, ::-1, :].ravel()  # PMT 0's partner is PMT 1 and the reverse
        return np.concatenate([partners, np.zeros(len(counts) - len(partners))])

    def _channel(self, index: int, n: int) -> str:
        if self.names == "bin":
            return f"bin {index}"
        part = n // self.groups
        group, slab = divmod(index, part)
        return f"plane {group // 2} slab {slab} PMT {group % 2}"


def _limits(bad: str, bad_default: float, medium: str, medium_default: float,
            side: str) -> dict[str, Parameter]:
    """The two thresholds of a channel check: ratios to the baseline ``side`` which a channel
    is Bad, and Medium."""
    minimum = 0 if side == "below" else 1
    return {**_COMMON,
            bad: Parameter("float", bad_default, f"ratio to the baseline {side} which a "
                                                 "channel is Bad", minimum=minimum),
            medium: Parameter("float", medium_default, f"ratio {side} which it is Medium",
                              minimum=minimum)}


class CheckPyDeadChannels(_ChannelCheck):
    """A channel far below its baseline (a dead PMT, a lost cable)."""

    parameters = _limits("bad_fraction", 0.2, "medium_fraction", 0.5, "below")
    bad_fraction: float
    medium_fraction: float
    low = True

    def thresholds(self) -> tuple[float, float]:
        return self.medium_fraction, self.bad_fraction


class CheckPyHotChannels(_ChannelCheck):
    """A channel far above its baseline (a noisy PMT, a threshold set too low)."""

    parameters = _limits("bad_factor", 5.0, "medium_factor", 3.0, "above")
    bad_factor: float
    medium_factor: float
    low = False

    def thresholds(self) -> tuple[float, float]:
        return self.medium_factor, self.bad_factor
