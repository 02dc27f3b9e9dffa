"""MAUS's slab hits and space points: raw times against the trigger request, then the trigger
pixel, the calibration and MAUS's two cuts.

Consumes a station's digits (slab hits) or one trigger's slab hits of all three stations
(space points); produces them as ``MapCppTOFSlabHits`` and ``MapCppTOFSpacePoints`` do, for
the maps with ``tof_reconstruction = "maus"``.

Slab hits. A PMT that fired more than once keeps its earliest digit (later ones are mostly
after-pulses). A slab whose two PMTs both fired makes a hit; hits come in the order of their
PMT 0 key (station, plane, slab). A PMT's ``raw_time`` is ``0.025 ns x (leading_time -
trigger_request_leading_time)``, the slab's the mean of its two PMTs' -- no calibration yet;
``charge`` is the sum of the two charges, ``charge_product`` their product over their sum
(integer, truncated as C++ does; 0 when the sum is 0).

Space points. The calibration needs to know which pixel (x slab, y slab) of the trigger
station the particle crossed, since the trigger delay depends on it: trying the trigger
station's (plane 0, plane 1) slab-hit pairs in order, the first whose calibrated mean time
is within ``TOF_findTriggerPixelCut`` of 0 is the trigger pixel (a calibrated trigger station
sits at t = 0). Without one, the trigger gives no space points at all. With it, in every
station each (plane 0, plane 1) pair whose PMTs all calibrate gives the slabs their
calibrated ``time`` (and each PMT its own), and it becomes a space point when the two slab
times differ by less than ``TOF_makeSpacePointCut``: ``time`` their mean, ``dt`` their
difference (x - y), ``charge`` and ``charge_product`` the sums of the two slab hits'. For a
simulated spill (one with ``mc_events``) MAUS widens the trigger-pixel cut to 10 us, because
simulated times are not relative to a trigger; so does this.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from .detector import Station
from .keys import parse_tof_channel_key, pixel_key, tof_channel_key
from .maus_calibration import MausCalibration

TDC_COUNT = 0.025            # ns per V1290 count (MAUS's TOFtdcConversionFactor)
SIMULATED_PIXEL_CUT = 1e4    # ns: MAUS's trigger-pixel cut for spills with mc_events


@functools.lru_cache(maxsize=512)
def pmt_of(tof_key: str) -> tuple[int, int, int, int]:
    """(station, plane, slab, pmt) of a TOFChannelKey string; ValueError when it is not one."""
    return parse_tof_channel_key(tof_key)[:4]


def _pmt_part(digit: dict[str, Any]) -> dict[str, Any]:
    if "trigger_request_leading_time" not in digit:
        raise ValueError(f"digit {digit.get('tof_key')!r} has no trigger_request_leading_time, "
                         "which MAUS's slab hits time the PMT against: digits made with "
                         "tof_reconstruction = 'simple' cannot be used")
    leading, request = digit["leading_time"], digit["trigger_request_leading_time"]
    return {"tof_key": digit["tof_key"], "raw_time": TDC_COUNT * (leading - request),
            "charge": digit["charge_mm"], "leading_time": leading,
            "trigger_request_leading_time": request}


def maus_slab_hits(digits: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The slab hits of one station's digits (module docstring)."""
    earliest: dict[str, dict[str, Any]] = {}
    for d in digits:
        other = earliest.get(d["tof_key"])
        if other is None or d["leading_time"] < other["leading_time"]:
            earliest[d["tof_key"]] = d
    hits = []
    # For at most 10 slabs this is also the text order of the keys, which MAUS walks.
    for key in sorted(earliest, key=pmt_of):
        station, plane, slab, pmt = pmt_of(key)
        partner = earliest.get(tof_channel_key(station, plane, slab, 1))
        if pmt != 0 or partner is None:
            continue
        d0 = earliest[key]
        p0, p1 = _pmt_part(d0), _pmt_part(partner)
        q0, q1 = p0["charge"], p1["charge"]
        total = q0 + q1
        hits.append({
            "station": station, "plane": plane, "slab": slab, "detector": f"tof{station}",
            "part_event_number": d0["part_event_number"],
            "phys_event_number": d0["phys_event_number"],
            "raw_time": 0.5 * (p0["raw_time"] + p1["raw_time"]), "charge": total,
            "charge_product": int(q0 * q1 / total) if total else 0, "pmt0": p0, "pmt1": p1})
    return hits


