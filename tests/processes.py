"""What tests that run real processes share: waiting on a condition, never on a clock, and
processes in the background whose output can be read while they run.

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
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}: "
                        f"{output}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_PERIOD)


class Background:
    """A process a test runs in the background, its output in files so that the test can
    watch it while it runs (a pipe would block the process once full, and cannot be read
    without blocking the test).

    The output files go to ``log_dir`` (default: ``cwd``). Shaped like
    :class:`subprocess.Popen` where tests use it: ``poll``, ``send_signal``,
    ``wait``, ``kill``, ``pid``, ``returncode``, and ``communicate`` returning the output
    so far as text. :meth:`output` is stdout and stderr as they are now.
    """

    def __init__(self, command: list[str], *, cwd, env=None, name: str = "process",
                 log_dir=None) -> None:
        from pathlib import Path

        directory = Path(log_dir or cwd)
        self.stdout_path = directory / f"{name}-{id(self):x}.stdout"
        self.stderr_path = directory / f"{name}-{id(self):x}.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                            stderr=err, stdin=subprocess.DEVNULL)
        self.pid = self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        return self.process.poll()

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.process.kill()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        return self.stdout + self.stderr

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        if self.process.poll() is None:
            self.process.wait(timeout)
        return self.stdout, self.stderr

    def stop(self) -> None:
        """Kill it if it still runs (the end of a test, whatever happened)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
