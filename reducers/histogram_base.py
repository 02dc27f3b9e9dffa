"""The super-class of every histogram reducer: configuration, refresh, image documents, runs.

A histogram reducer consumes every spill of a run and produces image documents
(:mod:`reducers.image_document`): every ``refresh_rate`` physics spills, and always at the
run's ``end_of_run`` spill. A subclass fills four hooks and inherits the rest::

    class ReducePyMyPlot(ReducePyMatplotlibHistogram):
        def book(self):                # a new run: fresh, empty histograms
            self.time = bh.Histogram(bh.axis.Regular(200, 20.0, 40.0))
        def fill(self, spill):         # one physics spill: collect, then fill once per histogram
            self.time.fill([...])
        def plots(self):               # what to show now: one Plot per image tag
            return [Plot("my_time", "My time", "...", ("TOF",), {"all": self.time})]
        def draw(self, plot, canvas):  # optional: the back end draws histograms by itself
            ...

The back end (:class:`~reducers.matplotlib_histogram.ReducePyMatplotlibHistogram` or
:class:`~reducers.root_histogram.ReducePyROOTHistogram`) turns a :class:`Plot` into image bytes.
Configuration keys: ``histogram_image_type`` (png, svg, pdf, eps, jpg), ``refresh_rate``,
``histogram_auto_number``. An exception in ``fill`` or in drawing one plot is recorded in the
spill's ``errors`` under the reducer's name, and the run goes on.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, ClassVar

import boost_histogram as bh
import numpy as np

from maus_online.errors import ConfigurationError
from maus_online.modules import Config, ReduceBase, Spill, describe_error, record_error

from .image_document import IMAGE_TYPES, image_document
from .style import run_label


@dataclass(frozen=True)
class Mark:
    """A labelled vertical reference line, e.g. where the muon peak is expected."""

    position: float
    label: str


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


class ReducePyHistogram(ReduceBase):
    """Accumulates histograms over a run; produces image documents (abstract: no plots).

    Subclasses fill the hooks :meth:`configure`, :meth:`book`, :meth:`fill`, :meth:`plots`
    (and may override the back end's ``draw``); back ends implement :meth:`render`.
    """

    #: Image types the back end can write; a back end may narrow it.
    image_types: ClassVar[tuple[str, ...]] = IMAGE_TYPES

    def __init__(self) -> None:
        self.image_type = "png"
        self.refresh_rate = 1
        self.auto_number = False
        #: Refreshes since this instance was made: auto-numbered tags never repeat in a job.
        self.refreshes = 0
        self.run_number: Any = None
        self.spills_seen = 0
        self._rendered: dict[str, bytes] = {}
        self._rendered_at = -1

    # --- Hooks for subclasses ------------------------------------------------------------

    def configure(self, config: Config) -> None:
        """Read the subclass's own configuration keys (called by birth, before book)."""

    def book(self) -> None:
        """Make fresh, empty histograms (called at birth and at every new run)."""

    def fill(self, spill: Spill) -> None:
        """Fill the histograms from one physics spill."""

    def plots(self) -> list[Plot]:
        """The plots to emit now, one per image tag."""
        return []

    # --- Back-end hook ----------------------------------------------------------------------

    def render(self, plot: Plot, label: str) -> bytes:
        """The image file of ``plot`` in ``self.image_type``; ``label`` is the run note."""
        raise NotImplementedError(f"{self.module_name()} must implement render(plot, label)")

    # --- The life cycle ------------------------------------------------------------------

    def birth(self, config: Config) -> None:
        image_type = config["histogram_image_type"]
        if image_type not in self.image_types:
            raise ConfigurationError(
                f"configuration key 'histogram_image_type' is {image_type!r}, which "
                f"{self.module_name()} cannot write; use one of: {', '.join(self.image_types)}")
        self.image_type = image_type
        self.refresh_rate = config["refresh_rate"]
        self.auto_number = config["histogram_auto_number"]
        self.configure(config)
        self._reset(None)

    def process(self, spill: Spill) -> list[dict[str, Any]]:
        """Fill from a physics spill; return the image documents due now (often none)."""
        kind = spill.get("daq_event_type")
        run = spill.get("run_number")
        if kind == "start_of_run" or (isinstance(run, int) and run != self.run_number):
            self._reset(run)  # a new run starts from empty histograms, marker or not
        if kind == "physics_event":
            try:
                self.fill(spill)
            except Exception as exc:  # noqa: BLE001 - recorded in the spill, the run goes on
                record_error(spill, self.module_name(), describe_error(exc))
            self.spills_seen += 1
            if self.spills_seen % self.refresh_rate == 0:
                return self.emit(spill)
        elif kind == "end_of_run":
            return self.emit(spill)
        return []

    def emit(self, spill: Spill) -> list[dict[str, Any]]:
        """One image document per plot, stamped with ``spill``'s run and spill number."""
        self.refreshes += 1
        if self._rendered_at != self.spills_seen:
            # Nothing was filled since the last refresh (an end_of_run right after one):
            # the images would be the same, so they are reused rather than drawn again.
            self._rendered, self._rendered_at = {}, self.spills_seen
        label = run_label(self.run_number, self.spills_seen)
        documents = []
        for plot in self.plots():
            try:
                data = self._rendered.get(plot.tag)
                if data is None:
                    data = self._rendered[plot.tag] = self.render(plot, label)
            except Exception as exc:  # noqa: BLE001 - one bad plot must not hide the others
                record_error(spill, self.module_name(),
                             f"cannot draw {plot.tag}: {describe_error(exc)}")
                continue
            tag = f"{plot.tag}_{self.refreshes:06d}" if self.auto_number else plot.tag
            documents.append(image_document(
                tag=tag, image_type=self.image_type, data=data, description=plot.description,
                keywords=plot.keywords, run_number=self.run_number,
                spill_number=spill.get("spill_number"), spills_seen=self.spills_seen,
                histograms=plot.histograms))
        return documents

    def _reset(self, run: Any) -> None:
        self.run_number = run
        self.spills_seen = 0
        self._rendered, self._rendered_at = {}, -1
        self.book()
