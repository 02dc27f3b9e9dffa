"""The beam particle species of the model: name, PDG code, mass (MeV/c^2), charge (e).

Also the relativistic helpers every TOF stage shares (speed of light in mm/ns).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

#: Speed of light, mm/ns.
C_LIGHT = 299.792458


@dataclass(frozen=True)
class Species:
    """One particle species of the beam."""

    name: str
    pdg: int
    mass: float
    charge: int


#: The species the beam maker draws from and the PID hypotheses, in that order.
SPECIES: dict[str, Species] = {
    "e+": Species("e+", -11, 0.51099895, 1),
    "mu+": Species("mu+", -13, 105.6583755, 1),
    "pi+": Species("pi+", 211, 139.57039, 1),
}

#: PDG code -> species name.
NAME_BY_PDG: dict[int, str] = {s.pdg: s.name for s in SPECIES.values()}


def beta(momentum: float, mass: float) -> float:
    """v/c of a particle of ``momentum`` (MeV/c) and ``mass`` (MeV/c^2)."""
    return momentum / math.hypot(momentum, mass)


def expected_time_of_flight(length: float, momentum: float, mass: float) -> float:
    """Time (ns) to fly ``length`` mm at ``momentum`` MeV/c: L / (beta c).

    >>> round(expected_time_of_flight(7640.0, 220.0, SPECIES["mu+"].mass), 2)
    28.27
    """
    return length / (beta(momentum, mass) * C_LIGHT)
