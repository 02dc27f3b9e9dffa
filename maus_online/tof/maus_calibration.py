"""MAUS's time calibration of the TOF PMTs: T0, time walk and trigger delays, and the
correction they make to a PMT's raw time.

Consumes MAUS's three calibration files (:mod:`.maus_formats`; the configuration key
``tof_calibration_files``, in any order) and the three ``Enable_*_correction`` switches;
produces a :class:`MausCalibration` whose :meth:`~MausCalibration.correction` says how much
to subtract from a PMT's raw time (ns, relative to the trigger request) for a particle
trigger in a given pixel of the trigger station -- or ``None`` when the PMT or the pixel is
not calibrated, which MAUS treats as "this combination cannot be timed".

The correction, in MAUS's own terms (its files hold picoseconds; MICE Note 251):

* T0: the PMT's time offset ``t0`` (a zero in the file means "not calibrated");
* time walk: ``p1 + p2 / (q + p0) + p3 / (q + p0)^2`` for a PMT charge ``q`` (ADC counts;
  any zero parameter means "not calibrated");
* trigger delay: the delay of the pixel that made the trigger, and, for a PMT of the trigger
  station itself, plus the delay of the pixel formed by the PMT's slab and its T0 reference
  slab (the T0 of a trigger-station PMT was measured against that pixel).

``correction = t0 - time walk - delay(trigger pixel) [+ delay(reference pixel)]``; a switched
off correction counts zero.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ..errors import ConfigurationError
from ..resources import conf_path
from .maus_formats import T0, TIME_WALK, TRIGGER, CalibrationTable, is_json, parse_calibration

#: The switch of each correction, by calibration kind, as MAUS's configuration names them.
SWITCHES = {T0: "Enable_t0_correction", TIME_WALK: "Enable_timeWalk_correction",
            TRIGGER: "Enable_triggerDelay_correction"}
_FILE_NAMES = {T0: "tofcalibT0_*.txt", TIME_WALK: "tofcalibTW_*.txt",
               TRIGGER: "tofcalibTrigger_*.txt"}

PmtKey = tuple[int, int, int, int]   # station, plane, slab, pmt
Pixel = tuple[int, int]              # slab x (plane 0), slab y (plane 1) of the trigger station


@dataclass(frozen=True)
class MausCalibration:
    """The three MAUS calibration tables and which corrections are switched on."""

    t0: Mapping[PmtKey, tuple[float, int]]                   # ps, reference slab
    time_walk: Mapping[PmtKey, tuple[float, ...]]            # p0 .. p3
    trigger_delays: Mapping[Pixel, float]                    # ps
    #: The station whose pixels the trigger-delay file calibrates (None without that file).
    trigger_station: int | None
    use_t0: bool
    use_time_walk: bool
    use_trigger_delay: bool
    #: Calibration kind -> the file it came from.
    sources: Mapping[str, str]

    def correction(self, pmt: PmtKey, pixel: Pixel, charge: float) -> float | None:
        """Nanoseconds to subtract from ``pmt``'s raw time for a trigger in ``pixel``, or
        ``None`` when what is switched on is not calibrated for this PMT or pixel."""
        total = 0.0
        if self.use_time_walk:
            p = self.time_walk.get(pmt)
            if p is None or not all(p) or charge + p[0] == 0:
                return None
            x = charge + p[0]
            total -= p[1] + p[2] / x + p[3] / (x * x)
        t0 = self.t0.get(pmt)
        if self.use_t0:
            if t0 is None or t0[0] == 0:
                return None
            total += t0[0]
        if self.use_trigger_delay:
            delay = self.trigger_delays.get(pixel)
            if delay is None:
                return None
            total -= delay
            station, plane, slab, _ = pmt
            if station == self.trigger_station:
                # MAUS reads the reference slab from the T0 file even with T0 switched off.
                if t0 is None:
                    return None
                reference = (slab, t0[1]) if plane == 0 else (t0[1], slab)
                if reference not in self.trigger_delays:
                    return None
                total += self.trigger_delays[reference]
        return total * 1e-3


def load_maus_calibration(files: Sequence[str], *, use_t0: bool, use_time_walk: bool,
                          use_trigger_delay: bool) -> MausCalibration:
    """The calibration in ``files`` (bare names are looked up in conf/), each file's kind
    recognised by its content; ConfigurationError when a file is bad, two files are of one
    kind, or a switched-on correction has no file."""
    tables: dict[str, CalibrationTable] = {}
    for name in files:
        table = _load_table(str(conf_path(name).resolve()))
        if table.kind in tables:
            raise ConfigurationError(f"tof_calibration_files: {tables[table.kind].source} and "
                                     f"{table.source} are both {table.kind} calibrations; "
                                     "give one of each kind")
        tables[table.kind] = table
    switches = {T0: use_t0, TIME_WALK: use_time_walk, TRIGGER: use_trigger_delay}
    for kind, used in switches.items():
        if used and kind not in tables:
            raise ConfigurationError(
                f"{SWITCHES[kind]} is true but tof_calibration_files names no {kind} "
                f"calibration (MAUS's {_FILE_NAMES[kind]}); add one, or set "
                f"{SWITCHES[kind]} = false")
    empty = CalibrationTable("", "", {})
    trigger = tables.get(TRIGGER, empty).values
    stations = {key[0] for key in trigger}
    if len(stations) > 1:
        raise ConfigurationError(f"{tables[TRIGGER].source}: trigger delays of several "
                                 f"stations ({sorted(stations)}); one file calibrates one "
                                 "trigger station")
    t0 = {key: (row[0], int(row[1])) for key, row in tables.get(T0, empty).values.items()}
    return MausCalibration(
        MappingProxyType(t0), MappingProxyType(dict(tables.get(TIME_WALK, empty).values)),
        MappingProxyType({key[1:]: row[0] for key, row in trigger.items()}),
        stations.pop() if stations else None, use_t0, use_time_walk, use_trigger_delay,
        MappingProxyType({kind: table.source for kind, table in tables.items()}))


@functools.lru_cache(maxsize=16)
def _load_table(path: str) -> CalibrationTable:
    """One calibration file, parsed once per path."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"TOF calibration file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"TOF calibration file {path} cannot be read: {exc}") from None
    if is_json(text):
        raise ConfigurationError(
            f"tof_calibration_files: {path} is JSON; these are MAUS's text calibration files "
            "(T0, time walk, trigger delays). This project's JSON calibration of the simulated "
            "detector goes in tof_calibration_file")
    return parse_calibration(text, path)
