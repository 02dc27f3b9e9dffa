"""MapPyTOFSlabHits: pairs the two PMT digits of a slab into a slab hit.

Consumes ``recon_events[i].tof_event.tof_digits``; produces ``tof_event.tof_slab_hits``
(``{"tof0": [...], "tof1": [...], "tof2": [...]}``, docs/spill_format.md). Spills without
``recon_events`` (and marker spills) pass untouched.

A PMT's time is ``leading_time x 0.025 ns`` less its calibrated delay. PMT 0 sits at the
negative end of the slab and PMT 1 at the positive end (see MapPyTOFMCDigitizer), so for a
crossing at ``a`` mm from the centre, ``t0 = t + (L/2 + a)/v`` and ``t1 = t + (L/2 - a)/v``:
the slab time is ``(t0 + t1)/2 - L/(2v)`` and the position ``a = (t0 - t1) v / 2``. When a
PMT fired more than once in a trigger, its first digit is used. The trigger jitter is still in
the times; it cancels in every time difference.

With ``tof_reconstruction = "maus"`` the slab hits are MAUS's (:mod:`maus_online.tof.maus_hits`):
raw times against each digit's ``trigger_request_leading_time``, no calibration and no
position (MAUS calibrates in the space points), the earliest digit of a PMT, MAUS's charge
product.
"""
from __future__ import annotations

from ..modules import Config, MapBase, Spill
from ..tof.keys import tof_channel_key
from ..tof.recon import malformed, tof_stages
from ..tof.maus_hits import maus_slab_hits
from ..tof.settings import load_detector, uses_maus

DETECTORS = ("tof0", "tof1", "tof2")
TDC_COUNT = 0.025  # ns per V1290 count


class MapPyTOFSlabHits(MapBase):
    """Fills ``recon_events[i].tof_event.tof_slab_hits`` from the digits."""

    def birth(self, config: Config) -> None:
        detector = load_detector(config)
        self.maus = uses_maus(config)
        self.delay = {key: c.delay for key, c in detector.calibration.channels.items()}
        # PMT 0 key -> (PMT 1 key of the same slab, slab hit template): the pairing is then one
        # dict look-up per digit, and a template copy is cheaper than a 12-key literal.
        self.templates: dict[str, tuple[str, dict]] = {}
        for c in detector.cabling.channels:
            if c.pmt == 0:
                self.templates[c.tof_key] = (tof_channel_key(c.station, c.plane, c.slab, 1), {
                    "station": c.station, "plane": c.plane, "slab": c.slab,
                    "part_event_number": 0, "phys_event_number": 0, "pmt0": None, "pmt1": None,
                    "raw_time": 0.0, "charge": 0, "charge_product": 0, "position": 0.0})
        stations = detector.geometry.stations
        self.half_travel = [0.5 * s.light_travel_time for s in stations]
        self.half_speed = [0.5 * s.light_speed for s in stations]

    def process(self, spill: Spill) -> Spill:
        for i, _, tof_event, digits in tof_stages(spill, "tof_digits"):
            try:
                if self.maus:
                    hits = {det: maus_slab_hits(digits.get(det) or ()) for det in DETECTORS}
                else:
                    hits = {det: self._station(s, digits.get(det) or [])
                            for s, det in enumerate(DETECTORS)}
                tof_event["tof_slab_hits"] = hits
            except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
                raise malformed(spill, i, "tof_digits", exc) from None
        return spill

    def _station(self, s: int, digits: list) -> list[dict]:
        if len(digits) < 2:
            return []
        delay, templates = self.delay, self.templates
        first = {d["tof_key"]: d for d in reversed(digits)}   # the first digit of a PMT wins
        half_travel, half_speed = self.half_travel[s], self.half_speed[s]
        hits = []
        for d0 in digits:
            k0 = d0["tof_key"]
            entry = templates.get(k0)           # only PMT 0 keys have an entry
            if entry is None:
                continue
            k1, template = entry
            d1 = first.get(k1)
            if d1 is None or first[k0] is not d0:
                continue
            t0 = d0["leading_time"] * TDC_COUNT - delay[k0]
            t1 = d1["leading_time"] * TDC_COUNT - delay[k1]
            q0, q1 = d0["charge_mm"], d1["charge_mm"]
            hit = template.copy()
            hit["part_event_number"] = d0["part_event_number"]
            hit["phys_event_number"] = d0["phys_event_number"]
            hit["pmt0"] = {"tof_key": k0, "raw_time": t0, "charge": q0}
            hit["pmt1"] = {"tof_key": k1, "raw_time": t1, "charge": q1}
            hit["raw_time"] = 0.5 * (t0 + t1) - half_travel
            hit["charge"] = q0 + q1
            hit["charge_product"] = q0 * q1
            hit["position"] = (t0 - t1) * half_speed
            hits.append(hit)
        return hits
