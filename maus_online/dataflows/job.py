"""The skeleton every dataflow shares: births, the reading loop, Ctrl-C, finishing, closing.

Written once, so that each dataflow says only what differs (what it reads and how it
finishes)::

    with Job(stats, progress) as job:
        job.born(stages.inputter, config)          # died when the job closes, in reverse
        job.closing(store.close)
        job.run(read=lambda stop: ..., finish=lambda: ...)

* **Ctrl-C** ends the reading, then the job finishes (the open run is closed, its final
  documents written); a second Ctrl-C abandons the finishing. Python raises the
  ``KeyboardInterrupt`` wherever the main thread happens to be, and an interrupt that lands
  in a finaliser (a weakref callback, ``__del__``) is swallowed; so the handler also raises a
  flag, and the reading loop, which asks :meth:`Stop.check` between spills, stops anyway.
* **A run whose servers stayed away** past ``server_outage_timeout``
  (:class:`~maus_online.outages.ServerDown`) still salvages what it can -- the merge side
  reduces what the store holds and closes the open run, so the images of every spill reduced
  so far are written -- and then the error is raised. Other errors (a birth that failed, a
  configuration the workers refused) end the run as they are: nothing was done to save.
* **Closing** runs every close in reverse order of registration, each even when an earlier
  one failed. A close that fails never masks the error that ended the job: the first error
  is the one raised, later ones are logged.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import Any, TypeVar

from ..modules import Config, ModuleBase
from ..outages import ServerDown
from .progress import ProgressDisplay
from .statistics import RunStatistics

log = logging.getLogger(__name__)
T = TypeVar("T")


class Stop:
    """Whether Ctrl-C asked the reading to stop."""

    def __init__(self) -> None:
        self.requested = False

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (even if its first one was lost)."""
        if self.requested:
            raise KeyboardInterrupt

    def guard(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, stopping with ``KeyboardInterrupt`` at the first one after a Ctrl-C."""
        for item in items:
            self.check()
            yield item


class Job:
    """One dataflow's run: consumes its modules and resources, closes them all at the end."""

    def __init__(self, stats: RunStatistics, progress: ProgressDisplay) -> None:
        self.stats, self.progress = stats, progress
        self._closers: list[tuple[str, Callable[[], Any]]] = [("progress display",
                                                               progress.close)]

    def closing(self, close: Callable[[], Any], what: str = "") -> None:
        """Call ``close`` when the job ends, before what was registered earlier."""
        self._closers.append((what or getattr(close, "__qualname__", repr(close)), close))

    def born(self, module: ModuleBase | Any, config: Config) -> None:
        """Birth ``module`` now and its death when the job ends."""
        module.birth(config)
        self.closing(module.death, f"death of {type(module).__name__}")

    def run(self, read: Callable[[Stop], None], finish: Callable[[], None],
            salvage: Callable[[], None] | None = None) -> None:
        """``read`` until it returns or Ctrl-C, then ``finish`` (a second Ctrl-C abandons it);
        when a server stayed down too long (:class:`ServerDown`), ``salvage`` before the
        error is raised."""
        stop = Stop()
        previous = _catch_ctrl_c(stop)
        try:
            try:
                try:
                    read(stop)
                except KeyboardInterrupt:
                    self.stats.interrupted = True
                finish()
            except ServerDown:
                if salvage is not None:
                    self._salvage(salvage)
                raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    @staticmethod
    def _salvage(salvage: Callable[[], None]) -> None:
        try:
            salvage()
        except Exception as exc:  # noqa: BLE001 - the error that ended the run is the one raised
            log.error("while saving what the run had done, %s: %s", type(exc).__name__, exc)

    def __enter__(self) -> Job:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: Any) -> None:
        first: BaseException | None = None
        for what, close in reversed(self._closers):
            try:
                close()
            except Exception as exc:  # noqa: BLE001 - every close runs; the first error wins
                if error is None and first is None:
                    first = exc
                else:
                    log.error("while closing the job, %s failed too: %s: %s", what,
                              type(exc).__name__, exc)
        self._closers.clear()
        if first is not None:
            raise first


def _catch_ctrl_c(stop: Stop) -> Any:
    """Install a SIGINT handler that raises the flag as well as ``KeyboardInterrupt``; return
    the handler it replaced (None when it could not: another thread, or SIGINT ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        return None  # ignored, or the embedding program's own: leave it

    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop.requested = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    return previous
