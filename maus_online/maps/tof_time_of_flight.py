"""MapPyTOFTimeOfFlight: times of flight between stations and the particle hypothesis.

Consumes ``recon_events[i].tof_event.tof_space_points``; produces
``tof_event.time_of_flight = {"tof01", "tof12", "tof02"}`` (ns; each only when both stations
have exactly one space point, so an ambiguous trigger gives no time rather than a wrong one)
and, when ``tof01`` was measured, ``recon_events[i].tof_pid``: the species (e+, mu+, pi+)
whose expected TOF0->TOF1 time L01/(beta c) at ``tof_pid_reference_momentum`` is nearest.
Spills without ``recon_events`` (and marker spills) pass untouched.
"""
from __future__ import annotations

import math

from ..modules import Config, MapBase, Spill
from ..tof.detector import load_geometry
from ..tof.particles import SPECIES, expected_time_of_flight
from ..tof.recon import malformed, tof_stages

PAIRS = (("tof01", "tof0", "tof1"), ("tof12", "tof1", "tof2"), ("tof02", "tof0", "tof2"))


class MapPyTOFTimeOfFlight(MapBase):
    """Fills ``tof_event.time_of_flight`` and ``tof_pid`` from the space points."""

    def birth(self, config: Config) -> None:
        self.momentum = config["tof_pid_reference_momentum"]
        geometry = load_geometry(config["tof_geometry_file"])
        length = geometry.distance(0, 1)
        self.expected = {name: expected_time_of_flight(length, self.momentum, s.mass)
                         for name, s in SPECIES.items()}

    def process(self, spill: Spill) -> Spill:
        expected = list(self.expected.items())
        for i, event, tof_event, points in tof_stages(spill, "tof_space_points"):
            try:
                times = {}
                for name, up, down in PAIRS:
                    a, b = points.get(up), points.get(down)
                    if a and b and len(a) == 1 and len(b) == 1:
                        times[name] = b[0]["time"] - a[0]["time"]
            except (KeyError, TypeError, AttributeError) as exc:
                raise malformed(spill, i, "tof_space_points", exc) from None
            tof_event["time_of_flight"] = times
            tof01 = times.get("tof01")
            if tof01 is None:
                event.pop("tof_pid", None)
                continue
            # Nearest expected time; three hypotheses, so a plain loop beats min(key=...).
            name, best = "", math.inf
            for hypothesis, time in expected:
                if abs(time - tof01) < best:
                    name, best = hypothesis, abs(time - tof01)
            event["tof_pid"] = {"hypothesis": name, "particle_id": SPECIES[name].pdg,
                                "tof01": tof01, "reference_momentum": self.momentum,
                                "expected": dict(self.expected)}
        return spill
