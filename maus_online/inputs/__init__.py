"""The built-in input modules: where spills come from.

* :class:`InputPySpillGenerator` -- a simulated run (run markers around empty physics spills
  that the maps fill), optionally paced like a live beam.
* :class:`InputPyJSON` -- spills read from a file of JSON documents (plain or gzip).

Both produce spill dicts (docs/spill_format.md). A spill an input could not read or that
failed validation carries its reason in ``errors["InputPy..."]``; :func:`input_failed` tells
the dataflow so, which then sends it past the maps straight to the merge side.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .json_file import InputPyJSON
from .spill_generator import InputPySpillGenerator

#: Input modules record their errors under their own name, which starts with this.
INPUT_ERROR_PREFIX = "InputPy"

MODULES = (InputPySpillGenerator, InputPyJSON)

__all__ = ["INPUT_ERROR_PREFIX", "MODULES", "InputPyJSON", "InputPySpillGenerator",
           "input_failed"]


def input_failed(spill: Mapping[str, Any]) -> bool:
    """True when an input module recorded an error in ``spill`` (it is unreadable or invalid).

    >>> input_failed({"errors": {"InputPyJSON": ["line 3: not valid JSON"]}})
    True
    >>> input_failed({"errors": {"MapPyTOFDigits": ["no cabling"]}})
    False
    """
    errors = spill.get("errors")
    if not isinstance(errors, Mapping):
        return False
    return any(str(name).startswith(INPUT_ERROR_PREFIX) and messages
               for name, messages in errors.items())
