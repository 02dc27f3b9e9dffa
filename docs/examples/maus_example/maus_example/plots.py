"""ReducePyTOFBeta: the histogram of the particles' speeds, with each species' expected beta."""
from __future__ import annotations

import boost_histogram as bh

from maus_online.modules import Config, Spill
from maus_online.tof.particles import SPECIES, beta
from reducers.matplotlib_histogram import ReducePyMatplotlibHistogram
from reducers.plotting import PARTICLE_LABELS, Mark, Plot, per_bin, regular_axis


class ReducePyTOFBeta(ReducePyMatplotlibHistogram):
    """Histograms the speed v/c of the beam's particles; one image, tag ``tof_beta``.

    Consumes ``tof_beta`` (made by MapPyTOFBeta) of physics spills. Produces an image
    document every ``refresh_rate`` spills and at the end of the run: beta from 0.75 to
    1.05, with dashed lines at the beta of e+, mu+ and pi+ at
    ``tof_pid_reference_momentum``, where the beam's three peaks should sit.
    """

    # The only field fill reads; on Celery workers it runs beside the map that makes it.
    spill_fields = ("tof_beta",)

    histogram: bh.Histogram       # booked at birth
    marks: tuple[Mark, ...] = ()  # set at birth, from the configuration

    def configure(self, config: Config) -> None:
        momentum = config["tof_pid_reference_momentum"]
        self.marks = tuple(Mark(beta(momentum, species.mass), PARTICLE_LABELS[name])
                           for name, species in SPECIES.items())

    def book(self) -> None:
        self.histogram = bh.Histogram(regular_axis(150, 0.75, 1.05, "β = v/c"),
                                      storage=bh.storage.Int64())

    def histograms(self) -> dict[str, bh.Histogram]:
        # Naming what fill changes splits the work: fill runs next to the data, on the
        # workers, and only these counts travel; go.py adds them into the run's histogram.
        return {"beta": self.histogram}

    def fill(self, spill: Spill) -> None:
        values = spill.get("tof_beta")
        if values is None:  # not reconstructed, or MapPyTOFBeta is not in the chain
            return
        # One fill per spill with the whole list: boost-histogram loops in C.
        self.histogram.fill([value for value in values if value is not None])

    def plots(self) -> list[Plot]:
        return [Plot(
            "tof_beta", "Particle speed from TOF0 → TOF1",
            "Speed v/c of each particle, from its time of flight between TOF0 and TOF1. "
            "Dashed lines: the speeds expected for e+, mu+ and pi+ at the reference "
            "momentum; the beam's three peaks should sit on them.",
            ("TOF", "TOF0", "TOF1", "beta", "PID"),
            {"Triggers": self.histogram},
            y_label=per_bin("Triggers", self.histogram.axes[0]),
            marks=self.marks)]
