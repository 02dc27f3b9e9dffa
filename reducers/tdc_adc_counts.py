"""ReducePyHistogramTDCADCCounts: raw TDC times, ADC charges and channel occupancy per station.

Consumes ``daq_data.tof0/1/2[i]`` of physics spills -- the CAEN V1290 TDC hits
(``leading_time``) and V1724 fADC hits (``charge_mm``) -- and nothing else, so it works on raw
data nobody reconstructed. Produces 5 images:

* ``tdcadc_tdc`` -- TDC leading times of each station (counts of 25 ps);
* ``tdcadc_adc`` -- ADC charges (``charge_mm``) of each station;
* ``tdcadc_occupancy_tof0`` / ``_tof1`` / ``_tof2`` -- TDC and ADC hits per PMT channel of the
  station, channels found through the cabling map (``tof_cabling_file``) and grouped by plane
  and PMT end, so a dead or noisy channel stands out at once.

A hit whose channel key the cabling map does not know for that station is counted in the
time or charge plot, left out of the occupancy, and reported in the spill's ``errors``.

A value it cannot plot (a string where a time belongs, a hit that is not an object: what
validation reports, when it is on, before the spill could come here) leaves the whole spill
out of these plots, with a :class:`~maus_online.errors.SpillError` naming the spill and the
field (MAUS-139) rather than numpy's ``ValueError``. The fast path never looks for it: only
when it fails is the spill walked to find the culprit.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter, methodcaller
from typing import TYPE_CHECKING, Any

import boost_histogram as bh
import numpy as np

from maus_online.catalogue import say
from maus_online.errors import SpillError
from maus_online.modules import Config, Spill, record_error
from maus_online.spill import spill_label
from maus_online.tof.detector import load_cabling, load_geometry

from . import style
from .matplotlib_histogram import ReducePyMatplotlibHistogram
from .plotting import BinIndex, Plot, integer_axis, per_bin, regular_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Ranges of the raw distributions: the TDC window the simulated trigger uses (500-750 ns)
#: and the fADC's useful range; hits outside go to the under/overflow bins (kept in the UHI).
TDC_BINS = (200, 20000.0, 30000.0)
ADC_BINS = (200, 0.0, 4000.0)
#: The four channel groups of a station, in occupancy order: plane 0 (x) and 1 (y), PMT 0 and 1.
GROUPS = ((0, 0, "x PMT 0"), (0, 1, "x PMT 1"), (1, 0, "y PMT 0"), (1, 1, "y PMT 1"))

_LEADING = itemgetter("leading_time")
_CHARGE = itemgetter("charge_mm")
_KEY = itemgetter("channel_key")
#: The boards read, with the number each hit must hold.
BOARDS = (("V1290", "leading_time"), ("V1724", "charge_mm"))


def board_hits(triggers: Sequence[Any], board: str) -> list[dict[str, Any]]:
    """All hits of ``board`` ("V1290" or "V1724") over a station's triggers, walked in C.

    A ``null`` trigger (a gap MAUS left) and a trigger without the board have no hits.
    """
    try:
        return list(chain.from_iterable(map(itemgetter(board), triggers)))
    except (KeyError, TypeError):  # legal gaps: the slower, tolerant way
        return list(chain.from_iterable(
            map(methodcaller("get", board, ()), filter(None, triggers))))


class ReducePyHistogramTDCADCCounts(ReducePyMatplotlibHistogram):
    """Raw-data monitor of the TOF stations: TDC times, ADC charges, occupancy; 5 images."""

    spill_fields = ("daq_data",)

    def configure(self, config: Config) -> None:
        self.stations = load_geometry(config["tof_geometry_file"]).stations
        cabling = load_cabling(config["tof_cabling_file"])
        # DAQ channel key -> (station, occupancy bin), bin = group * n_slabs + slab. The key
        # names its detector, so one index serves the three stations.
        tdc, adc = {}, {}
        for c in cabling.channels:
            channel = (2 * c.plane + c.pmt) * self.stations[c.station].n_slabs + c.slab
            tdc[c.tdc_key] = adc[c.adc_key] = (c.station, channel)
        self.tdc_index, self.adc_index = BinIndex(tdc), BinIndex(adc)
        self.detectors = [station.detector for station in self.stations]

    def book(self) -> None:
        # One histogram per quantity with the station as first axis: a spill fills each of
        # them once, and the plots take one station's slice.
        int64 = bh.storage.Int64()
        station = integer_axis(len(self.stations), "Station")
        channels = 4 * max(s.n_slabs for s in self.stations)
        self.tdc = bh.Histogram(station, regular_axis(
            *TDC_BINS, "TDC leading time [counts of 25 ps]"), storage=int64)
        self.adc = bh.Histogram(station, regular_axis(
            *ADC_BINS, "ADC charge_mm [counts]"), storage=int64)
        self.tdc_hits = bh.Histogram(station, integer_axis(
            channels, "Channel (by plane and PMT)"), storage=int64)
        self.adc_hits = self.tdc_hits.copy()

    def histograms(self) -> dict[str, bh.Histogram]:
        return {"tdc": self.tdc, "adc": self.adc, "tdc_hits": self.tdc_hits,
                "adc_hits": self.adc_hits}

    def fill(self, spill: Spill) -> None:
        daq = spill.get("daq_data")
        if not daq:
            return
        try:
            columns = self._columns(daq)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            field, value, expected = first_bad_value(daq, self.detectors) or (
                "daq_data", f"unreadable ({type(exc).__name__}: {exc})", "the raw data layout")
            raise SpillError(say("MAUS-139", label=spill_label(spill), field=field, value=value,
                                 expected=expected, reducer=self.module_name())) from None
        unknown: list[Any] = []
        for (stations, numbers, keys), values, hits, lookup in zip(
                columns, (self.tdc, self.adc), (self.tdc_hits, self.adc_hits),
                (self.tdc_index, self.adc_index)):
            values.fill(stations, numbers)
            unknown += lookup.fill(hits, keys)
        if unknown:
            record_error(spill, self.module_name(),
                         f"{len(unknown)} DAQ channel keys not in the cabling map, left out "
                         f"of the occupancy: {', '.join(sorted(map(str, unknown))[:5])}")

    def _columns(self, daq: Mapping[str, Any]) -> list[tuple[np.ndarray, np.ndarray, Counter]]:
        """Per board: each hit's station and number, and the hits per channel key; all read
        before anything is filled, so a spill is filled whole or not at all."""
        stations = [daq.get(detector) or () for detector in self.detectors]
        columns = []
        for (board, _), value in zip(BOARDS, (_LEADING, _CHARGE)):
            per_station = [board_hits(triggers, board) for triggers in stations]
            every = list(chain.from_iterable(per_station))
            # One fill per histogram per spill, from arrays made by map() in C.
            numbers = np.fromiter(map(value, every), np.float64, len(every))
            if np.isnan(numbers).any():  # numpy reads null as NaN: not a number either
                raise ValueError(f"{board} hits with no number")
            columns.append((np.repeat(np.arange(len(per_station)), list(map(len, per_station))),
                            numbers, Counter(map(_KEY, every))))
        return columns

    def plots(self) -> list[Plot]:
        labels = [f"TOF{station.number}" for station in self.stations]
        tdc = {label: self.tdc[s, :] for s, label in enumerate(labels)}
        adc = {label: self.adc[s, :] for s, label in enumerate(labels)}
        plots = [
            Plot("tdcadc_tdc", "TDC leading times",
                 "Leading times of the V1290 TDC hits of each TOF station, straight from the "
                 "raw data (counts of 25 ps after the trigger window opens).",
                 ("TOF", "TDC", "V1290", "raw data", "timing"), tdc,
                 y_label=per_bin("Hits", self.tdc.axes[1], "counts")),
            Plot("tdcadc_adc", "ADC charges",
                 "Charges (charge_mm) of the V1724 fADC hits of each TOF station, straight "
                 "from the raw data.",
                 ("TOF", "ADC", "V1724", "raw data", "charge"), adc,
                 y_label=per_bin("Hits", self.adc.axes[1], "counts")),
        ]
        for s, station in enumerate(self.stations):
            n = station.n_slabs
            plots.append(Plot(
                f"tdcadc_occupancy_{station.detector}", f"TOF{station.number} channel occupancy",
                f"TDC and ADC hits per PMT channel of TOF{station.number}, from the raw data "
                f"through the cabling map: slabs 0-{n - 1} of plane 0 (x) PMT 0, then PMT 1, "
                "then plane 1 (y) PMT 0 and PMT 1. A dead channel is an empty bin; a TDC "
                "without its ADC (or the reverse) shows as a gap between the two lines.",
                ("TOF", f"TOF{station.number}", "occupancy", "TDC", "ADC", "raw data",
                 "channels"),
                {"TDC hits": self.tdc_hits[s, 0:4 * n], "ADC hits": self.adc_hits[s, 0:4 * n]},
                y_label="Hits",
                x_ticks={g * n + (n - 1) / 2: text for g, (_, _, text) in enumerate(GROUPS)}))
        return plots

    def draw(self, plot: Plot, axes: Axes) -> None:
        super().draw(plot, axes)
        if plot.tag.startswith("tdcadc_occupancy"):
            # Lines between the plane/PMT groups, so a channel's group is read at a glance.
            n = next(iter(plot.histograms.values())).axes[0].size // len(GROUPS)
            for g in range(1, len(GROUPS)):
                axes.axvline(g * n - 0.5, color=style.MARK_COLOUR, linestyle=":", linewidth=1.0)


def first_bad_value(daq: Any, detectors: Sequence[str]) -> tuple[str, str, str] | None:
    """The first value of ``daq`` (a spill's ``daq_data``) this reducer cannot read, as
    ``(JSON path, its repr, what belongs there)``; None when there is none.

    >>> first_bad_value({"tof1": [{"V1290": [{"leading_time": "abc", "channel_key": "k"}]}]},
    ...                 ["tof1"])
    ('daq_data.tof1[0].V1290[0].leading_time', "'abc'", 'a number')
    """
    if not isinstance(daq, Mapping):
        return "daq_data", _shown(daq), "an object"
    for detector in detectors:
        triggers, path = daq.get(detector), f"daq_data.{detector}"
        if not triggers:
            continue
        if not isinstance(triggers, list):
            return path, _shown(triggers), "a list of triggers"
        for t, trigger in enumerate(triggers):
            if trigger is None:
                continue  # a gap MAUS left
            if not isinstance(trigger, Mapping):
                return f"{path}[{t}]", _shown(trigger), "an object"
            for board, number in BOARDS:
                found = _bad_hit(trigger.get(board, []), f"{path}[{t}].{board}", number)
                if found:
                    return found
    return None


def _bad_hit(hits: Any, path: str, number: str) -> tuple[str, str, str] | None:
    if not isinstance(hits, list):
        return path, _shown(hits), "a list of hits"
    for h, hit in enumerate(hits):
        where = f"{path}[{h}]"
        if not isinstance(hit, Mapping):
            return where, _shown(hit), "an object"
        value = hit.get(number, _MISSING)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return f"{where}.{number}", _shown(value), "a number"
        key = hit.get("channel_key", _MISSING)
        if key is _MISSING or isinstance(key, (list, dict)):
            return f"{where}.channel_key", _shown(key), "a channel key"
    return None


_MISSING = object()
_SHOWN = 40


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."
