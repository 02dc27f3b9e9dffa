"""MapPyTOFDigits: unpacks the raw TOF data into one digit per PMT hit.

Consumes ``daq_data.tof0/1/2`` (MAUS's V1290 TDC and V1724 fADC hits, real or simulated --
never ``mc_events``); produces ``recon_events[i] = {"part_event_number": i, "tof_event":
{"tof_digits": {"tof0": [...], "tof1": [...], "tof2": [...]}}}`` for every trigger i of the
longest station list. Each V1290 hit becomes a digit through the cabling map; the charge is
that of the V1724 hit of the same PMT (through the cabling's ADC key), 0 when there is none.
Marker spills and spills without ``daq_data`` pass untouched.

Error policy, record and continue: a hit with an unknown channel key or a non-numeric
leading time (and an ADC hit with a non-numeric charge) is dropped, and a message naming the
run, the spill and the field path goes to ``spill["errors"]["MapPyTOFDigits"]``; the other
hits and triggers are still reconstructed. ``daq_data`` that is not an object, or a station
that is not a list, is not data at all and raises :class:`~maus_online.errors.SpillError`.
Real-MAUS leniency: extra fields are ignored; a trigger that is ``{}``, ``null`` or lacks
``V1724`` is fine; missing optional hit fields default to 0 (part_event_number to i).

With ``tof_reconstruction = "maus"`` the digits are made as MAUS's ``MapCppTOFDigits`` makes
them (:mod:`maus_online.tof.maus_digits`): only in station triggers with fADC hits, and each
with the trigger and trigger-request times of its TDC board from ``daq_data.trigger`` and
``daq_data.trigger_request`` -- raw data without those lists (the simulation's) gives no
digits, and says so once per spill.
"""
from __future__ import annotations

from typing import Any

from ..errors import SpillError
from ..modules import Config, MapBase, Spill, record_error
from ..spill import spill_label
from ..tof.daq import board_lists, is_number
from ..tof.maus_digits import MausDigits, trigger_boards
from ..tof.settings import load_detector, uses_maus

DETECTORS = ("tof0", "tof1", "tof2")
#: At most this many messages per spill; a broken crate would otherwise flood the errors.
MAX_MESSAGES = 20


