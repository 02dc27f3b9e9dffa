"""The built-in input modules: where spills come from.

* :class:`InputPySpillGenerator` -- a simulated run (run markers around empty physics spills
  that the maps fill), optionally paced like a live beam.
* :class:`InputPyJSON` -- spills read from a file of JSON documents (plain or gzip).

Both produce spill dicts (docs/spill_format.md). A spill an input could not read or that
failed validation carries its reason in ``errors["InputPy..."]``; :func:`input_failed` (the
spill package's, re-exported here) tells the dataflow so: the spill goes past the maps, the
fill parts and the reducers, and is still counted and output.
"""
from __future__ import annotations

from ..spill import INPUT_ERROR_PREFIX, input_failed
from .json_file import InputPyJSON
from .spill_generator import InputPySpillGenerator

MODULES = (InputPySpillGenerator, InputPyJSON)

__all__ = ["INPUT_ERROR_PREFIX", "MODULES", "InputPyJSON", "InputPySpillGenerator",
           "input_failed"]
