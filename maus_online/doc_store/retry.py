"""Riding out a document-store outage: retry with back-off, say so, and give up only late.

A store server restarting for a few seconds must not end a run (issue 4, "store outage"):
both halves of a job wrap their store calls in a :class:`Retrying`, which waits 0.5 s, 1 s,
2 s ... (at most ``max_delay``) between attempts, reports each failure through ``note`` (the
console), and raises the last :class:`DocumentStoreError` once ``timeout`` seconds have passed.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ..catalogue import say
from ..errors import DocumentStoreError

T = TypeVar("T")


class Retrying:
    """``Retrying(timeout=60, note=print).call("read spills", store.read, 0, 10)``."""

    def __init__(self, timeout: float, note: Callable[[str], None] = print, *,
                 first_delay: float = 0.5, max_delay: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.timeout = timeout
        self.note = note
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.sleep = sleep

    def call(self, what: str, function: Callable[..., T], *args: object) -> T:
        """``function(*args)``, retried on :class:`DocumentStoreError` until ``timeout``."""
        deadline = time.monotonic() + self.timeout
        delay = self.first_delay
        failures = 0
        while True:
            try:
                result = function(*args)
            except DocumentStoreError as exc:
                failures += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DocumentStoreError(say("MAUS-112", what=what,
                                                 timeout=f"{self.timeout:g}",
                                                 reason=exc)) from exc
                wait = min(delay, remaining)
                self.note(say("MAUS-110", what=what, reason=exc, delay=f"{wait:.1f}"))
                self.sleep(wait)
                delay = min(2 * delay, self.max_delay)
                continue
            if failures:
                self.note(say("MAUS-111", what=what, failures=failures))
            return result
