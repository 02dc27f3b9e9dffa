"""An input and an output backed by Python lists: how the tests feed a dataflow and see what it
output, without files. One copy for every test module that needs them."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from maus_online.modules import InputBase, OutputBase


class InputPyList(InputBase):
    """Consumes a list of spills given at construction; produces them, in order."""

    def __init__(self, spills: Sequence[dict[str, Any]]) -> None:
        self.spills = spills

    def emitter(self) -> Iterator[dict[str, Any]]:
        yield from self.spills


class OutputPyList(OutputBase):
    """Consumes every document (spills and reducer documents); keeps them in ``saved``, and
    counts its births (one per run)."""

    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []
        self.births = 0

    def birth(self, config: Any) -> None:
        self.births += 1

    def save(self, document: dict[str, Any]) -> None:
        self.saved.append(document)
