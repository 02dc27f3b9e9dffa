"""MAUS's own TOF text files: the cabling map and the three calibration tables.

Consumes the whitespace-separated text files of the MAUS repository (``files/cabling/
TOFChannelMap.txt``, ``files/calibration/tofcalibT0_*.txt``, ``tofcalibTW_*.txt``,
``tofcalibTrigger_*.txt``); produces plain tables, one row per line. No MAUS code is used:
the formats are read from the files themselves.

* cabling: ``TOFChannelKey <station> <plane> <slab> <pmt> <det>`` followed by two
  ``DAQChannelKey <ldc> <geo> <channel> <equip_type> <det>``, one with equipment type 120
  (the V1724 fADC) and one with 102 (the V1290 TDC); numbers may carry leading zeros (``01``);
* T0: ``TOFChannelKey ...`` then the PMT's time offset (ps) and its reference slab;
* time walk: ``TOFChannelKey ...`` then the four parameters of the time-walk curve;
* trigger delays: ``TOFPixelKey <station> <slab x> <slab y> <det>`` then the delay (ps) of
  that pixel of the trigger station.

The calibration tables are also read in G4MICE's older layout, in which the keys are bare
numbers (``1 0 4 0  -76172.7  3``; MAUS keeps such files, among them the calibration of
August 2010, in ``src/legacy/FILES/Calibration/TOF/``).

A file's kind is recognised by its content (the key word and the number of fields of its
first line), never by its name. A malformed line raises
:class:`~maus_online.errors.ConfigurationError` naming the file, the line and the field.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ConfigurationError
from .keys import (
    DAQ_CHANNEL_KEY,
    TOF_CHANNEL_KEY,
    TOF_PIXEL_KEY,
    daq_channel_key,
    detector_name,
)

#: Equipment types of MAUS's CAEN boards, as the DAQChannelKey spells them.
V1290_TDC, V1724_ADC = 102, 120

#: The calibration kinds, by the key word and the number of values after the key.
T0, TIME_WALK, TRIGGER = "T0", "time walk", "trigger delay"
_KINDS = {(TOF_CHANNEL_KEY, 2): T0, (TOF_CHANNEL_KEY, 4): TIME_WALK, (TOF_PIXEL_KEY, 1): TRIGGER}
_BARE_KINDS = {6: (TOF_CHANNEL_KEY, T0), 8: (TOF_CHANNEL_KEY, TIME_WALK),
               4: (TOF_PIXEL_KEY, TRIGGER)}
_KEY_FIELDS = {TOF_CHANNEL_KEY: ("station", "plane", "slab", "pmt"),
               DAQ_CHANNEL_KEY: ("ldc_id", "geo", "channel", "equip_type"),
               TOF_PIXEL_KEY: ("station", "slab x", "slab y")}


@dataclass(frozen=True)
class CablingRow:
    """One line of a MAUS cabling file: a PMT and the TDC and ADC channels that read it."""

    line: int
    station: int
    plane: int
    slab: int
    pmt: int
    detector: str
    tdc_key: str
    adc_key: str


@dataclass(frozen=True)
class CalibrationTable:
    """One MAUS calibration file: its kind and ``key -> values`` (key fields as integers).

    ``T0``: ``(station, plane, slab, pmt) -> (t0 ps, reference slab)``; ``time walk``:
    ``(station, plane, slab, pmt) -> (p0, p1, p2, p3)``; ``trigger delay``:
    ``(station, slab x, slab y) -> (delay ps,)``.
    """

    kind: str
    source: str
    values: dict[tuple[int, ...], tuple[float, ...]]


def is_json(text: str) -> bool:
    """Whether a detector file's text is this project's JSON rather than MAUS's text."""
    return text.lstrip("\ufeff \t\r\n").startswith("{")


