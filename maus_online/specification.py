"""Transform specifications: the reflected, printable form of a chain of maps.

A specification is either a map name or a group of specifications. It has two forms:

* nested names (JSON-safe, what travels to workers): ``"MapPyTOFDigits"`` or
  ``{"MapPyGroup": ["MapPyTOFDigits", "MapPyTOFSlabHits"]}``;
* the printable string: ``"MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits)"``.

>>> spec = parse_specification("MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits)")
>>> spec
{'MapPyGroup': ['MapPyTOFDigits', 'MapPyTOFSlabHits']}
>>> format_specification(spec)
'MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits)'

A chain is rebuilt with :func:`build_transform`, which looks every name up in a
:class:`~maus_online.registry.Registry` and never evaluates text.
"""
from __future__ import annotations

import re
from typing import Union

from .errors import SpecificationError
from .modules import MapBase, MapPyGroup
from .registry import Registry

Specification = Union[str, dict[str, list["Specification"]]]

GROUP = MapPyGroup.module_name()
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_.]*(?::[A-Za-z_][A-Za-z0-9_]*)?)"
                    r"|(?P<punct>[(),]))")


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise SpecificationError(
                f"transform specification {text!r}: unexpected {text[position:].strip()[:20]!r} "
                f"at character {position + 1}")
        tokens.append(match.group("name") or match.group("punct"))
        position = match.end()
    return tokens


def parse_specification(text: str) -> Specification:
    """Parse ``"MapPyGroup(A, B, MapPyGroup(C))"`` into nested names; errors say where."""
    tokens = _tokens(text)
    if not tokens:
        raise SpecificationError("transform specification is empty; name at least one map")
    spec, end = _parse(tokens, 0, text)
    if end != len(tokens):
        raise SpecificationError(
            f"transform specification {text!r}: unexpected {tokens[end]!r} after the end")
    return spec


def _parse(tokens: list[str], index: int, text: str) -> tuple[Specification, int]:
    name = tokens[index]
    if name in "(),":
        raise SpecificationError(f"transform specification {text!r}: expected a map name, "
                                 f"found {name!r}")
    index += 1
    if index == len(tokens) or tokens[index] != "(":
        return name, index
    if name != GROUP:
        raise SpecificationError(f"transform specification {text!r}: only {GROUP} takes "
                                 f"members, not {name!r}")
    children: list[Specification] = []
    index += 1
    while True:
        if index == len(tokens):
            raise SpecificationError(f"transform specification {text!r}: missing ')'")
        if tokens[index] == ")":
            return {GROUP: children}, index + 1
        child, index = _parse(tokens, index, text)
        children.append(child)
        if index < len(tokens) and tokens[index] == ",":
            index += 1
        elif index < len(tokens) and tokens[index] != ")":
            raise SpecificationError(f"transform specification {text!r}: expected ',' or ')' "
                                     f"after {child if isinstance(child, str) else GROUP!r}")


def format_specification(spec: Specification) -> str:
    """The printable string of a nested specification."""
    if isinstance(spec, str):
        return spec
    children = _group_members(spec)
    return f"{GROUP}({', '.join(format_specification(child) for child in children)})"


def reflect(transform: MapBase) -> Specification:
    """The nested specification of a live chain of maps."""
    if isinstance(transform, MapPyGroup):
        return {GROUP: [reflect(member) for member in transform.maps]}
    return transform.module_name()


def resolve_import_paths(spec: Specification, registry: Registry) -> Specification:
    """Load ``package.module:Class`` names into ``registry`` and return the spec with class names.

    For the local configuration only: workers receive the result, which holds plain names.
    """
    if isinstance(spec, str):
        return registry.resolve(spec, kind="map")
    return {GROUP: [resolve_import_paths(child, registry) for child in _group_members(spec)]}


def build_transform(spec: Specification, registry: Registry) -> MapBase:
    """Instantiate the chain described by ``spec``, every name looked up in ``registry``."""
    if isinstance(spec, str):
        if spec == GROUP:
            return MapPyGroup()
        return registry.create(spec, kind="map")  # type: ignore[return-value]
    return MapPyGroup(*(build_transform(child, registry) for child in _group_members(spec)))


def _group_members(spec: object) -> list[Specification]:
    if (isinstance(spec, dict) and list(spec) == [GROUP] and isinstance(spec[GROUP], list)):
        return spec[GROUP]
    raise SpecificationError(f"{spec!r} is not a transform specification: expected a map name "
                             f"or {{{GROUP!r}: [members]}}")
