"""The TOF detector description: geometry, cabling and calibration, loaded from conf/ JSON.

Consumes ``conf/tof_geometry.json``, ``conf/tof_cabling.json`` and ``conf/tof_calibration.json``
(or any file given by path; the cabling may also be MAUS's text ``TOFChannelMap.txt``,
:mod:`.maus_formats`); produces small frozen objects (:class:`Geometry`,
:class:`Cabling`, :class:`Calibration`). Each file is parsed once per resolved path and
shared, which is why the objects are immutable. A bad file raises
:class:`~maus_online.errors.ConfigurationError` naming the file and the field.
"""
from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigurationError
from ..resources import conf_path
from .keys import parse_daq_channel_key, parse_tof_channel_key, tof_channel_key
from .maus_formats import is_json, parse_cabling
from .particles import expected_time_of_flight

__all__ = [
    "Cabling", "Calibration", "Channel", "ChannelCalibration", "Geometry", "Scintillator",
    "Station", "check_consistency", "expected_time_of_flight", "load_cabling",
    "load_calibration", "load_geometry",
]


@dataclass(frozen=True)
class Station:
    """One TOF station: plane 0 (slabs measure x) at ``z``, plane 1 (slabs measure y) behind it."""

    number: int
    detector: str
    z: float
    plane_spacing: float
    n_slabs: int
    slab_width: float
    slab_thickness: float
    light_speed: float
    attenuation_length: float

    @property
    def slab_length(self) -> float:
        """Slabs are as long as the plane is wide: the active area is square."""
        return self.n_slabs * self.slab_width

    @property
    def half_size(self) -> float:
        return 0.5 * self.slab_length

    @property
    def light_travel_time(self) -> float:
        """Time (ns) light takes from one end of a slab to the other."""
        return self.slab_length / self.light_speed

    def plane_z(self, plane: int) -> float:
        return self.z + plane * self.plane_spacing

    def slab_centre(self, slab: int) -> float:
        """Transverse coordinate (mm) of the centre of ``slab``."""
        return (slab + 0.5) * self.slab_width - self.half_size

    def slab_at(self, coordinate: float) -> int | None:
        """The slab covering transverse ``coordinate``, or ``None`` outside the active area."""
        if not -self.half_size <= coordinate <= self.half_size:
            return None
        return min(int((coordinate + self.half_size) // self.slab_width), self.n_slabs - 1)


@dataclass(frozen=True)
class Scintillator:
    """Landau (Moyal) energy loss per cm of scintillator at beta = 1: most probable value, width."""

    dedx_mpv: float
    dedx_width: float


@dataclass(frozen=True)
class Geometry:
    """All stations (indexed by station number), the beam origin and the scintillator."""

    stations: tuple[Station, ...]
    beam_origin_z: float
    scintillator: Scintillator
    source: str

    def distance(self, upstream: int, downstream: int) -> float:
        """Flight distance (mm, along z) between two stations: the L of L / (beta c)."""
        return self.stations[downstream].z - self.stations[upstream].z


@dataclass(frozen=True)
class Channel:
    """One PMT and the DAQ channels (TDC and ADC) that read it."""

    station: int
    plane: int
    slab: int
    pmt: int
    detector: str
    tof_key: str
    tdc_key: str
    adc_key: str


@dataclass(frozen=True)
class Cabling:
    """The cabling map, with read-only look-ups by TOF, TDC and ADC key."""

    channels: tuple[Channel, ...]
    by_tof: Mapping[str, Channel]
    by_tdc: Mapping[str, Channel]
    by_adc: Mapping[str, Channel]
    source: str


@dataclass(frozen=True)
class ChannelCalibration:
    """Cable delay (ns), ADC gain (counts per MeV at the PMT) and pedestal (counts) of one PMT."""

    delay: float
    gain: float
    pedestal: int


@dataclass(frozen=True)
class Calibration:
    """Calibration of every PMT, keyed by TOFChannelKey."""

    channels: Mapping[str, ChannelCalibration]
    source: str


def _resolve(name: str | Path) -> str:
    return str(conf_path(str(name)).resolve())


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigurationError(f"{what} file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{what} file {path} cannot be read: {exc}") from None


def _read_json(path: str, what: str, text: str | None = None) -> dict[str, Any]:
    try:
        document = json.loads(_read_text(path, what) if text is None else text)
    except ValueError as exc:
        raise ConfigurationError(f"{what} file {path} cannot be read: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigurationError(f"{what} file {path}: expected a JSON object at the top")
    return document


def _get(obj: Any, key: str, kind: type, where: str) -> Any:
    """``obj[key]`` checked to be a ``kind`` (int accepted for float); else ConfigurationError."""
    if not isinstance(obj, dict) or key not in obj:
        raise ConfigurationError(f"{where}: missing field '{key}'")
    value = obj[key]
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise ConfigurationError(f"{where}.{key} is {value!r}, expected {kind.__name__}")
    return float(value) if kind is float else value


def load_geometry(name: str | Path) -> Geometry:
    """The geometry in ``name`` (a bare name is looked up in conf/); parsed once per path."""
    return _load_geometry(_resolve(name))


@functools.lru_cache(maxsize=16)
def _load_geometry(path: str) -> Geometry:
    doc = _read_json(path, "TOF geometry")
    entries = _get(doc, "stations", list, path)
    stations = []
    for n, entry in enumerate(entries):
        where = f"{path}: stations[{n}]"
        station = Station(
            _get(entry, "station", int, where), _get(entry, "detector", str, where),
            _get(entry, "z", float, where), _get(entry, "plane_spacing", float, where),
            _get(entry, "n_slabs", int, where), _get(entry, "slab_width", float, where),
            _get(entry, "slab_thickness", float, where), _get(entry, "light_speed", float, where),
            _get(entry, "attenuation_length", float, where))
        if station.number != n or station.detector != f"tof{n}":
            raise ConfigurationError(f"{where}: expected station {n} named 'tof{n}'")
        if min(station.n_slabs, station.slab_width, station.light_speed,
               station.attenuation_length, station.slab_thickness) <= 0:
            raise ConfigurationError(f"{where}: slab counts, sizes and speeds must be positive")
        stations.append(station)
    if len(stations) != 3:
        raise ConfigurationError(f"{path}: expected 3 stations (tof0, tof1, tof2), found {len(stations)}")
    scint = _get(doc, "scintillator", dict, path)
    return Geometry(tuple(stations), _get(doc, "beam_origin_z", float, path),
                    Scintillator(_get(scint, "dedx_mpv", float, f"{path}: scintillator"),
                                 _get(scint, "dedx_width", float, f"{path}: scintillator")),
                    path)


def load_cabling(name: str | Path) -> Cabling:
    """The cabling map in ``name``: this project's JSON or MAUS's text (``TOFChannelMap.txt``),
    told apart by the content; parsed once per path."""
    return _load_cabling(_resolve(name))


@functools.lru_cache(maxsize=16)
def _load_cabling(path: str) -> Cabling:
    text = _read_text(path, "TOF cabling")
    if is_json(text):
        channels = _json_channels(_read_json(path, "TOF cabling", text), path)
    else:
        channels = [Channel(r.station, r.plane, r.slab, r.pmt, r.detector,
                            tof_channel_key(r.station, r.plane, r.slab, r.pmt), r.tdc_key,
                            r.adc_key) for r in parse_cabling(text, path)]
    lookups = []
    for attr in ("tof_key", "tdc_key", "adc_key"):
        table: dict[str, Channel] = {}
        for c in channels:
            key = getattr(c, attr)
            if key in table:
                raise ConfigurationError(f"{path}: {attr} {key!r} is cabled twice")
            table[key] = c
        lookups.append(MappingProxyType(table))
    return Cabling(tuple(channels), *lookups, path)


def _json_channels(doc: dict[str, Any], path: str) -> list[Channel]:
    channels = []
    for n, entry in enumerate(_get(doc, "channels", list, path)):
        where = f"{path}: channels[{n}]"
        keys = [_get(entry, k, str, where) for k in ("tof_key", "tdc_key", "adc_key")]
        try:
            station, plane, slab, pmt, detector = parse_tof_channel_key(keys[0])
            for daq_key in keys[1:]:
                if parse_daq_channel_key(daq_key)[4] != detector:
                    raise ValueError(f"{daq_key!r} belongs to another detector than {keys[0]!r}")
        except ValueError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
        channels.append(Channel(station, plane, slab, pmt, detector, *keys))
    return channels


def load_calibration(name: str | Path) -> Calibration:
    """The calibration in ``name``; parsed once per path."""
    return _load_calibration(_resolve(name))


@functools.lru_cache(maxsize=16)
def _load_calibration(path: str) -> Calibration:
    doc = _read_json(path, "TOF calibration")
    table = {}
    for key, entry in _get(doc, "channels", dict, path).items():
        where = f"{path}: channels[{key!r}]"
        table[key] = ChannelCalibration(_get(entry, "delay", float, where),
                                        _get(entry, "gain", float, where),
                                        _get(entry, "pedestal", int, where))
    return Calibration(MappingProxyType(table), path)


def check_consistency(geometry: Geometry, cabling: Cabling, calibration: Calibration) -> None:
    """Every cabled PMT exists in the geometry and is calibrated; else ConfigurationError."""
    for c in cabling.channels:
        where = f"{cabling.source}: {c.tof_key!r}"
        if not 0 <= c.station < len(geometry.stations):
            raise ConfigurationError(f"{where}: no station {c.station} in {geometry.source}")
        if c.plane not in (0, 1) or c.pmt not in (0, 1):
            raise ConfigurationError(f"{where}: plane and pmt must be 0 or 1")
        if c.detector != geometry.stations[c.station].detector:
            raise ConfigurationError(f"{where}: detector should be {geometry.stations[c.station].detector!r}")
        if not 0 <= c.slab < geometry.stations[c.station].n_slabs:
            raise ConfigurationError(f"{where}: station {c.station} has no slab {c.slab}")
        if c.tof_key not in calibration.channels:
            raise ConfigurationError(f"{where}: not calibrated in {calibration.source}")
