"""CheckPyMinimumEntries: a plot with too few entries once the run is under way.

Consumes the plot's first histogram (its entries, flow bins included, as its summary counts
them); produces Good at ``minimum`` entries or more, Null ("cannot judge yet") before
``within_spills`` spills, Bad after: a station that is off, or a cut that throws away every
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
        if context.spills_seen < self.within_spills:
            return Quality(NULL, n, f"{n} entries after {context.spills_seen} spills; judged "
                                    f"from spill {self.within_spills}")
        return Quality(BAD, n, f"only {n} entries after {context.spills_seen} spills, "
                               f"{self.minimum} needed")
