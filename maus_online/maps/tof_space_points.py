"""MapPyTOFSpacePoints: combines the x- and y-plane slab hits of a station into space points.

Consumes ``recon_events[i].tof_event.tof_slab_hits``; produces ``tof_event.tof_space_points``
(``{"tof0": [...], "tof1": [...], "tof2": [...]}``, docs/spill_format.md). Every plane-0 hit
(slab measures x) is paired with every plane-1 hit (slab measures y) of the same station
whose time agrees within ``tof_space_point_window`` ns. A space point's time is the mean of
the two slab times, ``dt`` their difference (x - y), ``x``/``y`` the slab centres; charge and
charge_product are the sums of the two slab hits' (as in MAUS). Spills without
``recon_events`` (and marker spills) pass untouched.

With ``tof_reconstruction = "maus"`` the space points are MAUS's
(:mod:`maus_online.tof.maus_hits`): the trigger pixel found in ``TOF_trigger_station`` within
``TOF_findTriggerPixelCut``, every PMT time corrected with MAUS's calibration
(``tof_calibration_files``: T0, time walk, trigger delays), and x-y pairs kept within
``TOF_makeSpacePointCut``; the slab hits gain their calibrated ``time``.
"""
from __future__ import annotations

from ..modules import Config, MapBase, Spill
from ..tof.keys import pixel_key
from ..tof.recon import malformed, tof_stages
from ..tof.settings import load_detector, maus_space_points, uses_maus

DETECTORS = ("tof0", "tof1", "tof2")


class MapPyTOFSpacePoints(MapBase):
    """Fills ``recon_events[i].tof_event.tof_space_points`` from the slab hits."""

    def birth(self, config: Config) -> None:
        self.window = config["tof_space_point_window"]
        detector = load_detector(config)
        self.maus = maus_space_points(config, detector) if uses_maus(config) else None
        stations = detector.geometry.stations
        # One template per pixel (station, slabX, slabY) holding what depends on the pixel only:
        # copying it beats a 12-key literal and formatting the pixel key for every point.
        self.templates = [[[{"station": s.number, "slabX": kx, "slabY": ky,
                             "pixel_key": pixel_key(s.number, kx, ky), "time": 0.0, "dt": 0.0,
                             "charge": 0, "charge_product": 0, "x": s.slab_centre(kx),
                             "y": s.slab_centre(ky), "part_event_number": 0, "phys_event_number": 0}
                            for ky in range(s.n_slabs)] for kx in range(s.n_slabs)]
                          for s in stations]

    def process(self, spill: Spill) -> Spill:
        # MAUS opens its trigger-pixel cut for simulated spills, whose times are absolute.
        simulated = bool(spill.get("mc_events"))
        for i, _, tof_event, slab_hits in tof_stages(spill, "tof_slab_hits"):
            try:
                if self.maus is not None:
                    points = self.maus.event([slab_hits.get(det) or () for det in DETECTORS],
                                             simulated)
                    tof_event["tof_space_points"] = dict(zip(DETECTORS, points))
                else:
                    tof_event["tof_space_points"] = {
                        det: self._station(s, slab_hits.get(det) or ())
                        for s, det in enumerate(DETECTORS)}
            except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
                raise malformed(spill, i, "tof_slab_hits", exc) from None
        return spill

    def _station(self, s: int, hits: list) -> list[dict]:
        if len(hits) < 2:
            return []
        if len(hits) == 2:      # the usual single particle: no need to sort the planes out
            hx, hy = hits
            if hx["plane"] == 1:
                hx, hy = hy, hx
            xs, ys = ((hx,), (hy,)) if hx["plane"] == 0 and hy["plane"] == 1 else ((), ())
        else:
            xs = [h for h in hits if h["plane"] == 0]
            ys = [h for h in hits if h["plane"] == 1]
        window, templates = self.window, self.templates[s]
        points = []
        for hx in xs:
            tx, row = hx["raw_time"], templates[hx["slab"]]
            for hy in ys:
                ty = hy["raw_time"]
                if -window <= tx - ty <= window:
                    point = row[hy["slab"]].copy()
                    point["time"] = 0.5 * (tx + ty)
                    point["dt"] = tx - ty
                    point["charge"] = hx["charge"] + hy["charge"]
                    point["charge_product"] = hx["charge_product"] + hy["charge_product"]
                    point["part_event_number"] = hx["part_event_number"]
                    point["phys_event_number"] = hx["phys_event_number"]
                    points.append(point)
        return points
