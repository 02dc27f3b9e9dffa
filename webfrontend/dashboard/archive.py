"""The run archive as the front-end sees it: run directories in, run summaries out.

When a run ends, go.py copies its final images and sidecars into ``<archive>/run_NNNNNN/``
(the run number in six digits), beside a ``run.json`` that sums the run up::

    {"format": 1, "run_number": 7, "complete": true, "archived_at": "2026-12-01T10:00:00+00:00",
     "first_spill_time": "...", "last_spill_time": "...",
     "spills": {"physics": 60, "run_markers": 2, "with_errors": 1, "input_errors": 0},
     "transform": "...", "configuration_id": "...", "version": "...",
     "plots": {"tof_time_01": {"image_file": "...", "sidecar": "tof_time_01.json", ...}},
     "quality": {"format_version": 1, "level": "Good", ...}}   # the run's quality.json

A run directory holds its plots exactly as the live image directory does, so an ``ImageStore``
reads it; this module finds the runs and reads their ``run.json``, and nothing else::

    archive = RunArchive("archive")
    for run in archive.runs():               # newest first
        print(run.run_number, run.physics_spills, archive.run_directory(run.run_number))

Rules, as for the image directory (image_store.py), because the archive is published too:

* Only directories named ``run_`` + six digits count. Names starting with ``.`` are a copy in
  progress and are not looked at; other names are ignored.
* A run directory that is a symlink is refused (nothing outside the archive can be named), as
  is a ``run.json`` that is not a regular file. ``run.json`` is read by
  ``json_files.read_json_file``, within the sidecar limits.
* A run whose ``run.json`` is missing, corrupt, half-written, too large or of another layout is
  skipped with one log line (MAUS-305) per version of the file; the other runs are listed.
* Parsed ``run.json`` files are cached by (mtime, size, inode), so listing 1,000 runs costs a
  directory scan and a ``stat`` per run, not 1,000 parses.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .json_files import JsonLimits, describe, printable, read_json_file
from .messages import say
from .quality import QualityError, parse_summary

log = logging.getLogger(__name__)

#: A run directory's name; the group is the run number.
RUN_DIRECTORY = re.compile(r"run_([0-9]{6})\Z")
#: The highest run number a directory name (and so a URL) can carry.
MAX_RUN_NUMBER = 999_999
RUN_FILE = "run.json"
#: The ``run.json`` layout this front-end understands.
RUN_FORMAT = 1
_SPILL_COUNTS = ("physics", "run_markers", "with_errors", "input_errors")
_REFUSED = (-1, -1, -1)  # a cache key no real stat has: the refusal is logged once


class RunError(ValueError):
    """A ``run.json`` is unusable; the message names the field and what it should be."""


@dataclass(frozen=True)
class RunSummary:
    """One archived run, as its ``run.json`` describes it (checked)."""

    run_number: int
    complete: bool  # False: the run was interrupted, and its plots are those of its last refresh
    archived_at: str
    first_spill_time: str | None
    last_spill_time: str | None
    physics_spills: int
    run_markers: int
    with_errors: int
    input_errors: int
    transform: str
    configuration_id: str
    version: str
    plot_count: int
    #: ``plots[tag].summary`` of each plot that has one (the run's final summary numbers, for
    #: /trends; trends.py checks their fields). Not compared: a run is its number and counts.
    plot_summaries: Mapping[str, dict[str, Any]] = field(default_factory=dict, compare=False,
                                                         repr=False)
    #: The run's quality summary at its end (quality.parse_summary), None when run.json has
    #: none; ``quality_error`` says why one that is there could not be used (MAUS-316).
    quality: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    quality_error: str = field(default="", compare=False, repr=False)

    @property
    def state(self) -> str:
        return "complete" if self.complete else "interrupted"


def run_directory_name(run_number: int) -> str:
    """``7`` -> ``run_000007``."""
    return f"run_{run_number:06d}"


def parse_run(document: Any, run_number: int) -> RunSummary:
    """Check a ``run.json`` (already parsed) of the directory of ``run_number``.

    Raises RunError naming the offending field. The counts and the state are required, since
    the list shows them; the texts may be missing (shown blank) but not of another type.
    """
    if not isinstance(document, dict):
        raise RunError("not a JSON object")
    if document.get("format") != RUN_FORMAT:
        raise RunError(f"format is {document.get('format')!r}; this front-end reads format "
                       f"{RUN_FORMAT}")
    if document.get("run_number") != run_number or isinstance(document.get("run_number"), bool):
        raise RunError(f"run_number is {document.get('run_number')!r}, but the directory is "
                       f"{run_directory_name(run_number)}")
    complete = document.get("complete")
    if not isinstance(complete, bool):
        raise RunError(f"complete is {complete!r}, expected true or false")
    spills = document.get("spills")
    if not isinstance(spills, dict):
        raise RunError("no 'spills' object")
    counts = {}
    for key in _SPILL_COUNTS:
        value = spills.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RunError(f"spills.{key} is {value!r}, expected a whole number >= 0")
        counts[key] = value
    texts = {}
    for key in ("archived_at", "transform", "configuration_id", "version"):
        value = document.get(key, "")
        if not isinstance(value, str):
            raise RunError(f"{key} is {type(value).__name__}, expected a string")
        texts[key] = value
    times = {}
    for key in ("first_spill_time", "last_spill_time"):
        value = document.get(key)
        if value is not None and not isinstance(value, str):
            raise RunError(f"{key} is {type(value).__name__}, expected a string or null")
        times[key] = value
    plots = document.get("plots", {})
    if not isinstance(plots, dict):
        raise RunError("plots is not an object")
    # A summary of another shape leaves a gap in a trend; it does not hide the run.
    summaries = {tag: plot["summary"] for tag, plot in plots.items()
                 if isinstance(plot, dict) and isinstance(plot.get("summary"), dict)}
    quality, quality_error = None, ""
    if document.get("quality") is not None:
        try:  # malformed quality hides the run's quality, not the run
            quality = parse_summary(document["quality"])
        except QualityError as exc:
            quality_error = str(exc)
    return RunSummary(run_number=run_number, complete=complete,
                      quality=quality, quality_error=quality_error,
                      physics_spills=counts["physics"], run_markers=counts["run_markers"],
                      with_errors=counts["with_errors"], input_errors=counts["input_errors"],
                      plot_count=len(plots), plot_summaries=summaries, **texts, **times)


@dataclass
class _CacheEntry:
    key: tuple[int, int, int]
    run: RunSummary | None  # None: refused, and that was logged once


class RunArchive:
    """Reads the run directories of one archive directory (see the module docstring).

    Safe to share between a web server's threads: the cache is guarded by a lock.
    """

    def __init__(self, directory: str | os.PathLike[str], *,
                 limits: JsonLimits = JsonLimits()) -> None:
        self.directory = Path(os.path.abspath(directory))
        self.limits = limits
        self._cache: dict[str, _CacheEntry] = {}
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.directory.is_dir()

    def runs(self) -> list[RunSummary]:
        """Every readable run, newest (highest run number) first."""
        try:
            entries = [entry for entry in os.scandir(self.directory)
                       if RUN_DIRECTORY.fullmatch(entry.name)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        runs = []
        with self._lock:
            names = {entry.name for entry in entries}
            self._cache = {name: entry for name, entry in self._cache.items() if name in names}
            for entry in entries:
                run = self._run(entry.name, entry.is_symlink(),
                                entry.is_dir(follow_symlinks=False))
                if run is not None:
                    runs.append(run)
        return sorted(runs, key=lambda run: run.run_number, reverse=True)

    def run(self, run_number: int) -> RunSummary | None:
        """The run ``run_number``, or None when the archive holds no readable run of it."""
        if isinstance(run_number, bool) or not isinstance(run_number, int) \
                or not 0 <= run_number <= MAX_RUN_NUMBER:
            return None
        name = run_directory_name(run_number)
        try:
            status = os.stat(self.directory / name, follow_symlinks=False)
        except OSError:
            return None  # no such run: a 404, nothing to log
        with self._lock:
            return self._run(name, stat.S_ISLNK(status.st_mode), stat.S_ISDIR(status.st_mode))

    def run_directory(self, run_number: int) -> Path | None:
        """The directory of the run's plots (for an ImageStore), if the run is readable."""
        if self.run(run_number) is None:
            return None
        return self.directory / run_directory_name(run_number)

    def _run(self, name: str, is_symlink: bool, is_directory: bool) -> RunSummary | None:
        if is_symlink:
            return self._refuse_once(name, "it is a symlink (runs are read only from "
                                           "directories in the archive itself)")
        if not is_directory:
            return self._refuse_once(name, "it is not a directory")
        path = self.directory / name / RUN_FILE
        try:
            status = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return self._refuse_once(name, f"it has no {RUN_FILE}")
        except OSError as exc:
            return self._refuse_once(name, describe(exc))
        key = (status.st_mtime_ns, status.st_size, status.st_ino)
        entry = self._cache.get(name)
        if entry is None or entry.key != key:
            entry = _CacheEntry(key, self._read(name, path))
            self._cache[name] = entry
        return entry.run

    def _read(self, name: str, path: Path) -> RunSummary | None:
        run_number = int(RUN_DIRECTORY.fullmatch(name).group(1))
        try:
            run = parse_run(read_json_file(path, self.limits), run_number)
        except (OSError, ValueError) as exc:  # JsonFileError and RunError are ValueErrors
            self._skipped(f"{name}/{RUN_FILE}", describe(exc))
            return None
        if run.quality_error:
            log.warning("%s", say("MAUS-316", directory=printable(self.directory / name),
                                  name=f"{RUN_FILE} quality", reason=run.quality_error))
        return run

    def _refuse_once(self, name: str, reason: str) -> None:
        entry = self._cache.get(name)
        if entry is None or entry.key != _REFUSED:
            self._cache[name] = _CacheEntry(_REFUSED, None)
            self._skipped(name, reason)
        return None

    def _skipped(self, name: str, reason: str) -> None:
        log.warning("%s", say("MAUS-305", directory=printable(self.directory),
                              name=printable(name), reason=reason))
