"""MAUS's digit making: a TDC hit becomes a digit with its charge and its board's trigger times.

Consumes one particle trigger of ``daq_data`` -- a station's V1290 (TDC) and V1724 (fADC)
hits, and the V1290 hits of the ``trigger`` and ``trigger_request`` lists, which MAUS's DAQ
records once per TDC board -- and the cabling; produces the station's digits as
``MapCppTOFDigits`` makes them, for :class:`~maus_online.maps.MapPyTOFDigits` with
``tof_reconstruction = "maus"``:

* a station's trigger makes digits only when it holds at least one fADC hit;
* each TDC hit becomes a digit of the PMT its channel is cabled to, with the ``charge_mm`` and
  ``charge_pm`` of the fADC hit of the same PMT (0 and 0 when that PMT's fADC did not fire);
* the digit takes ``trigger_leading_time``/``trigger_trailing_time`` and
  ``trigger_request_leading_time``/``_trailing_time`` from the first trigger and trigger-request
  hits of its own TDC board (same ``geo``): each board has its own clock, so a PMT's time is
  only meaningful against its board's trigger request. A TDC hit whose board recorded no
  trigger or no trigger request gives no digit.

Where MAUS stops the whole spill (an fADC, trigger or trigger-request hit whose
``part_event_number`` or ``phys_event_number`` is not the TDC hit's), this drops the one
digit and says why; unknown channels are reported and dropped as in the simple unpacking.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .daq import board_lists, is_number
from .detector import Cabling, Channel
from .keys import parse_daq_channel_key

#: The numbers that must agree between a TDC hit and the hits matched to it.
_EVENT_NUMBERS = ("part_event_number", "phys_event_number")


def board_hits(entry: Any) -> dict[int, dict[str, Any]]:
    """``geo -> first V1290 hit`` of one trigger's ``trigger`` or ``trigger_request`` entry."""
    hits = entry.get("V1290") if isinstance(entry, dict) else None
    boards: dict[int, dict[str, Any]] = {}
    for hit in hits if isinstance(hits, list) else ():
        if isinstance(hit, dict) and isinstance(hit.get("geo"), int):
            boards.setdefault(hit["geo"], hit)
    return boards


class MausDigits:
    """The digits of one station trigger, made as MAUS makes them (module docstring)."""

    def __init__(self, cabling: Cabling) -> None:
        # Per station: TDC key -> (channel, digit template); fADC key -> TOF key.
        self.tdc: list[dict[str, tuple[Channel, dict[str, Any]]]] = [{}, {}, {}]
        self.adc: list[dict[str, str]] = [{}, {}, {}]
        self.source = cabling.source
        for c in cabling.channels:
            self.tdc[c.station][c.tdc_key] = (c, {
                "station": c.station, "plane": c.plane, "slab": c.slab, "pmt": c.pmt,
                "tof_key": c.tof_key, "detector": c.detector})
            self.adc[c.station][c.adc_key] = c.tof_key

    def station(self, s: int, i: int, trigger: Any, triggers: Mapping[int, dict],
                requests: Mapping[int, dict], messages: list[str]) -> list[dict[str, Any]]:
        """Digits of station ``s`` in trigger ``i``; problems go to ``messages``."""
        where = f"daq_data.tof{s}[{i}]"
        tdcs, adcs = board_lists(trigger, where, messages)
        if not adcs:
            return []       # MAUS makes no digits of a station trigger without fADC hits
        charges: dict[str, tuple[int, dict[str, Any]]] = {}
        for k, a in enumerate(adcs):
            tof_key = self.adc[s].get(a.get("channel_key")) if isinstance(a, dict) else None
            if tof_key is None:
                key = a.get("channel_key") if isinstance(a, dict) else a
                messages.append(f"{where}.V1724[{k}].channel_key is {key!r}, not a tof{s} "
                                f"fADC channel of the cabling map {self.source}")
            elif not is_number(a.get("charge_mm")):
                messages.append(f"{where}.V1724[{k}].charge_mm is {a.get('charge_mm')!r}, "
                                "expected a number")
            else:
                charges.setdefault(tof_key, (k, a))     # the first hit of a PMT, as MAUS
        digits = []
        for k, h in enumerate(tdcs):
            digit = self._digit(s, i, f"{where}.V1290[{k}]", h, charges, triggers, requests,
                                messages)
            if digit is not None:
                digits.append(digit)
        return digits

    def _digit(self, s: int, i: int, where: str, h: Any, charges: Mapping[str, tuple],
               triggers: Mapping[int, dict], requests: Mapping[int, dict],
               messages: list[str]) -> dict[str, Any] | None:
        key = h.get("channel_key") if isinstance(h, dict) else None
        found = self.tdc[s].get(key) if isinstance(key, str) else None
        if found is None:
            messages.append(f"{where}.channel_key is {key!r}, not a tof{s} TDC channel of the "
                            f"cabling map {self.source}")
            return None
        channel, template = found
        lead = h.get("leading_time")
        if not is_number(lead):
            messages.append(f"{where}.leading_time is {lead!r}, expected a number")
            return None
        geo = h.get("geo")
        if not isinstance(geo, int):
            geo = parse_daq_channel_key(channel.tdc_key)[1]
        trig, request = triggers.get(geo), requests.get(geo)
        if trig is None or request is None:
            return None     # the board's trigger times are unknown: MAUS drops the hit
        numbers = {name: h.get(name, i if name == "part_event_number" else 0)
                   for name in _EVENT_NUMBERS}
        adc_index, adc = charges.get(channel.tof_key, (None, {}))
        for label, other in ((f"V1724[{adc_index}]", adc), ("trigger", trig),
                             ("trigger_request", request)):
            for name, value in numbers.items():
                if name in other and other[name] != value:
                    messages.append(f"{where}: {name} is {value!r} but that of its {label} hit "
                                    f"is {other[name]!r}; digit dropped")
                    return None
        digit = dict(template)
        digit.update(
            leading_time=lead, trailing_time=h.get("trailing_time", 0),
            charge_mm=adc.get("charge_mm", 0), charge_pm=adc.get("charge_pm", 0),
            trigger_time_tag=h.get("trigger_time_tag", 0), time_stamp=h.get("time_stamp", 0),
            trigger_leading_time=trig.get("leading_time", 0),
            trigger_trailing_time=trig.get("trailing_time", 0),
            trigger_request_leading_time=request.get("leading_time", 0),
            trigger_request_trailing_time=request.get("trailing_time", 0), **numbers)
        return digit


def trigger_boards(daq: Mapping[str, Any], n_triggers: int
                   ) -> tuple[Sequence[dict[int, dict]], Sequence[dict[int, dict]], bool]:
    """Per trigger, the trigger and trigger-request hits by TDC board, and whether ``daq``
    has both lists at all (simulated raw data has neither)."""
    out = []
    for name in ("trigger", "trigger_request"):
        entries = daq.get(name)
        entries = entries if isinstance(entries, list) else []
        out.append([board_hits(entries[i]) if i < len(entries) else {}
                    for i in range(n_triggers)])
    present = isinstance(daq.get("trigger"), list) and isinstance(daq.get("trigger_request"), list)
    return out[0], out[1], present
