"""MAUS's channel and pixel key strings: formatting and parsing.

* ``"TOFChannelKey <station> <plane> <slab> <pmt> <detector>"`` -- one PMT of the TOF system;
* ``"DAQChannelKey <ldc_id> <geo> <channel> <equip_type> <detector>"`` -- one DAQ board channel;
* ``"TOFPixelKey <station> <slabX> <slabY> <detector>"`` -- one (x slab, y slab) crossing.

Parsers raise ``ValueError`` with the offending text; callers turn it into the error they need.
"""
from __future__ import annotations

TOF_CHANNEL_KEY = "TOFChannelKey"
DAQ_CHANNEL_KEY = "DAQChannelKey"
TOF_PIXEL_KEY = "TOFPixelKey"


def detector_name(station: int) -> str:
    """The MAUS detector name of a TOF station: ``0 -> "tof0"``."""
    return f"tof{station}"


def tof_channel_key(station: int, plane: int, slab: int, pmt: int) -> str:
    """>>> tof_channel_key(1, 0, 3, 1)
    'TOFChannelKey 1 0 3 1 tof1'
    """
    return f"{TOF_CHANNEL_KEY} {station} {plane} {slab} {pmt} tof{station}"


def daq_channel_key(ldc_id: int, geo: int, channel: int, equip_type: int, detector: str) -> str:
    """>>> daq_channel_key(0, 1, 5, 102, "tof0")
    'DAQChannelKey 0 1 5 102 tof0'
    """
    return f"{DAQ_CHANNEL_KEY} {ldc_id} {geo} {channel} {equip_type} {detector}"


def pixel_key(station: int, slab_x: int, slab_y: int) -> str:
    """>>> pixel_key(2, 4, 5)
    'TOFPixelKey 2 4 5 tof2'
    """
    return f"{TOF_PIXEL_KEY} {station} {slab_x} {slab_y} tof{station}"


def _split(key: object, kind: str, n_ints: int) -> tuple[list[int], str]:
    parts = key.split() if isinstance(key, str) else []
    if len(parts) != n_ints + 2 or parts[0] != kind:
        raise ValueError(f"{key!r} is not a {kind} ('{kind}' followed by {n_ints} integers and a detector)")
    try:
        numbers = [int(p) for p in parts[1:-1]]
    except ValueError:
        raise ValueError(f"{key!r}: fields after '{kind}' must be integers") from None
    return numbers, parts[-1]


def parse_tof_channel_key(key: str) -> tuple[int, int, int, int, str]:
    """``(station, plane, slab, pmt, detector)`` of a TOFChannelKey string."""
    (station, plane, slab, pmt), detector = _split(key, TOF_CHANNEL_KEY, 4)
    return station, plane, slab, pmt, detector


def parse_daq_channel_key(key: str) -> tuple[int, int, int, int, str]:
    """``(ldc_id, geo, channel, equip_type, detector)`` of a DAQChannelKey string."""
    (ldc_id, geo, channel, equip_type), detector = _split(key, DAQ_CHANNEL_KEY, 4)
    return ldc_id, geo, channel, equip_type, detector


def parse_pixel_key(key: str) -> tuple[int, int, int, str]:
    """``(station, slab_x, slab_y, detector)`` of a TOFPixelKey string."""
    (station, slab_x, slab_y), detector = _split(key, TOF_PIXEL_KEY, 3)
    return station, slab_x, slab_y, detector
