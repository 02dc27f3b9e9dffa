"""CheckPyMinimumEntries: a plot with too few entries once the run is under way.

Consumes the plot's first histogram (its entries, flow bins included, as its summary counts
them); produces Good at ``minimum`` entries or more, Null ("cannot judge yet") before
``within_spills`` physics spills (filled or not), Bad after: a station that is off, or a cut that throws away every
trigger, shows here first.
"""
from __future__ import annotations

from .base import CheckBase, Context, Histograms, Parameter, entries
from .levels import BAD, GOOD, NULL, Quality


class CheckPyMinimumEntries(CheckBase):
    """At least ``minimum`` entries after ``within_spills`` physics spills."""

    parameters = {
        "minimum": Parameter("int", None, "entries the plot needs", minimum=1),
        "within_spills": Parameter("int", 10, "spills after which too few entries is Bad",
                                   minimum=1),
    }
    minimum: int
    within_spills: int

    def judge(self, histograms: Histograms, reference: Histograms | None,
              context: Context) -> Quality:
        n = entries(histograms)
        if n >= self.minimum:
            return Quality(GOOD, n, f"{n} entries, at least {self.minimum} needed")
        # Spills seen, filled or not: a fill part that fails on every spill is no reason to
        # wait for ever.
        spills = max(context.spills, context.spills_seen)
        if spills < self.within_spills:
            return Quality(NULL, n, f"{n} entries after {spills} spills; judged from spill "
                                    f"{self.within_spills}")
        return Quality(BAD, n, f"only {n} entries after {spills} spills, {self.minimum} needed")
