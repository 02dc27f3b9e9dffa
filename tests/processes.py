"""What tests that run real processes share: waiting on a condition, never on a clock.

``wait_until`` is the one poll loop of the suite. It returns the condition's first true value,
fails with ``what`` after ``timeout`` seconds, and fails at once, with the process's output,
when a ``process`` it watches ends before the condition holds.
"""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

#: Seconds between two polls: short next to any timeout, long next to a poll's own cost.
POLL_PERIOD = 0.05


def wait_until(condition: Callable[[], T], what: str, timeout: float = 120.0,
               process: subprocess.Popen | None = None) -> T:
    """Poll ``condition`` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            output = process.communicate() if process.stdout is not None else ""
            pytest.fail(f"the process ended before {what}: {output}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_PERIOD)