class _Line:
    """The fields of one line, read left to right, each error naming file, line and field."""

    def __init__(self, source: str, number: int, text: str) -> None:
        self.line_number = number
        self.where = f"{source} line {number}"
        self.fields = text.split()
        self.position = 0

    def _next(self, name: str) -> str:
        if self.position >= len(self.fields):
            raise ConfigurationError(f"{self.where}: field {self.position + 1} ({name}) is "
                                     f"missing; the line has only {len(self.fields)} fields")
        self.position += 1
        return self.fields[self.position - 1]

    def _fail(self, name: str, text: str, expected: str) -> ConfigurationError:
        return ConfigurationError(f"{self.where}: field {self.position} ({name}) is {text!r}, "
                                  f"expected {expected}")

    def integer(self, name: str) -> int:
        text = self._next(name)
        try:
            return int(text)     # int() reads MAUS's zero-padded "01" as 1
        except ValueError:
            raise self._fail(name, text, "an integer") from None

    def number(self, name: str) -> float:
        text = self._next(name)
        try:
            value = float(text)
        except ValueError:
            raise self._fail(name, text, "a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise self._fail(name, text, "a finite number")
        return value

    def key(self, label: str, bare: bool = False) -> tuple[tuple[int, ...], str]:
        """A ``label`` key: its integer fields and its detector name; a ``bare`` key (G4MICE's
        layout) is the integers alone, its detector named after its station."""
        if bare:
            numbers = tuple(self.integer(name) for name in _KEY_FIELDS[label])
            return numbers, detector_name(numbers[0])
        text = self._next(f"{label} label")
        if text != label:
            raise self._fail(f"{label} label", text, f"'{label}'")
        numbers = tuple(self.integer(f"{label} {name}") for name in _KEY_FIELDS[label])
        detector = self._next(f"{label} detector")
        if label != DAQ_CHANNEL_KEY and detector != detector_name(numbers[0]):
            # Keys are looked up by their text, so "TOFChannelKey 0 ... tof1" would never match.
            raise self._fail(f"{label} detector", detector, f"{detector_name(numbers[0])!r}, "
                             f"the name of station {numbers[0]}")
        return numbers, detector

    def end(self) -> None:
        if self.position != len(self.fields):
            raise ConfigurationError(f"{self.where}: {len(self.fields) - self.position} fields "
                                     f"more than expected, from field {self.position + 1} "
                                     f"({self.fields[self.position]!r})")


def _lines(text: str, source: str) -> Iterator[_Line]:
    """The lines that hold something (MAUS writes neither comments nor blank lines)."""
    for number, content in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if content.strip():
            yield _Line(source, number, content)


def parse_cabling(text: str, source: str) -> list[CablingRow]:
    """The rows of a MAUS cabling file (``TOFChannelMap.txt``)."""
    rows = []
    for line in _lines(text, source):
        (station, plane, slab, pmt), detector = line.key(TOF_CHANNEL_KEY)
        daq = {}
        for _ in range(2):
            (ldc, geo, channel, equip), daq_detector = line.key(DAQ_CHANNEL_KEY)
            if equip not in (V1290_TDC, V1724_ADC) or equip in daq:
                raise ConfigurationError(
                    f"{line.where}: DAQChannelKey equip_type {equip}; a PMT needs one V1724 "
                    f"({V1724_ADC}) and one V1290 ({V1290_TDC}) channel")
            if daq_detector != detector:
                raise ConfigurationError(f"{line.where}: DAQChannelKey detector "
                                         f"{daq_detector!r} is not {detector!r}")
            # The spelling the DAQ writes in the spills: no leading zeros.
            daq[equip] = daq_channel_key(ldc, geo, channel, equip, detector)
        line.end()
        rows.append(CablingRow(line.line_number, station, plane, slab, pmt,
                               detector, daq[V1290_TDC], daq[V1724_ADC]))
    if not rows:
        raise ConfigurationError(f"{source}: no cabling lines")
    return rows


def parse_calibration(text: str, source: str) -> CalibrationTable:
    """One MAUS calibration file, its kind recognised from its first line."""
    lines = list(_lines(text, source))
    if not lines:
        raise ConfigurationError(f"{source}: empty, expected a MAUS TOF calibration "
                                 "(T0, time walk or trigger delays)")
    first = lines[0].fields
    bare = first[0].lstrip("-").isdigit()
    if bare:    # G4MICE's layout: 4 key numbers and 2 or 4 values, or 3 and 1
        label, kind = _BARE_KINDS.get(len(first), ("", None))
    else:
        label = first[0]
        kind = _KINDS.get((label, len(first) - 2 - len(_KEY_FIELDS.get(label, ()))))
    if kind is None:
        raise ConfigurationError(
            f"{lines[0].where}: not a MAUS TOF calibration line: expected 'TOFChannelKey' and "
            "5 key fields, then 2 values (T0) or 4 (time walk), or 'TOFPixelKey' and 4 key "
            "fields, then 1 value (trigger delays), or G4MICE's bare layout of these (6, 8 or "
            f"4 numbers); found {len(first)} fields starting {first[0]!r}")
    values: dict[tuple[int, ...], tuple[float, ...]] = {}
    for line in lines:
        numbers, _ = line.key(label, bare)
        if kind == T0:
            row: tuple[float, ...] = (line.number("t0 (ps)"), line.integer("reference slab"))
        elif kind == TIME_WALK:
            row = tuple(line.number(f"time-walk p{k}") for k in range(4))
        else:
            row = (line.number("trigger delay (ps)"),)
        line.end()
        if numbers in values:
            raise ConfigurationError(f"{line.where}: {label} {' '.join(map(str, numbers))} "
                                     "is calibrated twice in the file")
        values[numbers] = row
    return CalibrationTable(kind, source, values)
