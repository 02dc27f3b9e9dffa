"""The super-class of every histogram reducer: configuration, the split, refreshes, drawing.

A histogram reducer consumes every spill of a run and produces image documents
(:mod:`reducers.image_document`): every ``refresh_rate`` filled physics spills, and always at
the run's ``end_of_run`` spill. A subclass fills a few hooks and inherits the rest::

    class ReducePyMyPlot(ReducePyMatplotlibHistogram):
        spill_fields = ("recon_events",)   # what fill reads of a spill
        def book(self):                    # fresh, empty histograms (int64 storage)
            self.time = bh.Histogram(regular_axis(200, 20.0, 40.0, "t [ns]"),
                                     storage=bh.storage.Int64())
        def histograms(self):              # the histograms fill changes, by name
            return {"time": self.time}
        def fill(self, spill):             # one physics spill: collect, then fill once
            self.time.fill([...])
        def plots(self):                   # what to show now: one Plot per image tag
            return [Plot("my_time", "My time", "...", ("TOF",), {"all": self.time})]
        def draw(self, plot, canvas):      # optional: the back end draws by itself
            ...

**The split** (DESIGN §7a): a subclass that names its histograms in :meth:`histograms` has its
:meth:`fill` run on the spill side -- in the worker sub-process right after the transform
chain, or in go.py's loop for ``pipeline_single_thread`` -- into freshly booked histograms, and
sends them as a partial (:mod:`reducers.partial_histograms`, a few kB); the merge side only
adds the partials, in spill order, into the run's histograms. One that does not name them
fills from whole spills on the merge side, as before. The bins are the same either way.

**Drawing** runs off the merge path (``histogram_drawing = "process"``, the default): each
refresh is a snapshot handed to :mod:`reducers.drawing`, and its image documents come back
through :meth:`collect`; when drawing falls behind, the latest state is drawn and the refreshes
in between are skipped, but the end of a run is always drawn. ``"inline"`` draws in
:meth:`process`, every refresh, and returns the documents at once.

Configuration keys: ``histogram_image_type`` (png, svg, pdf, eps, jpg), ``refresh_rate``,
``histogram_auto_number``, ``histogram_drawing``. An exception in ``fill`` or in drawing one
plot is recorded under the reducer's name, and the run goes on.
"""
from __future__ import annotations

import base64
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import boost_histogram as bh

from maus_online.checks.base import Context
from maus_online.checks.config import quality_checks
from maus_online.checks.judge import Judge
from maus_online.errors import ConfigurationError
from maus_online.modules import (PARTIALS, Collected, Config, ReduceBase, Spill, describe_error,
                                 record_error)
from maus_online.spill import END_OF_RUN, PHYSICS_EVENT

from .drawing import DONE, FAILED, SKIPPED, Drawing, DrawingService, drawing_service, plot_json
from .image_document import IMAGE_TYPES, image_document_json, utc_now
from .partial_histograms import (PartialError, add_partial, binning_digest, encode_partial,
                                 flow_views)
# The plotting API, importable from here as before (reducers.plotting is its home).
from .plotting import (BinIndex, Mark, Plot, Reference, empty_note,  # noqa: F401
                       integer_axis, per_bin, regular_axis)
from .reference import load_references, reference_directory
from .style import run_label
from .summaries import SummaryHistory, plot_summary

@dataclass
class _Refresh:
    """One refresh: the numbers its documents carry, and the drawing of its plots (one drawing
    may serve two refreshes: an end of run right after a refresh draws nothing new)."""

    stamp: dict[str, Any]
    drawing: Drawing
    #: Each plot's summary numbers and their history up to this refresh, by tag.
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Each plot's ``image.quality`` at this refresh, by tag (maus_online.checks).
    qualities: dict[str, dict[str, Any]] = field(default_factory=dict)


