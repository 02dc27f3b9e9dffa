"""One station trigger of ``daq_data``: its V1290 (TDC) and V1724 (fADC) hit lists, checked.

Shared by both ways of making digits (this project's and MAUS's, :mod:`.maus_digits`): real
MAUS writes ``null`` for a station that recorded nothing and leaves a board's list out when
the board had no hit, both legal; anything else that is not the documented layout is
reported in ``messages`` and read as no hits.
"""
from __future__ import annotations

from typing import Any


def is_number(value: Any) -> bool:
    """An int or a float, not a bool (JSON's true is no TDC count)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def board_lists(trigger: Any, where: str, messages: list[str]) -> tuple[list, list]:
    """``(V1290 hits, V1724 hits)`` of one station trigger found at ``where``."""
    if trigger is None:
        return [], []
    if not isinstance(trigger, dict):
        messages.append(f"{where} is {type(trigger).__name__}, expected an object")
        return [], []
    lists = []
    for name in ("V1290", "V1724"):
        hits = trigger.get(name) or []
        if not isinstance(hits, list):
            messages.append(f"{where}.{name} is {type(hits).__name__}, expected a list")
            hits = []
        lists.append(hits)
    return lists[0], lists[1]
