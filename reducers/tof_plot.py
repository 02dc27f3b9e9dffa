"""ReducePyTOFPlot: the time-of-flight plots TOF experts know, drawn by matplotlib.

Consumes ``recon_events[i].tof_event`` of physics spills (``tof_digits``, ``tof_slab_hits``,
``tof_space_points``, ``time_of_flight``; docs/spill_format.md). Produces 15 images:

=====================================  ====================================================
``tof_hit_x``, ``tof_hit_y``           slab hits per slab of plane 0 (x) / plane 1 (y)
``tof_pmt00`` ... ``tof_pmt11``        PMT hits (digits) per slab, plane P and PMT M
``tof_nsp``                            space points per trigger
``tof_sp_x``, ``tof_sp_y``             space points per slab x / slab y
``tof_xy_0``, ``tof_xy_1``, ``tof_xy_2``  space-point positions (slab centres, mm) per station
``tof_time_01``, ``tof_time_12``,      time of flight between two stations, filled when both
``tof_time_02``                        have exactly one space point; expected e+, mu+, pi+
                                       times marked (TOF0->1: 20-40 ns in 200 bins)
=====================================  ====================================================

Each 1D plot overlays TOF0, TOF1 and TOF2 in the same three colours. Spills without
reconstruction fill nothing (raw-data plots are ReducePyHistogramTDCADCCounts's).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import boost_histogram as bh

from maus_online.modules import Config, Spill, record_error
from maus_online.tof.detector import Geometry, load_cabling, load_geometry
from maus_online.tof.particles import SPECIES, expected_time_of_flight

from .matplotlib_histogram import ReducePyMatplotlibHistogram
from .plotting import (PARTICLE_LABELS, BinIndex, Mark, Plot, integer_axis, per_bin,
                       regular_axis)

#: Space points per trigger: 0 ... 4 have their own bin, more go to the overflow.
MAX_SPACE_POINTS = 5
#: (spill key, upstream, downstream, tag suffix, bins, low, high) of the time-of-flight plots.
TIME_PAIRS = (("tof01", 0, 1, "01", 200, 20.0, 40.0),
              ("tof12", 1, 2, "12", 200, 20.0, 40.0),
              ("tof02", 0, 2, "02", 250, 45.0, 70.0))

_TOF_EVENT = itemgetter("tof_event")
_TOF_KEY = itemgetter("tof_key")
_PMT0 = itemgetter("pmt0")
_PIXEL = itemgetter("station", "slabX", "slabY")


def tof_events(spill: Spill) -> list[dict[str, Any]]:
    """The ``tof_event`` objects of a spill's reconstructed events (none without recon).

    A recon event without a ``tof_event``, or with ``null`` there, is left out: files from
    an earlier stage of MAUS's chain hold such events. Anything else that is not an object
    is malformed, and the ``TypeError`` it raises is recorded in the spill.
    """
    events = spill.get("recon_events") or ()
    try:
        found = list(map(_TOF_EVENT, events))
    except (KeyError, TypeError):  # events without TOF reconstruction: legal, the slower way
        found = [e.get("tof_event") for e in events]
    return [event for event in found if event is not None]


def sections(events: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    """The non-empty ``name`` objects (``tof_digits``, ...) of the events that have one.

    A partial reconstruction (only digits, only slab hits: earlier stages of MAUS's chain)
    has the other sections absent or ``null``; those events simply contribute nothing.
    """
    try:
        found = list(map(itemgetter(name), events))
    except KeyError:  # a partial reconstruction: keep the events that have it
        found = [e.get(name) for e in events]
    return [s for s in found if s]


def every_item(by_station: Iterable[Mapping[str, Any]]) -> Iterator[Any]:
    """Every item of every station's list in ``by_station`` objects, walked in C: ``map`` and
    ``chain`` go through ~2,400 digits per spill several times quicker than a Python loop. A
    station whose list is ``null`` (MAUS writes that for a station without hits) has none."""
    return chain.from_iterable(filter(None, chain.from_iterable(map(dict.values, by_station))))


def per_trigger(by_station: Sequence[Mapping[str, Any]], detector: str) -> Counter:
    """Counter of the lengths of ``detector``'s lists (space points per trigger); a list that
    is absent or ``null`` counts as none."""
    try:
        return Counter(map(len, map(itemgetter(detector), by_station)))
    except (KeyError, TypeError):
        return Counter(len(station.get(detector) or ()) for station in by_station)


class TimeOfFlight:
    """The three time-of-flight histograms, shared by ReducePyTOFPlot and ReducePyTOFTimeROOT.

    Consumes ``tof_event.time_of_flight`` objects; produces the ``tof_time_*`` plots with the
    expected e+, mu+ and pi+ times at ``tof_pid_reference_momentum`` marked.
    """

    def __init__(self, geometry: Geometry, momentum: float) -> None:
        self.momentum = momentum
        #: The expected time (ns) of each PID hypothesis, by spill key: marked, and fitted
        #: by the plot's summary (reducers.summaries).
        self.expected = {key: {name: expected_time_of_flight(geometry.distance(up, down),
                                                             momentum, s.mass)
                               for name, s in SPECIES.items()}
                         for key, up, down, *_ in TIME_PAIRS}
        self.marks = {key: tuple(Mark(time, PARTICLE_LABELS[name])
                                 for name, time in times.items())
                      for key, times in self.expected.items()}
        self.histograms: dict[str, bh.Histogram] = {}

    def book(self) -> None:
        self.histograms = {key: bh.Histogram(
            regular_axis(bins, low, high, f"t(TOF{down}) − t(TOF{up}) [ns]"),
            storage=bh.storage.Int64()) for key, up, down, _, bins, low, high in TIME_PAIRS}

    def fill(self, events: Sequence[Mapping[str, Any]]) -> None:
        times = sections(events, "time_of_flight")
        for key, histogram in self.histograms.items():
            histogram.fill([t[key] for t in times if t.get(key) is not None])

    def plots(self, tag_suffix: str = "") -> list[Plot]:
        plots = []
        for key, up, down, suffix, *_ in TIME_PAIRS:
            histogram = self.histograms[key]
            plots.append(Plot(
                f"tof_time_{suffix}{tag_suffix}", f"Time of flight TOF{up} → TOF{down}",
                f"Time of flight from TOF{up} to TOF{down}, of the triggers with exactly one "
                f"space point in each of the two stations. Dashed lines: the times expected "
                f"for e+, mu+ and pi+ at {self.momentum:g} MeV/c; the three peaks separate "
                "the beam's particles.",
                ("TOF", f"TOF{up}", f"TOF{down}", "time of flight", "PID"),
                {"Triggers": histogram}, y_label=per_bin("Triggers", histogram.axes[0], "ns"),
                marks=self.marks[key], peaks=self.expected[key]))
        return plots


class ReducePyTOFPlot(ReducePyMatplotlibHistogram):
    """Slab hits, PMT hits, space points and times of flight of the TOF stations; 15 images."""

    spill_fields = ("recon_events",)

    def configure(self, config: Config) -> None:
        geometry = load_geometry(config["tof_geometry_file"])
        self.stations = geometry.stations
        cabling = load_cabling(config["tof_cabling_file"])
        # Key -> (station, bin coordinates): digits are counted by tof_key, slab hits by the
        # tof_key of their PMT 0 (shared strings, hashed once), space points by (station,
        # slab x, slab y); a key missing here (a slab the geometry does not have) is
        # reported, not plotted.
        self.pmt_index = BinIndex({c.tof_key: (c.station, c.plane, c.pmt, c.slab)
                                   for c in cabling.channels})
        self.slab_index = BinIndex({c.tof_key: (c.station, c.plane, c.slab)
                                    for c in cabling.channels if c.pmt == 0})
        self.pixel_index = BinIndex({(st.number, x, y): (st.number, x, y) for st in self.stations
                                     for x in range(st.n_slabs) for y in range(st.n_slabs)})
        self.time = TimeOfFlight(geometry, config["tof_pid_reference_momentum"])

    def book(self) -> None:
        # One histogram per quantity with the station as first axis, so that a spill fills
        # each once; the plots take one station's slice (its own number of slabs).
        int64 = bh.storage.Int64()
        station = integer_axis(len(self.stations), "Station")
        n = max(s.n_slabs for s in self.stations)
        plane, pmt, slab = integer_axis(2, "Plane"), integer_axis(2, "PMT"), integer_axis(n, "Slab")
        self.slab_hits = bh.Histogram(station, plane, slab, storage=int64)
        self.pmt_hits = bh.Histogram(station, plane, pmt, slab, storage=int64)
        self.n_points = bh.Histogram(station, integer_axis(
            MAX_SPACE_POINTS, "Space points per trigger"), storage=int64)
        self.pixels = bh.Histogram(station, integer_axis(n, "Slab x (plane 0)"),
                                   integer_axis(n, "Slab y (plane 1)"), storage=int64)
        self.time.book()

    def histograms(self) -> dict[str, bh.Histogram]:
        return {"slab_hits": self.slab_hits, "pmt_hits": self.pmt_hits,
                "n_points": self.n_points, "pixels": self.pixels,
                **{f"time_{key}": h for key, h in self.time.histograms.items()}}

    def fill(self, spill: Spill) -> None:
        events = tof_events(spill)
        if not events:
            return
        points = sections(events, "tof_space_points")
        unknown = self.pmt_index.fill(self.pmt_hits, Counter(map(
            _TOF_KEY, every_item(sections(events, "tof_digits")))))
        unknown += self.slab_index.fill(self.slab_hits, Counter(map(_TOF_KEY, map(
            _PMT0, every_item(sections(events, "tof_slab_hits"))))))
        unknown += self.pixel_index.fill(self.pixels, Counter(map(_PIXEL, every_item(points))))
        multiplicity = [(s, n, count) for s, station in enumerate(self.stations)
                        for n, count in per_trigger(points, station.detector).items()]
        if multiplicity:
            station, n, count = zip(*multiplicity)
            self.n_points.fill(station, n, weight=count)
        self.time.fill(events)
        if unknown:
            record_error(spill, self.module_name(),
                         f"{len(unknown)} TOF keys not in the cabling map or the geometry, "
                         f"not plotted: {', '.join(map(str, sorted(unknown)[:5]))}")

    def plots(self) -> list[Plot]:
        plots = []
        for plane, axis in ((0, "x"), (1, "y")):
            plots.append(Plot(
                f"tof_hit_{axis}", f"Slab hits, plane {plane} ({axis})",
                f"Slab hits (both PMTs of a slab fired) per slab of plane {plane}, whose "
                f"slabs measure {axis}, in each TOF station.",
                ("TOF", "slab hits", f"plane {plane}"),
                self._per_station(lambda s, n: self.slab_hits[s, plane, 0:n]),
                y_label="Slab hits"))
        for plane in (0, 1):
            for pmt in (0, 1):
                plots.append(Plot(
                    f"tof_pmt{plane}{pmt}", f"PMT {pmt} hits, plane {plane}",
                    f"Hits (digits) of PMT {pmt} per slab of plane {plane} in each TOF "
                    "station; a dead PMT shows as an empty slab here and not in the other "
                    "PMT's plot.",
                    ("TOF", "PMT", "digits", f"plane {plane}", f"PMT {pmt}"),
                    self._per_station(lambda s, n: self.pmt_hits[s, plane, pmt, 0:n]),
                    y_label="PMT hits"))
        plots.append(Plot(
            "tof_nsp", "Space points per trigger",
            "Number of space points per particle trigger in each TOF station; mostly one "
            "for a clean beam, zero where a station missed the particle.",
            ("TOF", "space points", "multiplicity"),
            self._per_station(lambda s, n: self.n_points[s, :]), y_label="Triggers"))
        for index, axis in ((1, "x"), (2, "y")):
            plots.append(Plot(
                f"tof_sp_{axis}", f"Space points, slab {axis}",
                f"Space points per slab {axis} (plane {index - 1}) in each TOF station.",
                ("TOF", "space points", axis),
                self._per_station(lambda s, n: self.pixels[s, 0:n, 0:n].project(index - 1)),
                y_label="Space points"))
        for s, station in enumerate(self.stations):
            n = station.n_slabs
            plots.append(Plot(
                f"tof_xy_{station.number}", f"TOF{station.number} space points",
                f"Space points of TOF{station.number} at the centres of their two slabs: the "
                "beam profile as the station sees it.",
                ("TOF", f"TOF{station.number}", "space points", "xy", "beam profile"),
                {f"TOF{station.number}": positions(self.pixels[s, 0:n, 0:n], station.half_size)},
                y_label="Space points"))
        return plots + self.time.plots()

    def _per_station(self, pick) -> dict[str, bh.Histogram]:
        """``pick(station index, n_slabs)`` of every station, labelled TOF0, TOF1, TOF2."""
        return {f"TOF{station.number}": pick(s, station.n_slabs)
                for s, station in enumerate(self.stations)}


def positions(pixels: bh.Histogram, half_size: float) -> bh.Histogram:
    """The slab-by-slab counts of ``pixels`` on axes in mm: slab k spans
    [-half + k w, -half + (k + 1) w], so each pixel is exactly one bin."""
    n_x, n_y = pixels.axes.size
    xy = bh.Histogram(regular_axis(n_x, -half_size, half_size, "x [mm]"),
                      regular_axis(n_y, -half_size, half_size, "y [mm]"),
                      storage=bh.storage.Int64())
    xy.view(flow=True)[...] = pixels.view(flow=True)
    return xy
