"""MapPyBeamMaker: draws the primary particles of a simulated spill.

Consumes a ``physics_event`` spill skeleton (run_number, spill_number); produces
``spill["mc_events"] = [{"part_event_number": i, "primary": {...}}, ...]`` with
``particles_per_spill`` primaries (docs/spill_format.md). Marker spills pass untouched.

The beam: species drawn from ``beam_fractions``; momentum Gaussian(``beam_momentum``,
``beam_momentum_spread``); a Gaussian spot of ``beam_spot_sigma`` at TOF0 and a Gaussian
divergence ``beam_divergence`` in x and y, with each track started at the geometry's
``beam_origin_z`` (upstream of TOF0) at time 0.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigurationError
from ..modules import Config, MapBase, Spill
from ..tof.detector import load_geometry
from ..tof.particles import SPECIES
from ..tof.settings import spill_seed

#: Random stream of this map (see :func:`maus_online.tof.settings.spill_seed`).
RNG_STREAM = 1


class MapPyBeamMaker(MapBase):
    """Fills ``mc_events[i].primary`` for every particle trigger of a physics spill."""

    def birth(self, config: Config) -> None:
        # Types and ranges were checked when the configuration was merged.
        self.n_particles = config["particles_per_spill"]
        self.seed = config["random_seed"]
        self.momentum = config["beam_momentum"]
        self.spread = config["beam_momentum_spread"]
        self.spot = config["beam_spot_sigma"]
        self.divergence = config["beam_divergence"]
        fractions = config["beam_fractions"]
        unknown = sorted(set(fractions) - set(SPECIES))
        if unknown:
            raise ConfigurationError(f"beam_fractions: unknown species {unknown}; known: {list(SPECIES)}")
        weights = [fractions.get(name, 0.0) for name in SPECIES]
        if any(not w >= 0 for w in weights) or sum(weights) <= 0:
            raise ConfigurationError(f"beam_fractions {fractions!r}: need numbers >= 0 with a positive sum")
        self.fractions = np.array(weights, dtype=float) / sum(weights)
        species = list(SPECIES.values())
        self.pdg = np.array([s.pdg for s in species])
        self.mass = np.array([s.mass for s in species])
        self.charge = np.array([s.charge for s in species])
        geometry = load_geometry(config["tof_geometry_file"])
        self.origin_z = geometry.beam_origin_z
        # The spot is specified at TOF0; tracks start this far upstream of it.
        self.lever = geometry.stations[0].z - geometry.beam_origin_z

    def process(self, spill: Spill) -> Spill:
        if spill.get("daq_event_type") != "physics_event":
            return spill
        rng = np.random.default_rng(spill_seed(self.seed, spill, RNG_STREAM))
        n = self.n_particles
        # Draw in a fixed order so that a seed always gives the same beam.
        kind = rng.choice(len(self.fractions), size=n, p=self.fractions)
        p = np.maximum(rng.normal(self.momentum, self.spread, n), 1e-3 * self.momentum)
        tx, ty = rng.normal(0.0, self.divergence, (2, n))
        x_tof0, y_tof0 = rng.normal(0.0, self.spot, (2, n))
        pz = p / np.sqrt(1.0 + tx * tx + ty * ty)
        mass = self.mass[kind]
        columns = (self.pdg[kind], mass, self.charge[kind], np.hypot(p, mass),
                   tx * pz, ty * pz, pz, x_tof0 - tx * self.lever, y_tof0 - ty * self.lever)
        z0 = self.origin_z
        spill["mc_events"] = [
            {"part_event_number": i,
             "primary": {"particle_id": pid, "mass": m, "charge": q, "energy": e,
                         "momentum": {"x": px_, "y": py_, "z": pz_},
                         "position": {"x": x, "y": y, "z": z0}, "time": 0.0}}
            for i, (pid, m, q, e, px_, py_, pz_, x, y)
            in enumerate(zip(*(c.tolist() for c in columns)))]
        return spill
