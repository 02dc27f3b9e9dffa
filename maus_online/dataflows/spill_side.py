"""The spill side of a dataflow: the transform chain, then the reducers' fill parts, by the data.

What happens to one spill before it crosses to the merge side (DESIGN §7a), in one place for
every dataflow: in go.py's own loop (``pipeline_single_thread``), in a Celery worker's
sub-process (``workers/host.py``), and in :class:`~maus_online.dataflows.executor.
InProcessExecutor`. So the bins are the same whichever process filled them.

1. the maps transform the spill;
2. each reducer that splits (:meth:`ReduceBase.splits`) fills its partial from the transformed
   physics spill, into ``spill["partials"][name]`` (``None`` and an entry in ``errors`` when
   its fill part raised);
3. the spill is cut to the envelope, the partials and the fields the merge side reads.

An input error (:func:`~maus_online.spill.input_failed`: unreadable, invalid, or refused)
skips 1 and 2: the maps would only fail again or, worse, reconstruct what validation has
just rejected, and a partial of it would reach the plots. It is only cut (3), and goes on,
so that the merge side outputs it and counts its error.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import SpecificationError
from ..modules import (PARTIALS, Config, MapBase, ReduceBase, Spill, apply_map, describe_error,
                       fields_read, record_error)
from ..registry import Registry
from ..specification import Specification, build_transform
from ..spill import input_failed, is_physics, project
from .assembly import Stages


@dataclass(frozen=True)
class SpillSideSpec:
    """What the spill side runs, in names (it travels to the workers as JSON): the transform
    specification, the reducers whose fill parts run there, and the top-level fields kept of
    each spill beyond the envelope and the partials (``None``: all of them)."""

    transform: Specification
    fillers: tuple[str, ...] = ()
    fields: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"transform": self.transform, "fillers": list(self.fillers),
                "fields": None if self.fields is None else list(self.fields)}

    @classmethod
    def from_dict(cls, data: Any) -> SpillSideSpec:
        """The spec of :meth:`as_dict`; a malformed one (it came over the network) is refused."""
        if not isinstance(data, Mapping) or "transform" not in data:
            raise SpecificationError(f"spill-side spec {data!r} has no transform")
        fillers, fields = data.get("fillers", ()), data.get("fields")
        if not _names(fillers) or not (fields is None or _names(fields)):
            raise SpecificationError(f"spill-side spec: fillers {fillers!r} and fields "
                                     f"{fields!r} must be lists of names")
        return cls(data["transform"], tuple(fillers),
                   None if fields is None else tuple(fields))


def _names(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def spill_side_spec(stages: Stages) -> SpillSideSpec:
    """What the spill side must do for ``stages``' merge side: the fill parts of its reducers
    that split, and the fields its other reducers and its outputs read."""
    fields = fields_read([*stages.reducers, *stages.outputters])
    return SpillSideSpec(stages.specification,
                         tuple(r.module_name() for r in stages.reducers if r.splits()),
                         None if fields is None else tuple(fields))


class SpillSide:
    """Consumes raw spills; produces them transformed, with the partials of the reducers that
    split, cut to what the merge side reads (see the module docstring)."""

    def __init__(self, transform: MapBase, fillers: Sequence[ReduceBase] = (),
                 fields: Sequence[str] | None = None) -> None:
        self.transform = transform
        self.fillers = list(fillers)
        #: What the stored spill keeps beyond the envelope: the fields, and the partials.
        self._kept = None if fields is None else [*fields, PARTIALS]

    @classmethod
    def from_spec(cls, spec: SpillSideSpec, registry: Registry) -> SpillSide:
        """Built from names looked up in ``registry`` only (the spec may have come over the
        network: nothing is imported or evaluated)."""
        return cls(build_transform(spec.transform, registry),
                   [registry.create(name, "reduce") for name in spec.fillers], spec.fields)

    @classmethod
    def for_stages(cls, stages: Stages, fields: Sequence[str] | None = None) -> SpillSide:
        """The spill side of ``stages`` in this process: their chain, fresh instances of their
        reducers that split (the merge side keeps its own), whole spills kept unless
        ``fields`` names what to keep."""
        return cls(stages.transformer,
                   [type(reducer)() for reducer in stages.reducers if reducer.splits()], fields)

    def birth(self, config: Config) -> None:
        self.transform.birth(config)
        try:
            for filler in self.fillers:
                filler.birth_fill(config)
        except BaseException:
            self.transform.death()
            raise

    def process(self, spill: Spill) -> Spill:
        if not input_failed(spill):
            spill = apply_map(self.transform, spill)
            if self.fillers and is_physics(spill):
                spill[PARTIALS] = {filler.module_name(): self._fill(filler, spill)
                                   for filler in self.fillers}
        return project(spill, self._kept)

    def death(self) -> None:
        self.transform.death()

    @staticmethod
    def _fill(filler: ReduceBase, spill: Spill) -> Any:
        try:
            return filler.fill_partial(spill)
        except Exception as exc:  # noqa: BLE001 - recorded in the spill, the run goes on
            record_error(spill, filler.module_name(), describe_error(exc))
            return None
