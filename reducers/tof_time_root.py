"""ReducePyTOFTimeROOT: the times of flight between the TOF stations, drawn by real ROOT.

Consumes ``recon_events[i].tof_event.time_of_flight`` of physics spills (``tof01``,
``tof12``, ``tof02``; present when both stations had exactly one space point). Produces three
images drawn by PyROOT in batch mode: ``tof_time_01_root``, ``tof_time_12_root`` and
``tof_time_02_root`` -- the same histograms, binning, marks and texts as ReducePyTOFPlot's
``tof_time_*``, so the two back ends can be compared side by side.

Needs the optional extra: ``pip install 'maus-online[root]'``; birth says so when ROOT is
missing.
"""
from __future__ import annotations

import boost_histogram as bh

from maus_online.modules import Config, Spill
from maus_online.tof.detector import load_geometry

from .plotting import Plot
from .root_histogram import ReducePyROOTHistogram
from .tof_plot import TimeOfFlight, tof_events


class ReducePyTOFTimeROOT(ReducePyROOTHistogram):
    """TOF0→1, TOF1→2 and TOF0→2 times of flight with the expected e+, mu+, pi+ times."""

    spill_fields = ("recon_events",)

    def configure(self, config: Config) -> None:
        self.time = TimeOfFlight(load_geometry(config["tof_geometry_file"]),
                                 config["tof_pid_reference_momentum"])

    def book(self) -> None:
        self.time.book()

    def histograms(self) -> dict[str, bh.Histogram]:
        return self.time.histograms

    def fill(self, spill: Spill) -> None:
        self.time.fill(tof_events(spill))

    def plots(self) -> list[Plot]:
        return self.time.plots(tag_suffix="_root")
