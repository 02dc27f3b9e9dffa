"""Reducer modules (``ReducePy*``): they consume every spill of a run in order, keep state,
and produce documents (counts, histogram images) for the outputs.

* :class:`~reducers.count_spills.ReducePyCountSpills` -- spills and errors per run.
* :class:`~reducers.tdc_adc_counts.ReducePyHistogramTDCADCCounts` -- raw TDC/ADC plots.
* :class:`~reducers.tof_plot.ReducePyTOFPlot` -- the 15 time-of-flight plots.
* :class:`~reducers.tof_time_root.ReducePyTOFTimeROOT` -- times of flight drawn by ROOT.

The histogram reducers derive from :mod:`reducers.matplotlib_histogram` or
:mod:`reducers.root_histogram` (docs/histograms.md). They are not imported here: importing
this package stays free of matplotlib, and ``MODULES`` lists what this module imports.

Modules here reach the registry through the ``maus_online.modules`` entry points of
pyproject.toml, the way a third-party package's modules would.
"""
from __future__ import annotations

from .count_spills import ReducePyCountSpills

MODULES = (ReducePyCountSpills,)

__all__ = ["MODULES", "ReducePyCountSpills"]
