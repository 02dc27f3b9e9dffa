"""The four quality levels and one check's verdict: what every check returns.

>>> worst([Quality(GOOD, 1.0, "ok"), Quality(NULL, None, "too few"), Quality(MEDIUM, 2.0, "hm")])
'Medium'
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GOOD, MEDIUM, BAD, NULL = "Good", "Medium", "Bad", "Null"
#: Every level, in the order the documents count them.
LEVELS = (GOOD, MEDIUM, BAD, NULL)
#: How bad each judged level is; Null ("cannot judge yet") is below them all, so it wins only
#: when nothing was judged.
SEVERITY = {NULL: -1, GOOD: 0, MEDIUM: 1, BAD: 2}


@dataclass(frozen=True)
class Quality:
    """One check's verdict on one plot: the level, the number that decided it (None when
    nothing could be measured) and a one-line reason a shifter can read."""

    level: str
    value: float | None
    reason: str
    check: str = ""

    def as_json(self) -> dict[str, Any]:
        """The entry of ``image.quality.checks`` (docs/quality.md)."""
        value = None if self.value is None else float(self.value)
        if value is not None and value != value:  # NaN is not JSON
            value = None
        return {"check": self.check, "level": self.level, "value": value, "reason": self.reason}


def worst(qualities: Iterable[Quality]) -> str:
    """The worst level of ``qualities``: Bad > Medium > Good; Null only when all are Null or
    there are none."""
    return worst_level(q.level for q in qualities)


def worst_level(levels: Iterable[str]) -> str:
    """The worst of ``levels`` (names), as :func:`worst` ranks them: what a plot's level is
    to its checks' is what a group's is to its plots' (outputters/quality_summary.py).

    >>> worst_level(["Good", "Null", "Medium"]), worst_level(["Null"]), worst_level([])
    ('Medium', 'Null', 'Null')
    """
    return max(levels, key=SEVERITY.__getitem__, default=NULL)


def graded(value: float, medium: float, bad: float, higher_is_worse: bool = True) -> str:
    """Good, Medium or Bad for ``value`` against the two thresholds (reached = that level)."""
    if not higher_is_worse:
        value, medium, bad = -value, -medium, -bad
    if value >= bad:
        return BAD
    return MEDIUM if value >= medium else GOOD