class MausSpacePoints:
    """Space points of one trigger from its slab hits, as MAUS makes them (module docstring)."""

    def __init__(self, calibration: MausCalibration, trigger_station: int, pixel_cut: float,
                 point_cut: float, stations: Sequence[Station]) -> None:
        self.calibration = calibration
        self.trigger_station = trigger_station
        self.pixel_cut, self.point_cut = pixel_cut, point_cut
        self.stations = stations

    def event(self, slab_hits: Sequence[Sequence[dict[str, Any]]], simulated: bool
              ) -> list[list[dict[str, Any]]]:
        """Space points of the three stations; sets ``time`` on the slab hits it calibrates."""
        planes = [([h for h in hits if h["plane"] == 0], [h for h in hits if h["plane"] == 1])
                  for hits in slab_hits]
        cut = SIMULATED_PIXEL_CUT if simulated else self.pixel_cut
        pixel = self.trigger_pixel(*planes[self.trigger_station], cut)
        if pixel is None:
            return [[] for _ in slab_hits]
        return [self._points(s, xs, ys, pixel) for s, (xs, ys) in enumerate(planes)]

    def trigger_pixel(self, xs: Sequence[dict], ys: Sequence[dict], cut: float
                      ) -> tuple[int, int] | None:
        """The first (x slab, y slab) of the trigger station that times the particle at 0."""
        for hx in xs:
            for hy in ys:
                pixel = (hx["slab"], hy["slab"])
                tx, ty = self._slab_time(hx, pixel), self._slab_time(hy, pixel)
                if tx is not None and ty is not None and abs(tx[0] / 2 + ty[0] / 2) < cut:
                    return pixel
        return None

    def _slab_time(self, hit: dict[str, Any], pixel: tuple[int, int]
                   ) -> tuple[float, float, float] | None:
        """(slab time, PMT 0 time, PMT 1 time), calibrated for a trigger in ``pixel``."""
        times = []
        for end in ("pmt0", "pmt1"):
            pmt = hit[end]
            correction = self.calibration.correction(pmt_of(pmt["tof_key"]), pixel,
                                                     pmt["charge"])
            if correction is None:
                return None
            times.append(pmt["raw_time"] - correction)
        return 0.5 * (times[0] + times[1]), times[0], times[1]

    def _calibrate(self, hit: dict[str, Any], pixel: tuple[int, int]) -> float | None:
        times = self._slab_time(hit, pixel)
        if times is None:
            return None
        hit["time"], hit["pmt0"]["time"], hit["pmt1"]["time"] = times
        return times[0]

    def _points(self, s: int, xs: Sequence[dict], ys: Sequence[dict], pixel: tuple[int, int]
                ) -> list[dict[str, Any]]:
        station = self.stations[s]
        points = []
        for hx in xs:
            for hy in ys:
                # As in MAUS, a y hit is timed only when its x partner was.
                tx = self._calibrate(hx, pixel)
                ty = None if tx is None else self._calibrate(hy, pixel)
                if ty is None or not abs(tx - ty) < self.point_cut:
                    continue
                kx, ky = hx["slab"], hy["slab"]
                points.append({
                    "station": s, "detector": station.detector, "slabX": kx, "slabY": ky,
                    "pixel_key": pixel_key(s, kx, ky), "time": 0.5 * (tx + ty), "dt": tx - ty,
                    "charge": hx["charge"] + hy["charge"],
                    "charge_product": hx["charge_product"] + hy["charge_product"],
                    "x": station.slab_centre(kx), "y": station.slab_centre(ky),
                    "part_event_number": hx["part_event_number"],
                    "phys_event_number": hx["phys_event_number"]})
        return points
