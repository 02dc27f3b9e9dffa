"""The spill side of one worker process: born, used for tasks, re-born on a new configuration.

Each pool sub-process has one :class:`TransformHost`, which holds a
:class:`~maus_online.dataflows.spill_side.SpillSide` (the transform chain and the reducers'
fill parts: what every dataflow does next to the data) under a configuration ID. Births arrive
from the worker's main process over the sub-process's control channel (a thread), while tasks
run in the main thread; a lock makes a birth wait for the task in progress, so a spill is
never processed by a chain that is half replaced.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from maus_online.catalogue import say
from maus_online.dataflows.spill_side import SpillSide, SpillSideSpec
from maus_online.registry import Registry, build_default_registry

from .errors import ConfigurationMismatch, describe_exception

log = logging.getLogger(__name__)


class TransformHost:
    """Holds this process's spill side and its configuration ID; consumes spills of that
    configuration and produces them as they are stored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self.side: SpillSide | None = None
        self.config_id: str | None = None
        self.config: Mapping[str, Any] = {}
        self.error: dict[str, Any] | None = None

    def birth(self, spec: dict[str, Any], config: Mapping[str, Any],
              config_id: str) -> dict[str, Any]:
        """Death of the old spill side, birth of the new; returns :meth:`status`.

        Names are looked up in the registry only: the spec came over the network. On failure
        the process runs no chain at all, so that it refuses tasks rather than running the old
        configuration under a new ID.
        """
        with self._lock:
            if config_id == self.config_id and self.side is not None:
                return self._status()
            self._death()
            try:
                side = SpillSide.from_spec(SpillSideSpec.from_dict(spec), self._known_modules())
                side.birth(config)
            except Exception as exc:  # noqa: BLE001 - reported to go.py with its traceback
                self.error = describe_exception(exc)
                log.error("%s", say("MAUS-201", specification=spec, pid=os.getpid(),
                                    traceback=self.error["traceback"]))
                return self._status()
            self.side, self.config_id, self.config, self.error = side, config_id, config, None
            return self._status()

    def death(self) -> None:
        with self._lock:
            self._death()

    def configuration_for(self, config_id: str) -> Mapping[str, Any]:
        """The born configuration, if it is ``config_id``; :class:`ConfigurationMismatch` if not."""
        with self._lock:
            self._check(config_id)
            return self.config

    def process(self, spill: dict[str, Any], config_id: str) -> dict[str, Any]:
        """The spill as it is stored (transformed, partials filled, cut to what the merge side
        reads) if this process runs ``config_id``; refused otherwise."""
        with self._lock:
            self._check(config_id)
            return self.side.process(spill)

    def _check(self, config_id: str) -> None:
        if self.side is None or config_id != self.config_id:
            raise ConfigurationMismatch(
                f"sub-process {os.getpid()} runs configuration {self.config_id or 'none'}, "
                f"the task was sent for {config_id}: refused, not processed")

    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._status()

    def peek(self) -> dict[str, Any]:
        """:meth:`status` without the lock: answered at once, even while a spill is processed
        (the farm status asks every few seconds and must not wait on a slow map)."""
        return self._status()

    def _status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "config_id": self.config_id,
                "ok": self.error is None and self.side is not None, "error": self.error}

    def _death(self) -> None:
        side, self.side, self.config_id = self.side, None, None
        if side is None:
            return
        try:
            side.death()
        except Exception as exc:  # noqa: BLE001 - the new chain must still be born
            log.warning("%s", say("MAUS-204", pid=os.getpid(),
                                  traceback=describe_exception(exc)["traceback"]))

    def _known_modules(self) -> Registry:
        if self._registry is None:
            self._registry = build_default_registry()
        return self._registry


_host: TransformHost | None = None
_host_pid: int | None = None


def current_host() -> TransformHost:
    """This process's host, made anew in a forked child (a lock must not cross a fork)."""
    global _host, _host_pid
    if _host is None or _host_pid != os.getpid():
        _host, _host_pid = TransformHost(), os.getpid()
    return _host
