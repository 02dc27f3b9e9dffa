"""The module API every stage of the dataflow shares (DESIGN §3).

Each module has the same life cycle::

    module.birth(config)    # configure from the merged configuration; may raise
    ...process / emitter / save...
    module.death()          # release resources

Kinds, told apart by base class:

* :class:`InputBase`  -- ``emitter()`` yields spill documents.
* :class:`MapBase`    -- ``process(spill) -> spill``; stateless between spills.
* :class:`ReduceBase` -- ``process(spill) -> list of documents``; keeps state over a run.
* :class:`OutputBase` -- ``save(document)``; writes documents somewhere.

Maps may raise on bad data; :func:`apply_map` (used by :class:`MapPyGroup` and the
dataflows) turns the exception into an entry of the spill's ``errors`` object so that a bad
spill never stops the run.
"""
from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

Spill = dict[str, Any]
Config = Mapping[str, Any]


class ModuleBase:
    """Common life cycle. Subclasses override the hooks they need; the defaults do nothing."""

    #: "input", "map", "reduce" or "output"; set by the kind's base class.
    kind: ClassVar[str] = ""

    @classmethod
    def module_name(cls) -> str:
        """The name under which the module is registered and reflected: its class name."""
        return cls.__name__

    def birth(self, config: Config) -> None:
        """Configure the module from the merged configuration."""

    def death(self) -> None:
        """Release whatever birth acquired."""


class InputBase(ModuleBase):
    """Produces spill documents: ``emitter()`` yields one ``dict`` per spill."""

    kind = "input"

    def emitter(self) -> Iterator[Spill]:
        raise NotImplementedError(f"{self.module_name()} must implement emitter()")


class MapBase(ModuleBase):
    """Consumes a spill and returns the transformed spill (usually the same dict, filled in)."""

    kind = "map"

    def process(self, spill: Spill) -> Spill:
        raise NotImplementedError(f"{self.module_name()} must implement process(spill)")


class ReduceBase(ModuleBase):
    """Consumes every spill of a run in order; returns zero or more output documents per spill.

    A reducer is born at the start of each run and dies at its end; the end-of-run spill is
    the moment to emit final documents.
    """

    kind = "reduce"

    #: Top-level spill fields the reducer reads beyond the envelope (run, spill, type,
    #: errors); ``None`` means all of them. When transforms run on workers, only the fields
    #: the merge side reads come back, because moving a spill costs more than making it.
    spill_fields: ClassVar[tuple[str, ...] | None] = None

    def process(self, spill: Spill) -> list[dict[str, Any]]:
        raise NotImplementedError(f"{self.module_name()} must implement process(spill)")


class OutputBase(ModuleBase):
    """Consumes documents (spills and reducer output) and saves the ones it understands."""

    kind = "output"

    #: As :attr:`ReduceBase.spill_fields`: what the output saves of a spill (``None``: all).
    spill_fields: ClassVar[tuple[str, ...] | None] = None

    def save(self, document: dict[str, Any]) -> None:
        raise NotImplementedError(f"{self.module_name()} must implement save(document)")


def record_error(spill: Spill, module_name: str, message: str) -> None:
    """Append ``message`` to ``spill["errors"][module_name]``, creating what is missing.

    A spill read from a file may hold something other than a list there; it is kept, as its
    repr, in front of the new message.
    """
    errors = spill.get("errors")
    if not isinstance(errors, dict):
        errors = spill["errors"] = {}
    messages = errors.setdefault(module_name, [])
    if not isinstance(messages, list):
        messages = errors[module_name] = [repr(messages)]
    messages.append(message)


#: Frames of a map's traceback kept in the spill's error message (the innermost ones).
TRACEBACK_FRAMES = 6


def describe_error(exc: BaseException) -> str:
    """``"Type: message"`` on the first line, then the innermost frames of the traceback.

    The first line is what summaries show; the traceback is what the expert debugging a
    worker on another machine needs (the original system lost it).
    """
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails still gets reported
        message = "<message unavailable>"
    frames = "".join(traceback.format_tb(exc.__traceback__, limit=-TRACEBACK_FRAMES))
    return f"{type(exc).__name__}: {message}\nTraceback (innermost frames):\n{frames}".rstrip()


def apply_map(module: MapBase, spill: Spill) -> Spill:
    """Run ``module.process`` on ``spill``; an exception becomes an entry in ``spill["errors"]``.

    A map must never end the run because one spill is bad (DESIGN §3), so every exception
    short of an interrupt is recorded against the module that raised it, with its traceback.
    """
    try:
        result = module.process(spill)
    except Exception as exc:  # noqa: BLE001 - recorded, not swallowed
        record_error(spill, module.module_name(), describe_error(exc))
        return spill
    if not isinstance(result, dict):
        record_error(spill, module.module_name(),
                     f"process() returned {type(result).__name__}, expected the spill dict")
        return spill
    return result


class MapPyGroup(MapBase):
    """Chains maps: ``MapPyGroup(MapPyA(), MapPyB())`` feeds each spill through A, then B.

    Birth and death reach every member; an error in one member is recorded in the spill and
    the spill goes on to the next member.
    """

    def __init__(self, *workers: MapBase) -> None:
        self.workers: list[MapBase] = list(workers)

    def append(self, worker: MapBase) -> None:
        self.workers.append(worker)

    def birth(self, config: Config) -> None:
        born: list[MapBase] = []
        try:
            for worker in self.workers:
                worker.birth(config)
                born.append(worker)
        except BaseException:
            # Undo the members already born, so a failed birth leaks nothing.
            for worker in reversed(born):
                worker.death()
            raise

    def process(self, spill: Spill) -> Spill:
        for worker in self.workers:
            spill = apply_map(worker, spill)
        return spill

    def death(self) -> None:
        first_error: BaseException | None = None
        for worker in self.workers:
            try:
                worker.death()
            except Exception as exc:  # noqa: BLE001 - every member still gets its death
                first_error = first_error or exc
        if first_error is not None:
            raise first_error


def fields_read(modules: Sequence[ModuleBase]) -> list[str] | None:
    """The top-level spill fields ``modules`` read together; ``None`` when one reads them all."""
    fields: set[str] = set()
    for module in modules:
        wanted = getattr(module, "spill_fields", None)
        if wanted is None:
            return None
        fields.update(wanted)
    return sorted(fields)


def members(module: MapBase) -> Sequence[MapBase]:
    """The members of a group, or an empty sequence for a single map."""
    return module.workers if isinstance(module, MapPyGroup) else ()
