"""The spill document: its JSON Schema (``spill.schema.json``) and the checks built on it.

See docs/spill_format.md for the layout. :func:`validate_spill` consumes a spill dict and
raises :class:`~maus_online.errors.SpillError` naming run, spill and field when it does not
match; :func:`spill_label` gives the ``"run 1 spill 7"`` used in every message about a spill;
:func:`input_failed` says whether a spill is an input error.
"""
from __future__ import annotations

from .kinds import (END_OF_RUN, INPUT_ERROR_PREFIX, PHYSICS_EVENT, RUN_MARKERS, START_OF_RUN,
                    input_failed, is_marker, is_physics, skeleton)
from .validation import (
    ENVELOPE,
    MODES,
    compile_validator,
    project,
    spill_label,
    spill_schema,
    validate_spill,
)

__all__ = ["END_OF_RUN", "ENVELOPE", "INPUT_ERROR_PREFIX", "MODES", "PHYSICS_EVENT",
           "RUN_MARKERS", "START_OF_RUN", "compile_validator", "input_failed", "is_marker",
           "is_physics", "project", "skeleton", "spill_label", "spill_schema", "validate_spill"]
