"""Exceptions turned into JSON-safe error records, on the worker side.

A worker never sends an exception object anywhere: it sends a dict of strings and numbers,
so an exception that cannot be pickled (or serialised at all) cannot break a reply, and the
traceback, host name and PID always reach go.py (the original system lost the traceback).
"""
from __future__ import annotations

import os
import socket
import traceback
from typing import Any

from maus_online.errors import MausError


class ConfigurationMismatch(MausError):
    """A task names a configuration ID that its sub-process does not run: it is refused."""


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """``{"type", "message", "traceback", "hostname", "pid"}`` for ``exc``.

    >>> describe_exception(ValueError("no slab 11"))["message"]
    'no slab 11'
    """
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - even a broken __str__ must not hide the error
        message = f"<{type(exc).__name__} whose message cannot be shown>"
    return {
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": message,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
    }


def one_line(error: dict[str, Any]) -> str:
    """The error record as one line: ``"ValueError: no slab 11 (host h, PID 12)"``."""
    kind = str(error.get("type", "?")).rsplit(".", 1)[-1]
    return (f"{kind}: {error.get('message', '')} "
            f"(host {error.get('hostname', '?')}, PID {error.get('pid', '?')})")
