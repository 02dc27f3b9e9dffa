"""The module API every stage of the dataflow shares (DESIGN §3).

Each module has the same life cycle::

    module.birth(config)    # configure from the merged configuration; may raise
    ...process / emitter / save...
    module.death()          # release resources

Kinds, told apart by base class:

* :class:`InputBase`  -- ``emitter()`` yields spill documents.
* :class:`MapBase`    -- ``process(spill) -> spill``; stateless between spills.
* :class:`ReduceBase` -- ``process(spill) -> list of documents``; keeps state over a run. A
  reducer may split its per-spill work: a stateless *fill part* next to the data and a *merge
  part* that only adds (DESIGN §7a; :class:`ReduceBase` explains the hooks).
* :class:`OutputBase` -- ``save(document)``; writes documents somewhere; ``run_ended(run)``
  at each run's end.
* :class:`~maus_online.checks.base.CheckBase` -- ``judge(histograms, reference, context)``;
  a quality check of one plot (kind "check", :mod:`maus_online.checks`).

Any module may declare configuration keys of its own in :attr:`ModuleBase.config_keys`; go.py
validates them as it validates its own (docs/modules.md).

Maps may raise on bad data; :func:`apply_map` (used by :class:`MapPyGroup` and the
dataflows) turns the exception into an entry of the spill's ``errors`` object so that a bad
spill never stops the run.
"""
from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .run_record import RunRecord

Spill = dict[str, Any]
Config = Mapping[str, Any]

#: The spill field in which the spill side leaves each split reducer's partial result, by
#: reducer name (``None`` where the fill part failed; the reason is in ``errors``).
PARTIALS = "partials"


class ModuleBase:
    """Common life cycle. Subclasses override the hooks they need; the defaults do nothing."""

    #: "input", "map", "reduce", "output" or "check"; set by the kind's base class.
    kind: ClassVar[str] = ""

    #: Configuration keys this module adds to go.py's, in the form of ``conf/defaults.toml``'s
    #: entries: ``{"tof_beta_bins": {"type": "int", "default": 150, "minimum": 1,
    #: "help": "..."}}``. go.py checks them, lists them in ``--help`` and hands them to birth.
    config_keys: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

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


@dataclass
class Collected:
    """What a reducer finished off the merge path since it was last asked (:meth:`ReduceBase.
    collect`): documents for the outputs, in the order they were asked for, and the errors
    of the work that failed (one line each, naming what failed)."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class ReduceBase(ModuleBase):
    """Consumes every spill of a run in order; returns zero or more output documents per spill.

    A reducer is born at the start of each run and dies at its end; the end-of-run spill is
    the moment to emit final documents. The merge side (:class:`~maus_online.dataflows.
    MergeOutput`) owns run boundaries: a reducer never needs to look for them itself.

    **The split** (DESIGN §7a). Moving a reconstructed spill costs more than filling a
    histogram from it, so a reducer may do its per-spill reading where the spill is:

    * the *fill part*, on the spill side -- in the worker sub-process right after the
      transform chain, or in go.py's own loop for ``pipeline_single_thread``: one instance,
      :meth:`birth_fill` once, then :meth:`fill_partial` on every transformed physics spill,
      returning a small JSON-safe *partial*. It keeps nothing from one spill to the next.
    * the *merge part*, :meth:`process`, receives the spill's envelope (run, spill, type,
      errors) with the partial in ``spill["partials"][name]``, adds it to the run's state in
      spill order, and does everything else (refreshes, documents).

    A reducer splits when it implements :meth:`fill_partial` (:meth:`splits`). One that
    implements only :meth:`process` gets whole spills, cut to its :attr:`spill_fields`.
    """

    kind = "reduce"

    #: Top-level spill fields the reducer reads beyond the envelope (run, spill, type,
    #: errors); ``None`` means all of them. A reducer that splits reads them in its fill
    #: part; one that does not reads them in :meth:`process`, and only these fields (and the
    #: envelope) travel back from the workers, because moving a spill costs more than making it.
    spill_fields: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def splits(cls) -> bool:
        """Whether the reducer's per-spill reading is a fill part on the spill side."""
        return cls.fill_partial is not ReduceBase.fill_partial

    def birth_fill(self, config: Config) -> None:
        """Birth of the fill part alone: what :meth:`fill_partial` needs, nothing of drawing or
        of a run (the instance never sees :meth:`process`)."""

    def fill_partial(self, spill: Spill) -> Any:
        """The partial result of one transformed physics spill: JSON-safe, and independent of
        every other spill (the spill side keeps no state between spills)."""
        raise NotImplementedError(f"{self.module_name()} does not split its work")

    def process(self, spill: Spill) -> list[dict[str, Any]]:
        raise NotImplementedError(f"{self.module_name()} must implement process(spill)")

    def plot_tags(self) -> list[str]:
        """The image tags of the plots the reducer makes (known after birth): what the
        quality-checks file's patterns are matched against (:mod:`maus_online.checks`)."""
        return []

    def collect(self, wait: bool = False) -> Collected:
        """Documents finished off the merge path since the last call (images drawn in a
        process of their own); ``wait=True`` waits until every one asked for is finished.
        The merge side calls it between spills and, with ``wait``, before the reducer dies."""
        return Collected()


class OutputBase(ModuleBase):
    """Consumes documents (spills and reducer output) and saves the ones it understands."""

    kind = "output"

    #: As :attr:`ReduceBase.spill_fields`: what the output saves of a spill (``None``: all).
    spill_fields: ClassVar[tuple[str, ...] | None] = None

    def save(self, document: dict[str, Any]) -> None:
        raise NotImplementedError(f"{self.module_name()} must implement save(document)")

    def run_ended(self, run: RunRecord) -> None:
        """Hook: the run ``run`` has ended and its last documents are saved; :meth:`death`
        follows. ``run`` counts every spill of the run, even those a restarted merge-output
        reduced again without output. OutputPyImage archives the run's plots here."""


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

    def __init__(self, *maps: MapBase) -> None:
        self.maps: list[MapBase] = list(maps)

    def append(self, map_: MapBase) -> None:
        self.maps.append(map_)

    def birth(self, config: Config) -> None:
        born: list[MapBase] = []
        try:
            for member in self.maps:
                member.birth(config)
                born.append(member)
        except BaseException:
            # Undo the members already born, so a failed birth leaks nothing.
            for member in reversed(born):
                member.death()
            raise

    def process(self, spill: Spill) -> Spill:
        for member in self.maps:
            spill = apply_map(member, spill)
        return spill

    def death(self) -> None:
        first_error: BaseException | None = None
        for member in self.maps:
            try:
                member.death()
            except Exception as exc:  # noqa: BLE001 - every member still gets its death
                first_error = first_error or exc
        if first_error is not None:
            raise first_error


def fields_read(modules: Sequence[ModuleBase]) -> list[str] | None:
    """The top-level spill fields the merge side's ``modules`` read together; ``None`` when
    one reads them all. A reducer that splits reads none there: its partial comes instead."""
    fields: set[str] = set()
    for module in modules:
        if isinstance(module, ReduceBase) and module.splits():
            continue
        wanted = getattr(module, "spill_fields", None)
        if wanted is None:
            return None
        fields.update(wanted)
    return sorted(fields)


def members(module: MapBase) -> Sequence[MapBase]:
    """The members of a group, or an empty sequence for a single map."""
    return module.maps if isinstance(module, MapPyGroup) else ()
