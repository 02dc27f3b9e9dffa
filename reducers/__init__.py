"""Reducer modules (``ReducePy*``): they consume every spill of a run in order, keep state,
and produce documents (counts, histogram images) for the outputs.

* :class:`~reducers.count_spills.ReducePyCountSpills` -- spills and errors per run.

Modules here reach the registry through the ``maus_online.modules`` entry points of
pyproject.toml, the way a third-party package's modules would.
"""
from __future__ import annotations

from .count_spills import ReducePyCountSpills

MODULES = (ReducePyCountSpills,)

__all__ = ["MODULES", "ReducePyCountSpills"]
