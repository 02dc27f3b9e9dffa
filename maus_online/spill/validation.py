"""Checking spills against the spill JSON Schema (``spill.schema.json``, docs/spill_format.md).

Consumes a spill ``dict``; produces nothing when it is valid, otherwise raises
:class:`~maus_online.errors.SpillError` with a message a shifter can act on, naming the run,
the spill and the path of the offending field::

    run 1 spill 7: daq_data.tof1[0].V1290[2].leading_time must be integer (got 'abc')
    run ? spill 7: run_number is missing

The schema is compiled once per process by fastjsonschema (generated Python code, ~20x
quicker than jsonschema's interpreter). Its cost grows with the number of hits, so three
depths are offered (times for a 200-trigger spill of 3 MB from the simulation and
reconstruction maps, on this project's 2-core machine: full ~50 ms, daq ~20 ms, envelope
~0.01 ms; orjson needs ~20 ms to decode the same spill):

* ``"full"``     -- the whole document: envelope, raw data, simulation truth, reconstruction.
* ``"daq"``      -- the envelope and the raw ``daq_data`` (what the maps read);
  ``mc_events`` and ``recon_events`` are only checked to be lists.
* ``"envelope"`` -- the top-level fields only; the event lists and the per-detector
  ``daq_data`` entries are only checked to be lists.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from typing import Any, Literal

import fastjsonschema

from ..errors import SpillError
from ..resources import spill_schema_path
from .kinds import END_OF_RUN, PHYSICS_EVENT, RUN_MARKERS, START_OF_RUN, is_marker  # noqa: F401

Mode = Literal["full", "daq", "envelope"]
MODES: tuple[Mode, ...] = ("full", "daq", "envelope")
#: The top-level fields that identify a spill and its state; every projection keeps them.
ENVELOPE = ("maus_event_type", "daq_event_type", "run_number", "spill_number", "time_stamp",
            "maus_online_version", "errors")


def project(spill: dict[str, Any], fields: list[str] | tuple[str, ...] | None) -> dict[str, Any]:
    """``spill`` with only the envelope and ``fields`` (all of it when ``fields`` is None).

    >>> project({"run_number": 1, "mc_events": [], "recon_events": []}, ["recon_events"])
    {'run_number': 1, 'recon_events': []}
    """
    if fields is None:
        return spill
    keep = set(ENVELOPE).union(fields)
    return {key: value for key, value in spill.items() if key in keep}
#: Fields whose content the "daq" and "envelope" modes leave unchecked (only "is a list").
_EVENT_LISTS = ("mc_events", "recon_events")
_REPR_LIMIT = 60


@lru_cache(maxsize=1)
def spill_schema() -> dict[str, Any]:
    """The spill JSON Schema as a dict (read once; callers must not modify it)."""
    with open(spill_schema_path(), "rb") as stream:
        return json.load(stream)


@cache
def _validator(mode: Mode) -> Callable[[Any], Any]:
    if mode not in MODES:
        raise ValueError(f"unknown validation mode {mode!r}; expected one of {MODES}")
    schema = copy.deepcopy(spill_schema())
    if mode in ("daq", "envelope"):
        for name in _EVENT_LISTS:
            schema["properties"][name] = {"type": "array"}
    if mode == "envelope":
        schema["definitions"]["daq_station"] = {"type": ["array", "null"]}
    return fastjsonschema.compile(schema)


def compile_validator(mode: Mode = "full") -> None:
    """Compile (and cache) the validator now, e.g. at a module's birth, not at its first spill."""
    _validator(mode)


def validate_spill(spill: Any, mode: Mode = "full") -> None:
    """Raise :class:`SpillError` unless ``spill`` matches the spill schema.

    Only the first problem found is reported: enough to reject the spill and to point at
    the field.
    """
    try:
        _validator(mode)(spill)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise SpillError(f"{spill_label(spill)}: {_describe(exc)}") from None


def spill_label(spill: Any) -> str:
    """``"run 1 spill 7"``; a missing or malformed number shows as ``?``.

    >>> spill_label({"run_number": 1, "spill_number": 7})
    'run 1 spill 7'
    >>> spill_label({"spill_number": 7})
    'run ? spill 7'
    """
    if not isinstance(spill, Mapping):
        return "run ? spill ?"
    return f"run {_number(spill.get('run_number'))} spill {_number(spill.get('spill_number'))}"


def _number(value: Any) -> str:
    # bool is an int in Python but never a valid run or spill number.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return "?"


def _describe(exc: fastjsonschema.JsonSchemaValueException) -> str:
    """Turn fastjsonschema's ``data.a.b[2] must be ...`` into ``a.b[2] must be ... (got x)``."""
    field = _field_path(exc.name)
    if exc.rule == "required":
        present = exc.value if isinstance(exc.value, Mapping) else {}
        required = (exc.definition or {}).get("required", [])
        missing = [_join(field, name) for name in required if name not in present]
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
    if exc.rule == "const":
        requirement = f"must be {exc.definition['const']!r}"
    else:
        requirement = exc.message
        if requirement.startswith(exc.name):
            requirement = requirement[len(exc.name):].strip()
    return f"{field or 'spill'} {requirement} (got {_short_repr(exc.value)})"


def _field_path(name: str) -> str:
    # fastjsonschema names the document "data": "data.daq_data.tof1[0]" -> "daq_data.tof1[0]".
    return name[len("data"):].lstrip(".") if name.startswith("data") else name


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."
