"""CheckPyErrorRate: the fraction of spills whose ``errors`` name a module.

Consumes the merge side's count of physics spills with errors by module (ReducePyHistogram
counts them as every spill passes, and hands them to the checks in the
:class:`~maus_online.checks.base.Context`), not the histograms; produces the worst fraction
over the modules matching ``modules`` (glob patterns of module names): Medium at ``medium``,
Bad at ``bad``. Null before ``minimum_spills`` spills.
"""
from __future__ import annotations

from fnmatch import fnmatchcase

from .base import CheckBase, Context, Histograms, Parameter
from .levels import NULL, Quality, graded


class CheckPyErrorRate(CheckBase):
    """The fraction of spills with errors in ``modules``."""

    parameters = {
        "modules": Parameter("list[str]", ["*"], "module names (glob patterns) counted"),
        "medium": Parameter("float", 0.01, "fraction of spills that is Medium", minimum=0),
        "bad": Parameter("float", 0.05, "fraction of spills that is Bad", minimum=0),
        "minimum_spills": Parameter("int", 10, "spills needed to judge", minimum=1),
    }
    modules: list[str]
    medium: float
    bad: float
    minimum_spills: int

    def judge(self, histograms: Histograms, reference: Histograms | None,
              context: Context) -> Quality:
        spills = context.spills
        if spills < self.minimum_spills:
            return Quality(NULL, None, f"{spills} spills, {self.minimum_spills} needed")
        counts = {module: n for module, n in context.error_spills.items()
                  if any(fnmatchcase(module, pattern) for pattern in self.modules)}
        module, n = max(counts.items(), key=lambda item: item[1], default=("no module", 0))
        fraction = n / spills
        return Quality(graded(fraction, self.medium, self.bad), fraction,
                       f"{n} of {spills} spills with errors in {module} ({fraction:.1%})")