class ReducePyHistogram(ReduceBase):
    """Accumulates histograms over a run; produces image documents (abstract: no plots).

    Subclasses fill the hooks :meth:`configure`, :meth:`book`, :meth:`histograms`,
    :meth:`fill`, :meth:`plots` (and may override the back end's ``draw``); back ends
    implement :meth:`render`.
    """

    #: Image types the back end can write; a back end may narrow it.
    image_types: ClassVar[tuple[str, ...]] = IMAGE_TYPES

    def __init__(self) -> None:
        self.image_type = "png"
        self.refresh_rate = 1
        self.auto_number = False
        self.drawing_mode = "inline"
        #: Refreshes since this instance was made: auto-numbered tags never repeat in a job.
        self.refreshes = 0
        self.run_number: Any = None
        #: Physics spills whose contents are in the histograms (a spill whose fill failed, or
        #: that had no partial, is not counted).
        self.spills_seen = 0
        self._config: Config = {}
        self._binning = ""
        #: Views of the booked histograms' bins (partial_histograms.flow_views), made at birth.
        self._views: dict[str, Any] = {}
        self._pending: deque[_Refresh] = deque()
        self._last: _Refresh | None = None
        #: A refresh fell due while the drawing process was behind: the latest state is
        #: snapshot once it is free.
        self._owed = False
        self._last_spill_number: Any = None
        #: The reference run's plots by tag (``reference_run``), loaded by the merge part.
        self._references: dict[str, Reference] = {}
        self._history = SummaryHistory()
        #: The quality checks of this reducer's plots, and what they need beside the
        #: histograms: the tags booked, the physics spills seen, the spills with errors by
        #: module (counted here, where every spill passes: the workers send nothing more).
        self._judge: Judge | None = None
        self._tags: list[str] = []
        self._physics_spills = 0
        self._error_spills: Counter[str] = Counter()

    # --- Hooks for subclasses ------------------------------------------------------------

    def configure(self, config: Config) -> None:
        """Read the subclass's own configuration keys (called by birth, before book)."""

    def book(self) -> None:
        """Make fresh, empty histograms (called at birth, on both sides of the split)."""

    def histograms(self) -> Mapping[str, bh.Histogram]:
        """The histograms :meth:`fill` changes, by name: what a partial carries. A subclass
        that implements this splits its work (module docstring); integer storage
        (``bh.storage.Int64()``) keeps the sums exact."""
        raise NotImplementedError

    def fill(self, spill: Spill) -> None:
        """Fill the histograms from one physics spill."""

    def plots(self) -> list[Plot]:
        """The plots to emit now, one per image tag."""
        return []

    # --- Back-end hook ----------------------------------------------------------------------

    def render(self, plot: Plot, label: str) -> bytes:
        """The image file of ``plot`` in ``self.image_type``; ``label`` is the run note."""
        raise NotImplementedError(f"{self.module_name()} must implement render(plot, label)")

    # --- The fill part (spill side) ---------------------------------------------------------

    @classmethod
    def splits(cls) -> bool:
        return cls.histograms is not ReducePyHistogram.histograms

    def birth_fill(self, config: Config) -> None:
        self.configure(config)
        self._book_split()

    def fill_partial(self, spill: Spill) -> dict[str, Any]:
        for view in self._views.values():
            view[...] = 0  # the fill part keeps nothing from one spill to the next
        self.fill(spill)
        return encode_partial(self._views, self._binning)

    def _book_split(self) -> None:
        self.book()
        histograms = self.histograms()
        self._binning, self._views = binning_digest(histograms), flow_views(histograms)

    # --- The merge part ------------------------------------------------------------------

    def birth(self, config: Config) -> None:
        image_type = config["histogram_image_type"]
        if image_type not in self.image_types:
            raise ConfigurationError(
                f"configuration key 'histogram_image_type' is {image_type!r}, which "
                f"{self.module_name()} cannot write; use one of: {', '.join(self.image_types)}")
        self.image_type = image_type
        self.refresh_rate = config["refresh_rate"]
        self.auto_number = config["histogram_auto_number"]
        self.drawing_mode = config["histogram_drawing"]
        self._config = config
        self.configure(config)
        if self.splits():
            self._book_split()
        else:
            self.book()
        self.run_number, self.spills_seen = None, 0
        # The merge part only: the fill part never draws. Loaded once per birth (per run),
        # so a reference archived anew between two runs is the one the next run shows.
        booked = self.plots()
        self._references = load_references(config, self.module_name(), booked) \
            if reference_directory(config) is not None else {}
        # The tags the quality-checks file's patterns must match: the class's plots (an
        # instance may be told to draw fewer, as the contract tests do; the file is about
        # what the reducer makes, not what one instance draws).
        self._tags = [plot.tag for plot in type(self).plots(self)]
        self._judge = Judge(quality_checks(config), self.module_name())
        self._physics_spills, self._error_spills = 0, Counter()
        self._history = SummaryHistory()
        self._pending.clear()
        self._last, self._owed, self._last_spill_number = None, False, None

    def process(self, spill: Spill) -> list[dict[str, Any]]:
        """Add a physics spill; return the image documents drawn now (``inline`` drawing)."""
        if self.run_number is None:  # born for this run: its first spill names it
            self.run_number = spill.get("run_number")
        kind = spill.get("daq_event_type")
        if kind == PHYSICS_EVENT:
            taken = self._take(spill)
            self._count_errors(spill)
            if taken:
                self.spills_seen += 1
                self._last_spill_number = spill.get("spill_number")
                if self.spills_seen % self.refresh_rate == 0:
                    return self._refresh(spill, final=False)
        elif kind == END_OF_RUN:
            return self._refresh(spill, final=True)
        return []

    def plot_tags(self) -> list[str]:
        return list(self._tags)

    def _count_errors(self, spill: Spill) -> None:
        """Count the physics spill against each module its ``errors`` name (the error-rate
        check's numbers)."""
        self._physics_spills += 1
        errors = spill.get("errors")
        if isinstance(errors, Mapping):
            self._error_spills.update(module for module, messages in errors.items() if messages)

    def collect(self, wait: bool = False) -> Collected:
        """Documents of the refreshes drawn since the last call, in refresh order; a refresh
        owed while the drawing process was behind is snapshot now, if it is free."""
        if self._owed and not drawing_service().has_waiting(self.module_name()):
            self._owed = False
            self._pending.append(self._snapshot(self._last_spill_number, final=False))
        collected = Collected()
        while self._pending:
            refresh = self._pending[0]
            if not refresh.drawing.finished:
                if not wait:
                    break
                drawing_service().wait(refresh.drawing)
            self._pending.popleft()
            self._documents(refresh, collected)
        return collected

    def death(self) -> None:
        # The merge side collects before death; whatever is left (an aborted run) is dropped.
        self._pending.clear()
        self._last = None

    def _take(self, spill: Spill) -> bool:
        """Add ``spill`` to the run's histograms -- its partial, or the spill itself for a
        reducer that does not split; False when nothing of it could be added."""
        name = self.module_name()
        if not self.splits():
            try:
                self.fill(spill)
            except Exception as exc:  # noqa: BLE001 - recorded in the spill, the run goes on
                record_error(spill, name, describe_error(exc))
                return False
            return True
        partials = spill.get(PARTIALS)
        if not isinstance(partials, Mapping) or name not in partials:
            # A spill the input could not read, or no worker could transform, was never
            # filled, and its errors say why; anything else lacks the fill part.
            if isinstance(partials, Mapping) or not spill.get("errors"):
                record_error(spill, name, missing_partial(name))
            return False
        if partials[name] is None:  # the fill part failed: its reason is in the errors
            return False
        try:
            add_partial(self._views, partials[name], self._binning)
        except PartialError as exc:
            record_error(spill, name, f"{type(exc).__name__}: {exc}")
            return False
        return True

    def _refresh(self, spill: Spill, final: bool) -> list[dict[str, Any]]:
        """A refresh is due at ``spill``: snapshot the plots for the drawing process (inline:
        draw them now and return the documents)."""
        process = self.drawing_mode == "process"
        if process and not final and drawing_service().has_waiting(self.module_name()):
            # The drawing process is behind: a snapshot now would only be replaced. The
            # latest state is drawn once it is free (collect); the end is always drawn.
            self._owed = True
            return []
        self._owed = False
        self._pending.append(self._snapshot(spill.get("spill_number"), final))
        if process:
            return []
        collected = self.collect()
        for error in collected.errors:
            record_error(spill, self.module_name(), error)
        return collected.documents

    def _snapshot(self, spill_number: Any, final: bool) -> _Refresh:
        """The refresh of the histograms as they are now, stamped with ``spill_number``."""
        self.refreshes += 1
        stamp = {"run_number": self.run_number, "spill_number": spill_number,
                 "spills_seen": self.spills_seen, "time": utc_now(),
                 "suffix": f"_{self.refreshes:06d}" if self.auto_number else ""}
        last = self._last
        if last is not None and last.stamp["spills_seen"] == self.spills_seen \
                and last.drawing.state != SKIPPED:
            # Nothing was added since the last refresh (an end_of_run right after one): the
            # images would be the same, so that drawing serves this refresh too.
            refresh = _Refresh(stamp, last.drawing, last.summaries, qualities=last.qualities)
            if final and self.drawing_mode == "process":
                drawing_service().pin(refresh.drawing)
        else:
            plots = [replace(plot, reference=self._references[plot.tag])
                     if plot.tag in self._references else plot for plot in self.plots()]
            refresh = _Refresh(stamp, self._draw(plots, final),
                               {plot.tag: plot_summary(plot) for plot in plots},
                               qualities=self._qualities(plots))
        refresh.histories = {tag: self._history.add(tag, self.spills_seen, stamp["time"], summary)
                             for tag, summary in refresh.summaries.items()}
        self._last = refresh
        return refresh

    def _qualities(self, plots: list[Plot]) -> dict[str, dict[str, Any]]:
        """Each plot's ``image.quality``: its checks run here, on the merged histograms."""
        if self._judge is None:
            return {}
        errors = dict(self._error_spills)
        return {plot.tag: self._judge.quality(
            plot.tag, plot.histograms, plot.reference.histograms if plot.reference else None,
            Context(plot.tag, self.spills_seen, self._physics_spills, errors, plot.peaks))
            for plot in plots}

    def _draw(self, plots: list[Plot], final: bool) -> Drawing:
        label = run_label(self.run_number, self.spills_seen)
        request = {"reducer": self.module_name(), "config": dict(self._config), "label": label,
                   "plots": [plot_json(plot) for plot in plots]}
        if self.drawing_mode == "process":
            return drawing_service().submit(self.module_name(), self.run_number, request,
                                            pinned=final)
        drawing = Drawing(self.module_name(), self.run_number, request, state=DONE)
        for plot in plots:
            try:
                drawing.images[plot.tag] = base64.b64encode(self.render(plot, label)).decode()
            except Exception as exc:  # noqa: BLE001 - one bad plot must not hide the others
                drawing.errors[plot.tag] = describe_error(exc)
        return drawing

    def _documents(self, refresh: _Refresh, collected: Collected) -> None:
        drawing, stamp = refresh.drawing, refresh.stamp
        if drawing.state == SKIPPED:
            return
        if drawing.state == FAILED:
            collected.errors.append(f"cannot draw the refresh at spill {stamp['spill_number']}:"
                                    f" {drawing.reason}")
            return
        for plot in drawing.request["plots"]:
            tag = plot["tag"]
            if tag in drawing.errors:
                collected.errors.append(f"cannot draw {tag}: {drawing.errors[tag]}")
                continue
            collected.documents.append(image_document_json(
                tag=tag + stamp["suffix"], image_type=self.image_type, data=drawing.images[tag],
                description=plot["description"], keywords=plot["keywords"],
                run_number=stamp["run_number"], spill_number=stamp["spill_number"],
                spills_seen=stamp["spills_seen"], histograms=plot["histograms"],
                time=stamp["time"], reference=plot.get("reference"),
                summary=refresh.summaries.get(tag), summary_history=refresh.histories.get(tag),
                quality=refresh.qualities.get(tag)))


def missing_partial(name: str) -> str:
    """The error of a spill that reached the merge side without ``name``'s partial."""
    return (f"no partial histograms of {name} in this spill: its fill part did not run on the "
            f"spill side (name {name} in the reducers of the input-transform's configuration)")


__all__ = ["DrawingService", "ReducePyHistogram", "missing_partial"]
