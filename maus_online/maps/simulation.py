"""MapPySimulation: tracks the primaries through the six TOF scintillator planes.

Consumes ``mc_events[i].primary``; produces ``mc_events[i].tof_hits``, one truth hit per
plane crossed inside its active area (docs/spill_format.md). Marker spills and spills
without ``mc_events`` pass untouched.

The model is deliberately simple but honest: straight lines (no energy loss, no multiple
scattering), time from the primary's time plus path length / (beta c), and an energy
deposit drawn from the Moyal approximation of the Landau distribution, scaled by the path
length in the slab, 1/beta^2 (the leading term of Bethe-Bloch) and charge^2.
"""
from __future__ import annotations

import numpy as np

from ..errors import SpillError
from ..modules import Config, MapBase, Spill
from ..tof.detector import load_geometry
from ..tof.particles import C_LIGHT
from ..spill import spill_label
from ..tof.settings import spill_seed

#: Random stream of this map (see :func:`maus_online.tof.settings.spill_seed`).
RNG_STREAM = 2


def _primaries(spill: Spill, events: list) -> list[tuple]:
    """``(particle_id, mass, charge, energy, px, py, pz, x, y, z, time)`` of every primary."""
    try:
        return [(p["particle_id"], p["mass"], p["charge"], p["energy"], mom["x"], mom["y"], mom["z"],
                 pos["x"], pos["y"], pos["z"], p["time"])
                for ev in events for p in [ev["primary"]]
                for mom in [p["momentum"]] for pos in [p["position"]]]
    except (KeyError, TypeError):
        pass
    # Slow path, only to say which field is wrong.
    for i, ev in enumerate(events):
        where = f"mc_events[{i}]"
        primary = ev.get("primary") if isinstance(ev, dict) else None
        if not isinstance(primary, dict):
            raise SpillError(f"{spill_label(spill)}: {where}.primary is missing or not an object")
        for key in ("particle_id", "mass", "charge", "energy", "time", "momentum", "position"):
            if key not in primary:
                raise SpillError(f"{spill_label(spill)}: {where}.primary.{key} is missing")
        for key in ("momentum", "position"):
            if not isinstance(primary[key], dict) or not {"x", "y", "z"} <= primary[key].keys():
                raise SpillError(f"{spill_label(spill)}: {where}.primary.{key} needs x, y and z")
    raise SpillError(f"{spill_label(spill)}: mc_events is malformed")  # pragma: no cover


class MapPySimulation(MapBase):
    """Fills ``mc_events[i].tof_hits`` from the primaries, vectorised over particles."""

    def birth(self, config: Config) -> None:
        self.seed = config["random_seed"]
        geometry = load_geometry(config["tof_geometry_file"])
        planes = [(s, plane) for s in geometry.stations for plane in (0, 1)]
        # Per-plane constants as row vectors, broadcast against the particles' column vectors.
        self.station = np.array([s.number for s, _ in planes])
        self.plane = np.array([plane for _, plane in planes])
        self.plane_z = np.array([s.plane_z(plane) for s, plane in planes])
        self.half = np.array([s.half_size for s, _ in planes])
        self.width = np.array([s.slab_width for s, _ in planes])
        self.n_slabs = np.array([s.n_slabs for s, _ in planes])
        self.thickness_cm = np.array([s.slab_thickness / 10.0 for s, _ in planes])
        self.mpv = geometry.scintillator.dedx_mpv
        self.landau_width = geometry.scintillator.dedx_width

    def process(self, spill: Spill) -> Spill:
        events = spill.get("mc_events")
        if spill.get("daq_event_type") != "physics_event" or not isinstance(events, list):
            return spill
        rng = np.random.default_rng(spill_seed(self.seed, spill, RNG_STREAM))
        rows = _primaries(spill, events)
        n = len(rows)
        try:
            prim = np.array([r[1:] for r in rows], dtype=float).reshape(n, 10)
        except (TypeError, ValueError):
            raise SpillError(f"{spill_label(spill)}: mc_events[].primary holds a non-number") from None
        _mass, charge, energy, px, py, pz, x0, y0, z0, t0 = (c[:, None] for c in prim.T)
        # Moyal variates, drawn for every (particle, plane) so the stream never depends on hits.
        moyal = -2.0 * np.log(np.abs(rng.standard_normal((n, 6))) + 1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.sqrt(px * px + py * py + pz * pz)
            dz = self.plane_z - z0                        # (n, 6)
            x = x0 + px / pz * dz
            y = y0 + py / pz * dz
            path = dz * p / pz
            beta = p / energy
            time = t0 + path / (beta * C_LIGHT)
            hit = (pz > 0) & (dz >= 0) & (np.abs(x) <= self.half) & (np.abs(y) <= self.half)
            # Plane 0 slabs measure x, plane 1 slabs measure y.
            measured = np.where(self.plane == 0, x, y)
            slab = np.clip(((measured + self.half) // self.width).astype(int), 0, self.n_slabs - 1)
            dedx = (self.mpv + self.landau_width * moyal) * charge * charge / (beta * beta)
            edep = dedx * self.thickness_cm * p / pz
        hit_i, hit_j = np.nonzero(hit)
        cols = [a[hit_i, hit_j].tolist() for a in (slab, time, x, y, edep, path)]
        stations = self.station[hit_j].tolist()
        planes = self.plane[hit_j].tolist()
        zs = self.plane_z[hit_j].tolist()
        hits = [{"channel_id": {"type": "TOF", "station_number": st, "plane": pl, "slab": sl},
                 "time": t, "position": {"x": hx, "y": hy, "z": hz},
                 "momentum": {"x": r[4], "y": r[5], "z": r[6]}, "energy": r[3],
                 "energy_deposited": de, "particle_id": r[0], "track_id": 1, "mass": r[1],
                 "charge": r[2], "path_length": length}
                for i, st, pl, sl, t, hx, hy, hz, de, length
                in zip(hit_i.tolist(), stations, planes, cols[0], cols[1], cols[2], cols[3], zs,
                       cols[4], cols[5])
                for r in [rows[i]]]
        start = 0
        for ev, count in zip(events, hit.sum(axis=1).tolist()):
            ev["tof_hits"] = hits[start:start + count]
            start += count
        return spill
