"""The transform chain of one worker process: born, used for tasks, re-born on a new configuration.

Each pool sub-process has one :class:`TransformHost`. Births arrive from the worker's main
process over the sub-process's control channel (a thread), while tasks run in the main
thread; a lock makes a birth wait for the task in progress, so a spill is never processed by a
chain that is half replaced.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from maus_online.catalogue import say
from maus_online.modules import MapBase, apply_map
from maus_online.registry import Registry, build_default_registry
from maus_online.specification import Specification, build_transform
from maus_online.spill import project

from .errors import ConfigurationMismatch, describe_exception

log = logging.getLogger(__name__)


class TransformHost:
    """Holds the current transform chain and its configuration ID in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self.transform: MapBase | None = None
        self.config_id: str | None = None
        self.specification: Specification | None = None
        self.config: Mapping[str, Any] = {}
        self.error: dict[str, Any] | None = None
        #: Top-level fields a transformed spill is sent back with (None: all of them).
        self.return_fields: list[str] | None = None

    def birth(self, specification: Specification, config: Mapping[str, Any],
              config_id: str, return_fields: list[str] | None = None) -> dict[str, Any]:
        """Death of the old chain, birth of the new; returns :meth:`status`.

        Names are looked up in the registry only: the specification came over the network.
        On failure the process runs no chain at all, so that it refuses tasks rather than
        running the old configuration under a new ID.
        """
        with self._lock:
            if config_id == self.config_id and self.transform is not None:
                return self._status()
            self._death()
            try:
                transform = build_transform(specification, self._known_modules())
                transform.birth(config)
            except Exception as exc:  # noqa: BLE001 - reported to go.py with its traceback
                self.error = describe_exception(exc)
                log.error("%s", say("MAUS-201", specification=specification,
                                    pid=os.getpid(), traceback=self.error["traceback"]))
                return self._status()
            self.transform, self.config_id = transform, config_id
            self.specification, self.config, self.error = specification, config, None
            self.return_fields = return_fields
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
        """Transform ``spill`` if this process runs ``config_id``; refuse it otherwise.

        Returns the spill projected on :attr:`return_fields`: what the merge side reads.
        """
        with self._lock:
            self._check(config_id)
            return project(apply_map(self.transform, spill), self.return_fields)

    def _check(self, config_id: str) -> None:
        if self.transform is None or config_id != self.config_id:
            raise ConfigurationMismatch(
                f"sub-process {os.getpid()} runs configuration {self.config_id or 'none'}, "
                f"the task was sent for {config_id}: refused, not processed")

    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._status()

    def _status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "config_id": self.config_id,
                "ok": self.error is None and self.transform is not None, "error": self.error}

    def _death(self) -> None:
        transform, self.transform, self.config_id = self.transform, None, None
        if transform is None:
            return
        try:
            transform.death()
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
