"""MapPyTOFMCDigitizer: turns the simulated TOF truth hits into raw DAQ data.

Consumes ``mc_events[i].tof_hits``; produces ``spill["daq_data"] = {"tof0": [trigger, ...],
"tof1": ..., "tof2": ...}`` with one ``{"V1290": [...], "V1724": [...]}`` per particle trigger
(empty lists where the particle missed the station), in MAUS's CAEN layout
(docs/spill_format.md). Marker spills and spills without ``mc_events`` pass untouched.

Per slab crossing, each PMT gets a TDC and an ADC hit through the cabling map:

* PMT 0 sits at the negative end of the slab, PMT 1 at the positive end, and ``a`` is the
  crossing point along the slab (y for plane 0, x for plane 1), so light needs
  ``(L/2 + a)/v`` to PMT 0 and ``(L/2 - a)/v`` to PMT 1;
* to that the TDC adds the channel's cable delay (calibration), a trigger latency plus a
  random trigger jitter common to every channel of the trigger (it cancels in time
  differences), Gaussian PMT smearing ``tof_pmt_time_resolution``, then 25 ps counts;
* the ADC charge (above pedestal) is energy deposit x exp(-distance/attenuation length) x
  channel gain + noise; the TDC trailing edge follows after a charge-dependent pulse width.

A PMT the cabling map does not list reads nothing (a dead channel).

Faults, to test the quality checks (docs/quality.md): ``simulation_dead_pmts`` names PMTs
(cabling keys) that never fire; ``simulation_station_time_offsets`` adds a cable delay the
calibration does not know to every channel of a station (ns, by detector name).
"""
from __future__ import annotations

import numpy as np

from ..catalogue import say
from ..errors import ConfigurationError, SpillError
from ..modules import Config, MapBase, Spill
from ..tof.keys import parse_daq_channel_key
from ..spill import spill_label
from ..tof.settings import load_detector, spill_seed

#: Random stream of this map (see :func:`maus_online.tof.settings.spill_seed`).
RNG_STREAM = 3
TDC_COUNT = 0.025          # ns per V1290 count
TRIGGER_LATENCY = 500.0    # ns from the trigger window start to a particle at TOF0
TRIGGER_JITTER = 50.0      # ns, uniform, common to all channels of one trigger
ADC_NOISE = 4.0            # ADC counts, Gaussian
SPILL_LENGTH = 3.2e6       # ns of beam per spill, over which triggers are spread
TRIGGER_TAG_UNIT = 800.0   # ns per V1290 extended trigger time tag count


def _hit_rows(spill: Spill, events: list) -> list[tuple]:
    """``(trigger, station, plane, slab, time, x, y, energy_deposited)`` of every truth hit."""
    try:
        return [(i, c["station_number"], c["plane"], c["slab"], h["time"], pos["x"], pos["y"],
                 h["energy_deposited"])
                for i, ev in enumerate(events) for h in ev.get("tof_hits") or ()
                for c in [h["channel_id"]] for pos in [h["position"]]]
    except (KeyError, TypeError, AttributeError) as exc:
        raise SpillError(f"{spill_label(spill)}: mc_events[].tof_hits[] is malformed "
                         f"({type(exc).__name__}: {exc})") from None