class MapPyTOFDigits(MapBase):
    """Fills ``recon_events[i].tof_event.tof_digits`` from ``daq_data``."""

    def birth(self, config: Config) -> None:
        detector = load_detector(config)
        self.source = detector.cabling.source
        self.maus = MausDigits(detector.cabling) if uses_maus(config) else None
        # One plain dict per station, TDC key -> (plane, slab, pmt, tof_key, adc_key): a hit of
        # a tof1 channel found in daq_data.tof0 is as wrong as an unknown one.
        self.lookup: list[dict[str, tuple]] = [{} for _ in DETECTORS]
        # The same per station, TDC key -> (digit template, adc_key), for the fast path.
        self.templates: list[dict[str, tuple[dict, str]]] = [{} for _ in DETECTORS]
        for c in detector.cabling.channels:
            self.lookup[c.station][c.tdc_key] = (c.plane, c.slab, c.pmt, c.tof_key, c.adc_key)
            self.templates[c.station][c.tdc_key] = ({
                "station": c.station, "plane": c.plane, "slab": c.slab, "pmt": c.pmt,
                "tof_key": c.tof_key, "leading_time": 0, "trailing_time": 0, "charge_mm": 0,
                "charge_pm": 0, "trigger_time_tag": 0, "time_stamp": 0, "part_event_number": 0,
                "phys_event_number": 0, "detector": c.detector}, c.adc_key)

    def process(self, spill: Spill) -> Spill:
        daq = spill.get("daq_data")
        if spill.get("daq_event_type") != "physics_event" or daq is None:
            return spill
        if not isinstance(daq, dict):
            raise SpillError(f"{spill_label(spill)}: daq_data is {type(daq).__name__}, expected an object")
        if not any(det in daq for det in DETECTORS):
            return spill
        stations = []
        for det in DETECTORS:
            triggers = daq.get(det)
            if triggers is None:
                triggers = []
            elif not isinstance(triggers, list):
                raise SpillError(f"{spill_label(spill)}: daq_data.{det} is "
                                 f"{type(triggers).__name__}, expected a list of triggers")
            stations.append(triggers)
        n_trig = max(len(t) for t in stations)
        messages: list[str] = []
        if self.maus is not None:
            digits = self._maus(self.maus, daq, stations, n_trig, messages)
        else:
            digits = [self._simple(s, triggers, messages)
                      + [[] for _ in range(n_trig - len(triggers))]
                      for s, triggers in enumerate(stations)]
        d0, d1, d2 = digits
        tof_events = [{"tof_digits": {"tof0": a, "tof1": b, "tof2": c}} for a, b, c in zip(d0, d1, d2)]
        old = spill.get("recon_events")
        if isinstance(old, list) and len(old) == n_trig and all(isinstance(e, dict) for e in old):
            # Keep what other detectors put in the events; replace all TOF reconstruction.
            for event, tof_event in zip(old, tof_events):
                event["tof_event"] = tof_event
                event.pop("tof_pid", None)
        else:
            spill["recon_events"] = [{"part_event_number": i, "tof_event": tof_event}
                                     for i, tof_event in enumerate(tof_events)]
        if messages:
            label = spill_label(spill)
            for message in messages[:MAX_MESSAGES]:
                record_error(spill, self.module_name(), f"{label}: {message}")
            if len(messages) > MAX_MESSAGES:
                record_error(spill, self.module_name(),
                             f"{label}: ... and {len(messages) - MAX_MESSAGES} more bad hits dropped")
        return spill

    def _simple(self, s: int, triggers: list, messages: list[str]) -> list[list[dict]]:
        """Station ``s``'s digits of every trigger: the fast path, or the careful one."""
        try:
            return self._fast(s, triggers)
        except (AttributeError, KeyError, TypeError):
            return [self._checked(s, i, t, messages) for i, t in enumerate(triggers)]

    @staticmethod
    def _maus(maus: MausDigits, daq: dict, stations: list[list], n_trig: int,
              messages: list[str]) -> list[list[list[dict]]]:
        """Every station's digits, made as MAUS makes them (module docstring)."""
        triggers, requests, present = trigger_boards(daq, n_trig)
        if not present and any(map(any, stations)):
            messages.append("daq_data has no trigger and trigger_request lists, whose times "
                            "MAUS's digits need (tof_reconstruction = 'maus'): no digits")
        return [[maus.station(s, i, station[i] if i < len(station) else None,
                              triggers[i], requests[i], messages)
                 for i in range(n_trig)] for s, station in enumerate(stations)]

    def _fast(self, s: int, triggers: list) -> list[list[dict]]:
        """Digits of every trigger of station ``s``, for well-formed data only: any surprise
        raises, and the caller falls back on :meth:`_checked`, which says what is wrong."""
        templates = self.templates[s]
        out: list[list[dict]] = []
        for trigger in triggers:
            tdcs = trigger.get("V1290")
            if not tdcs:
                out.append([])
                continue
            adcs = trigger.get("V1724")
            adc = {a["channel_key"]: a for a in adcs} if adcs else {}
            digits = []
            for h in tdcs:
                template, adc_key = templates[h["channel_key"]]
                # Copying a template and setting the varying fields beats a 14-key literal.
                d = template.copy()
                d["leading_time"] = h["leading_time"] + 0  # "+ 0": TypeError unless a number
                d["trailing_time"] = h["trailing_time"]
                a = adc.get(adc_key)
                if a is not None:
                    d["charge_mm"] = a["charge_mm"] + 0
                    d["charge_pm"] = a["charge_pm"]
                d["trigger_time_tag"] = h["trigger_time_tag"]
                d["time_stamp"] = h["time_stamp"]
                d["part_event_number"] = h["part_event_number"]
                d["phys_event_number"] = h["phys_event_number"]
                digits.append(d)
            out.append(digits)
        return out

    def _checked(self, s: int, i: int, trigger: Any, messages: list[str]) -> list[dict]:
        """The slow, careful path: drops and reports bad hits, tolerates missing fields."""
        where = f"daq_data.tof{s}[{i}]"
        tdcs, adcs = board_lists(trigger, where, messages)
        adc: dict[str, dict] = {}
        for k, a in enumerate(adcs):
            if not isinstance(a, dict) or not isinstance(a.get("channel_key"), str):
                messages.append(f"{where}.V1724[{k}] has no channel_key")
            elif not is_number(a.get("charge_mm")):
                messages.append(f"{where}.V1724[{k}].charge_mm is {a.get('charge_mm')!r}, expected a number")
            else:
                adc[a["channel_key"]] = a
        digits = []
        lookup = self.lookup[s]
        for k, h in enumerate(tdcs):
            hw = f"{where}.V1290[{k}]"
            key = h.get("channel_key") if isinstance(h, dict) else None
            c = lookup.get(key) if isinstance(key, str) else None
            if c is None:
                messages.append(f"{hw}.channel_key is {key!r}, not a tof{s} TDC channel of "
                                f"the cabling map {self.source}")
                continue
            lead = h.get("leading_time")
            if not is_number(lead):
                messages.append(f"{hw}.leading_time is {lead!r}, expected a number")
                continue
            a = adc.get(c[4]) or {}
            digits.append({
                "station": s, "plane": c[0], "slab": c[1], "pmt": c[2], "tof_key": c[3],
                "leading_time": lead, "trailing_time": h.get("trailing_time", 0),
                "charge_mm": a.get("charge_mm", 0), "charge_pm": a.get("charge_pm", 0),
                "trigger_time_tag": h.get("trigger_time_tag", 0), "time_stamp": h.get("time_stamp", 0),
                "part_event_number": h.get("part_event_number", i),
                "phys_event_number": h.get("phys_event_number", 0), "detector": DETECTORS[s]})
        return digits
