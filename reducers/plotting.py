"""The plotting helpers of a histogram reducer: the public API a plug-in author builds on.

Everything here is documented with its signature in docs/histograms.md ("The plotting API"),
and the tests hold the two together. A reducer describes what to show with :class:`Plot`
(and :class:`Mark`); the back end (matplotlib or ROOT) draws it in the house style::

    from reducers.plotting import Mark, Plot, PARTICLE_LABELS, per_bin, regular_axis

    time = bh.Histogram(regular_axis(200, 20.0, 40.0, "Time of flight [ns]"),
                        storage=bh.storage.Int64())
    Plot("my_time", "My time", "What it shows.", ("TOF",), {"Triggers": time},
         y_label=per_bin("Triggers", time.axes[0], "ns"),
         marks=[Mark(28.3, PARTICLE_LABELS["mu+"])])
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import boost_histogram as bh
import numpy as np

__all__ = ["PARTICLE_LABELS", "BinIndex", "Mark", "Plot", "Reference", "empty_note",
           "integer_axis", "per_bin", "regular_axis"]

#: Plot labels of the PID hypotheses (matplotlib shows them as is; ROOT translates them).
PARTICLE_LABELS: dict[str, str] = {"e+": "e⁺", "mu+": "μ⁺", "pi+": "π⁺"}


@dataclass(frozen=True)
class Mark:
    """A labelled vertical reference line, e.g. where the muon peak is expected."""

    position: float
    label: str


@dataclass(frozen=True)
class Reference:
    """The same plot of the reference run (``reference_run``): its histograms by legend label,
    in the current plot's order, as archived (raw counts: the back ends scale them to the
    current entries when they draw them, see :mod:`reducers.reference`)."""

    run_number: int | None
    histograms: Mapping[str, bh.Histogram]


@dataclass
class Plot:
    """One image: its tag (the file name), texts, and the histograms it shows.

    ``histograms`` maps legend labels to 1D histograms drawn on one frame, in order, or holds
    a single 2D histogram drawn as a colour map. Axis titles come from the histograms' axis
    labels (``axis.label = "Time of flight [ns]"``); ``y_label`` names what the bins count.
    """

    tag: str
    title: str
    description: str
    keywords: Sequence[str]
    histograms: Mapping[str, bh.Histogram]
    y_label: str = "Entries"
    marks: Sequence[Mark] = ()
    #: Tick labels of the x axis, {position: text}, for axes whose numbers mean little alone.
    x_ticks: Mapping[float, str] = field(default_factory=dict)
    #: Expected peak positions by PID hypothesis ({"mu+": 28.3, ...}): the summary fits them.
    peaks: Mapping[str, float] = field(default_factory=dict)
    #: The reference run's plot, drawn as dashed outlines; set by the reducer's base class.
    reference: Reference | None = None

    @property
    def is_2d(self) -> bool:
        return any(h.ndim == 2 for h in self.histograms.values())


def empty_note(plot: Plot) -> str:
    """What to write across a plot with nothing to show, or "" when it has something."""
    if any(h.sum() for h in plot.histograms.values()):
        return ""
    if any(h.sum(flow=True) for h in plot.histograms.values()):
        return "All entries outside the axis range"
    return "No entries yet"


def per_bin(noun: str, axis: bh.axis.Axis, unit: str = "") -> str:
    """A y-axis title naming the bin width: ``per_bin("Triggers", axis, "ns")`` gives
    ``"Triggers / 0.1 ns"``; integer axes give the noun alone."""
    if isinstance(axis, bh.axis.Integer) or not len(axis):
        return noun
    # Six significant digits hide the rounding of the edges (0.10000000000000142 -> 0.1).
    return f"{noun} / {float(axis.widths[0]):g} {unit}".rstrip()


class BinIndex:
    """Keys (channel keys, ...) -> bin coordinates of one histogram, to fill it from counts.

    Counting hits by key in C (``Counter(map(itemgetter("tof_key"), hits))``) and filling
    once per distinct key costs a fraction of reading every hit's coordinates:

    >>> from collections import Counter
    >>> h = bh.Histogram(bh.axis.Integer(0, 2), bh.axis.Integer(0, 10))
    >>> index = BinIndex({"TOF0 slab 3": (0, 3), "TOF1 slab 4": (1, 4)})
    >>> index.fill(h, Counter({"TOF0 slab 3": 5, "nowhere": 1}))
    ['nowhere']
    >>> int(h[0, 3])
    5
    """

    def __init__(self, coordinates: Mapping[Any, tuple[int, ...]]) -> None:
        self.slots = {key: n for n, key in enumerate(coordinates)}
        self.table = np.array(list(coordinates.values()), dtype=np.int64)

    def fill(self, histogram: bh.Histogram, counts: Mapping[Any, int]) -> list[Any]:
        """Fill ``histogram`` once, weighted by ``counts``; return the keys not indexed."""
        slots = np.fromiter(map(self.slots.get, counts, repeat(-1)), np.int64, len(counts))
        weights = np.fromiter(counts.values(), np.int64, len(counts))
        known = slots >= 0
        if known.any():
            histogram.fill(*self.table[slots[known]].T, weight=weights[known])
        if known.all():
            return []
        return [key for key, slot in zip(counts, slots) if slot < 0]


def integer_axis(n: int, label: str) -> bh.axis.Integer:
    """Bins 0 ... n-1 (slabs, channels, counts), titled ``label``."""
    axis = bh.axis.Integer(0, n)
    axis.label = label
    return axis


def regular_axis(bins: int, low: float, high: float, label: str) -> bh.axis.Regular:
    """``bins`` equal bins from ``low`` to ``high``, titled ``label`` (with its unit)."""
    axis = bh.axis.Regular(bins, low, high)
    axis.label = label
    return axis