class MapPyTOFMCDigitizer(MapBase):
    """Fills ``daq_data.tof0/1/2`` from ``mc_events[].tof_hits``, vectorised over hits."""

    def birth(self, config: Config) -> None:
        self.seed = config["random_seed"]
        self.resolution = config["tof_pmt_time_resolution"]
        detector = load_detector(config)
        stations = detector.geometry.stations
        self.n_stations = len(stations)
        self.half_length = np.array([s.half_size for s in stations])
        self.light_speed = np.array([s.light_speed for s in stations])
        self.attenuation = np.array([s.attenuation_length for s in stations])
        # Channel number of (station, plane, slab, pmt); -1 for a PMT that is not cabled.
        self.index = np.full((len(stations), 2, max(s.n_slabs for s in stations), 2), -1, dtype=int)
        channels = detector.cabling.channels
        calib = detector.calibration.channels
        self.delay = np.array([calib[c.tof_key].delay for c in channels])
        self.gain = np.array([calib[c.tof_key].gain for c in channels])
        self.pedestal = np.array([calib[c.tof_key].pedestal for c in channels])
        self.station_of = np.array([c.station for c in channels], dtype=int)
        self.dead, self.station_offset = self._faults(config, detector)
        # The constant part of each channel's TDC and ADC hits. Copying a template dict and
        # setting the few varying fields is about twice as fast as a 14-key literal.
        self.tdc_template, self.adc_template = [], []
        for n, c in enumerate(channels):
            self.index[c.station, c.plane, c.slab, c.pmt] = n
            t_ldc, t_geo, t_ch, t_eq, _ = parse_daq_channel_key(c.tdc_key)
            a_ldc, a_geo, a_ch, a_eq, _ = parse_daq_channel_key(c.adc_key)
            self.tdc_template.append({
                "channel": t_ch, "geo": t_geo, "ldc_id": t_ldc, "equip_type": t_eq,
                "channel_key": c.tdc_key, "leading_time": 0, "trailing_time": 0,
                "trigger_time_tag": 0, "time_stamp": 0, "bunch_id": 0, "detector": c.detector,
                "part_event_number": 0, "phys_event_number": 0})
            self.adc_template.append({
                "channel": a_ch, "geo": a_geo, "ldc_id": a_ldc, "equip_type": a_eq,
                "channel_key": c.adc_key, "charge_mm": 0, "charge_pm": 0, "pedestal": 0,
                "position_max": 0, "trigger_time_tag": 0, "time_stamp": 0,
                "detector": c.detector, "part_event_number": 0, "phys_event_number": 0})

    @staticmethod
    def _faults(config: Config, detector) -> tuple[np.ndarray, np.ndarray]:
        """The dead channels (a mask over the cabling's channels) and each station's extra
        delay (ns) of the simulation's fault keys; a key that names nothing is an error."""
        channels = detector.cabling.channels
        number = {c.tof_key: n for n, c in enumerate(channels)}
        dead = np.zeros(len(channels), dtype=bool)
        for key in config.get("simulation_dead_pmts") or ():
            if key.strip() not in number:
                raise ConfigurationError(say("MAUS-175", key=key,
                                             cabling=config["tof_cabling_file"]))
            dead[number[key.strip()]] = True
        stations = detector.geometry.stations
        names = {s.detector: n for n, s in enumerate(stations)}
        offset = np.zeros(len(stations))
        for station, delay in (config.get("simulation_station_time_offsets") or {}).items():
            if station not in names:
                raise ConfigurationError(say("MAUS-176", station=station,
                                             geometry=config["tof_geometry_file"],
                                             known=", ".join(names)))
            offset[names[station]] = delay
        return dead, offset

    def process(self, spill: Spill) -> Spill:
        events = spill.get("mc_events")
        if spill.get("daq_event_type") != "physics_event" or not isinstance(events, list):
            return spill
        rng = np.random.default_rng(spill_seed(self.seed, spill, RNG_STREAM))
        n_trig = len(events)
        rows = _hit_rows(spill, events)
        try:
            hits = np.array(rows, dtype=float).reshape(len(rows), 8)
        except (TypeError, ValueError):
            raise SpillError(f"{spill_label(spill)}: mc_events[].tof_hits[] holds a non-number") from None
        trig = hits[:, 0].astype(int)
        st, pl, sl = (hits[:, k].astype(int) for k in (1, 2, 3))
        time, x, y, edep = hits[:, 4], hits[:, 5], hits[:, 6], hits[:, 7]
        if not ((st >= 0) & (st < self.index.shape[0]) & (pl >= 0) & (pl <= 1) & (sl >= 0)
                & (sl < self.index.shape[2])).all():
            raise SpillError(f"{spill_label(spill)}: a tof_hits channel_id is outside the geometry")
        # Per-trigger quantities, drawn first so that their stream never depends on the hits.
        offset = TRIGGER_LATENCY + rng.uniform(0.0, TRIGGER_JITTER, n_trig)
        tags = (np.sort(rng.uniform(0.0, SPILL_LENGTH, n_trig)) // TRIGGER_TAG_UNIT).astype(int)
        n_hits = len(rows)
        noise_t = rng.normal(0.0, self.resolution, (n_hits, 2))
        noise_q = rng.normal(0.0, ADC_NOISE, (n_hits, 2, 2))
        noise_ped = rng.normal(0.0, 1.0, (n_hits, 2))
        # Crossing point along the slab, towards PMT 1: y for plane 0, x for plane 1.
        along = np.where(pl == 0, y, x)
        half = self.half_length[st]
        distance = np.stack([half + along, half - along], axis=1)      # to PMT 0, PMT 1
        ch = self.index[st, pl, sl]                                     # (n_hits, 2)
        chc = np.maximum(ch, 0)
        t_meas = (time[:, None] + distance / self.light_speed[st][:, None] + self.delay[chc]
                  + offset[trig][:, None] + self.station_offset[st][:, None] + noise_t)
        leading = np.rint(t_meas / TDC_COUNT).astype(int)
        light = edep[:, None] * np.exp(-distance / self.attenuation[st][:, None])
        charge_mm = np.maximum(np.rint(light * self.gain[chc] + noise_q[:, :, 0]), 0).astype(int)
        charge_pm = np.maximum(np.rint(light * self.gain[chc] * 0.97 + noise_q[:, :, 1]), 0).astype(int)
        # Time over threshold grows with the log of the pulse charge.
        width = 15.0 + 6.0 * np.log1p(charge_mm / 50.0)
        trailing = leading + np.rint(width / TDC_COUNT).astype(int)
        pedestal = np.rint(self.pedestal[chc] + noise_ped).astype(int)
        position_max = (t_meas // 10.0).astype(int) + 2     # V1724 samples every 10 ns
        keep = (ch >= 0) & ~self.dead[chc]                  # an uncabled or dead PMT: nothing
        channel = ch[keep]
        trigger = np.broadcast_to(trig[:, None], ch.shape)[keep]
        tag = tags[trigger]
        # Hits go to flat per-(station, trigger) lists: slot = station * n_trig + trigger.
        slot = self.station_of[channel] * n_trig + trigger
        cols = [a.tolist() for a in (channel, trigger, slot, tag, tag & 0xFFF, leading[keep],
                                     trailing[keep], charge_mm[keep], charge_pm[keep],
                                     pedestal[keep], position_max[keep])]
        time_stamp = spill.get("time_stamp")
        time_stamp = int(time_stamp) if isinstance(time_stamp, (int, float)) else 0
        spill_number = spill["spill_number"]
        tdc_templates = [dict(t, time_stamp=time_stamp, phys_event_number=spill_number)
                         for t in self.tdc_template]
        adc_templates = [dict(t, time_stamp=time_stamp, phys_event_number=spill_number)
                         for t in self.adc_template]
        n_slots = self.n_stations * n_trig
        tdcs: list[list[dict]] = [[] for _ in range(n_slots)]
        adcs: list[list[dict]] = [[] for _ in range(n_slots)]
        for c, i, k, ttag, bunch, lt, tt, cmm, cpm, ped, pmax in zip(*cols):
            d = tdc_templates[c].copy()
            d["leading_time"] = lt
            d["trailing_time"] = tt
            d["trigger_time_tag"] = ttag
            d["bunch_id"] = bunch
            d["part_event_number"] = i
            tdcs[k].append(d)
            a = adc_templates[c].copy()
            a["charge_mm"] = cmm
            a["charge_pm"] = cpm
            a["pedestal"] = ped
            a["position_max"] = pmax
            a["trigger_time_tag"] = ttag
            a["part_event_number"] = i
            adcs[k].append(a)
        spill["daq_data"] = {
            f"tof{s}": [{"V1290": t, "V1724": a} for t, a in
                        zip(tdcs[s * n_trig:(s + 1) * n_trig], adcs[s * n_trig:(s + 1) * n_trig])]
            for s in range(self.n_stations)}
        return spill
