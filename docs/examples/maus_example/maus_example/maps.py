"""MapPyTOFBeta: the speed of each particle, v/c, from its TOF0 -> TOF1 time of flight."""
from __future__ import annotations

from maus_online.modules import Config, MapBase, Spill
from maus_online.tof.detector import load_geometry
from maus_online.tof.particles import C_LIGHT


class MapPyTOFBeta(MapBase):
    """Computes beta = L01 / (c * tof01) for every trigger of a physics spill.

    Consumes ``recon_events[i].tof_event.time_of_flight.tof01`` (ns, made by
    MapPyTOFTimeOfFlight) and the TOF0 -> TOF1 distance L01 of the geometry file.
    Produces the top-level field ``tof_beta``: one value per trigger, in trigger order,
    ``None`` where the trigger has no ``tof01``, e.g. ``[0.9012, None, 0.8437]``.
    Run markers and spills without reconstruction pass unchanged.
    """

    def __init__(self) -> None:
        self.length = 0.0

    def birth(self, config: Config) -> None:
        # Read the configuration once, at birth; process() only does arithmetic.
        self.length = load_geometry(config["tof_geometry_file"]).distance(0, 1)

    def process(self, spill: Spill) -> Spill:
        events = spill.get("recon_events")
        if spill.get("daq_event_type") != "physics_event" or not events:
            return spill
        betas: list[float | None] = []
        for i, event in enumerate(events):
            try:
                tof01 = event["tof_event"]["time_of_flight"].get("tof01")
            except (KeyError, TypeError, AttributeError) as exc:
                # Raising is right: the framework records the message in the spill's
                # errors under this map's name, and the run goes on.
                raise ValueError(
                    f"recon_events[{i}] has no tof_event.time_of_flight ({exc!r}); run "
                    f"MapPyTOFTimeOfFlight before {self.module_name()}") from None
            betas.append(None if tof01 is None else self.length / (C_LIGHT * tof01))
        spill["tof_beta"] = betas
        return spill
