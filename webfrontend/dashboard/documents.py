"""A JSON document that go.py rewrites in the image directory: ``farm.json``, ``quality.json``.

Unlike the sidecars (image_store.py), each is one file of a fixed name, read at every poll of
every browser and at every Prometheus scrape. :class:`WatchedDocument` reads it through
``json_files.read_json_file`` (regular files only, size and depth limits, strict JSON), checks
it with the caller's function, and caches the result by (mtime, size, inode): a poll costs a
``stat``, and a file that is refused is logged once per version of it (MAUS-320, or the
caller's own message), not at every poll::

    farm = WatchedDocument("/data/maus/images", "farm.json", JsonLimits(), check_farm)
    document, problem = farm.read()     # (dict, "") or (None, "why not, for the page")

No Django: plain Python.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .json_files import JsonLimits, describe, printable, read_json_file
from .messages import say

log = logging.getLogger(__name__)

Check = Callable[[Any], dict[str, Any]]


class WatchedDocument:
    """Consumes the file ``name`` of ``directory``; produces its checked content, or None and
    the reason. Safe to share between the threads of a web server.

    ``check`` takes the parsed JSON and returns the document, or raises ValueError naming the
    field that is wrong. A missing file is no warning (go.py has not written it yet), only a
    reason. ``message`` is the catalogue entry a refused version is logged with (its fields:
    ``directory``, ``name``, ``reason``).
    """

    def __init__(self, directory: str | os.PathLike[str], name: str, limits: JsonLimits,
                 check: Check, message: str = "MAUS-320") -> None:
        self.directory = Path(os.path.abspath(directory))
        self.name = name
        self.path = self.directory / name
        self.limits = limits
        self.check = check
        self.message = message
        self._cached: tuple[tuple[int, int, int], dict[str, Any] | None, str] | None = None
        self._lock = threading.Lock()

    def read(self) -> tuple[dict[str, Any] | None, str]:
        try:
            # Not followed: a symlink is refused by read_json_file, and must be keyed as one.
            status = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return None, f"there is no {self.name} in the image directory"
        key = (status.st_mtime_ns, status.st_size, status.st_ino)
        with self._lock:
            if self._cached is None or self._cached[0] != key:
                self._cached = (key, *self._load())
            return self._cached[1], self._cached[2]

    def _load(self) -> tuple[dict[str, Any] | None, str]:
        try:
            return self.check(read_json_file(self.path, self.limits)), ""
        except (OSError, ValueError) as exc:  # JsonFileError and the checks' are ValueErrors
            reason = describe(exc)
            log.warning("%s", say(self.message, directory=printable(self.directory),
                                  name=self.name, reason=reason))
            return None, f"{self.name} cannot be used ({reason})"
