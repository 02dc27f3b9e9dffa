"""The run archive: each run's final plots kept under ``archive_directory`` with ``run.json``.

Consumes a run's :class:`~maus_online.run_record.RunRecord` and the plots OutputPyImage wrote
this run; produces ``<archive_directory>/run_<run number, 6 digits>/`` holding the run's last
image and sidecar of each plot, copied byte for byte from ``image_directory``, and ``run.json``::

    {"format": 1, "run_number": 7, "complete": true,
     "archived_at": "2026-12-01T10:00:00+00:00",
     "first_spill_time": "2026-12-01T09:58:00.125+00:00", "last_spill_time": "...",
     "spills": {"physics": 60, "run_markers": 2, "with_errors": 1, "input_errors": 0},
     "transform": "MapPyGroup(...)", "configuration_id": "3f2a...", "version": "...",
     "dataflow": "pipeline_single_thread",
     "plots": {"tof_time_01": {"image_file": "tof_time_01.png",
                               "sidecar": "tof_time_01.json", "entries": 1234,
                               "summary": {"entries": 1234, "histograms": {...},
                                           "peaks": {...}}}},
     "quality": {"format_version": 1, "level": "Good", "counts": {...}, "groups": [...]}}

A plot's ``summary`` is its sidecar's ``image.summary`` (reducers/summaries.py), the numbers
of the run's final refresh; None for a sidecar without one (an image written by another tool).
``quality`` is the run's quality summary at its end, as quality.json has it
(outputters/quality_summary.py); absent when the run has none (its plots carried no quality).

docs/histograms.md ("The run archive") describes the layout for its readers.

**Who owns it.** OutputPyImage (outputters/image.py), in its ``run_ended`` hook. It is what
writes ``image_directory``, so it knows which files this run wrote and under which names, and
the archive exists exactly where plots are written (an output that writes none makes none). The
merge side calls ``run_ended`` after the run's last images are collected from the drawing
process and before anything dies; what only the merge side knows -- every spill of the run,
those a restarted merge-output reduced again without output included -- arrives in the record.

**Readers never see half a run.** A run is built in a hidden directory (a name starting with
``.``) inside the archive, every file and the directory fsynced, then renamed into place. A run
archived before (the same run read again, or a restarted merge-output finishing it) is
replaced whole: the old directory is renamed aside to a hidden name, the new one renamed in,
the old one deleted. Readers skip every name that starts with ``.``; what a go.py killed
mid-write leaves behind is deleted at a later run's end, once it is an hour old.

**Bounded by run number.** ``archive_keep_runs`` (0: all) keeps the highest run numbers: run
numbers follow the DAQ's order, whereas the time of archiving follows whenever a merge-output
happened to finish (a restart or a replay of an old file would otherwise push recent runs out).
A run archived below the kept window is dropped at once, with MAUS-119 in the log.
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import logging
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from maus_online import __version__
from maus_online.catalogue import say
from maus_online.configuration import configuration_id
from maus_online.errors import ConfigurationError, MausError
from maus_online.run_record import RunRecord
from maus_online.specification import format_specification, parse_specification

log = logging.getLogger(__name__)

#: Version of run.json's layout; readers refuse versions they do not know.
FORMAT = 1
RUN_FILE = "run.json"
#: A run's directory: ``run_000007`` (more digits for run numbers past 999999).
RUN_NAME = re.compile(r"run_(\d{6,})")
#: Tries at renaming a run into place while another merge-output replaces the same run.
SWAP_ATTEMPTS = 3
#: Age after which a hidden run directory is left over from a go.py that died mid-write (an
#: archive takes seconds): deleted at the next run's end, so a crash never fills the disk.
STALE_SECONDS = 3600.0
HIDDEN_RUN = re.compile(r"\.run_\d{6,}\.[0-9a-f]{8}\.(new|old)")


class ArchiveError(MausError):
    """The run could not be archived, or the archive not bounded; the message is catalogued."""


@dataclass(frozen=True)
class ArchivedPlot:
    """The files of one plot in ``image_directory``, by name."""

    image_file: str
    sidecar: str


def archive_directory(config: Mapping[str, Any]) -> Path:
    """The configured ``archive_directory``, or ``archive`` beside ``image_directory``."""
    if config["archive_directory"]:
        return Path(config["archive_directory"])
    return Path(config["image_directory"]).parent / "archive"


def run_directory_name(run_number: int) -> str:
    """``run_000007``: the name of a run's directory in the archive."""
    return f"run_{run_number:06d}"


def archived_runs(directory: Path) -> dict[int, Path]:
    """The runs the archive holds, by run number; hidden names (work in progress) are not."""
    runs = {}
    for path in directory.iterdir():
        match = RUN_NAME.fullmatch(path.name)
        if match and path.is_dir():
            runs[int(match.group(1))] = path
    return runs


def iso_utc(seconds: float | None, timespec: str = "milliseconds") -> str | None:
    """Unix seconds as ISO 8601 in UTC (``2026-12-01T10:00:00.000+00:00``); None stays None."""
    if seconds is None:
        return None
    when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return when.isoformat(timespec=timespec)


def histogram_entries(sidecar: Mapping[str, Any]) -> int | None:
    """The counts of the plot's first histogram, flow bins included (None: no histogram, or
    a storage that holds no counts)."""
    histograms = (sidecar.get("image") or {}).get("histograms") or []
    if not histograms or not isinstance(histograms[0], Mapping):
        return None
    storage = histograms[0].get("storage") or {}
    total = _total(storage.get("counts", storage.get("values")))
    return None if total is None else int(total)


def _total(values: Any) -> float | None:
    if isinstance(values, bool):
        return None
    if isinstance(values, (int, float)):
        return values
    if not isinstance(values, list):
        return None
    parts = [_total(value) for value in values]
    return None if any(part is None for part in parts) else sum(parts)  # type: ignore[arg-type]


def run_document(run: RunRecord, plots: Mapping[str, dict[str, Any]],
                 facts: Mapping[str, Any], archived_at: float,
                 quality: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The content of run.json (the layout of the module docstring)."""
    return {"format": FORMAT, "run_number": run.run_number, "complete": run.complete,
            "archived_at": iso_utc(archived_at, "seconds"),
            "first_spill_time": iso_utc(run.first_spill_time),
            "last_spill_time": iso_utc(run.last_spill_time),
            "spills": run.spill_counts(), **facts, "plots": dict(plots),
            **({"quality": dict(quality)} if quality is not None else {})}


def run_facts(config: Mapping[str, Any]) -> dict[str, Any]:
    """What run.json says of the configuration: the transform as go.py prints it (in
    merge-output, that of its own configuration: the producer's is not in the store)."""
    return {"transform": format_specification(parse_specification(config["transformer"])),
            "configuration_id": configuration_id(config), "version": __version__,
            "dataflow": config["type_of_dataflow"]}


class RunArchive:
    """Consumes a finished run and the files of its plots; produces its archive directory."""

    def __init__(self, directory: Path, *, keep_runs: int = 0,
                 facts: Mapping[str, Any] | None = None) -> None:
        self.directory = directory
        self.keep_runs = keep_runs
        self.facts = dict(facts or {})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RunArchive:
        """The configured archive, its directory created; MAUS-116 if it cannot be."""
        directory = archive_directory(config)
        if directory.exists() and not directory.is_dir():
            raise ConfigurationError(say("MAUS-116", directory=str(directory),
                                         reason="it is a file"))
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(say("MAUS-116", directory=str(directory),
                                         reason=f"cannot create it: {exc.strerror or exc}")
                                     ) from exc
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ConfigurationError(say("MAUS-116", directory=str(directory),
                                         reason="go.py may not write in it"))
        return cls(directory, keep_runs=config["archive_keep_runs"], facts=run_facts(config))

    def keep(self, run: RunRecord, plots: Mapping[str, ArchivedPlot], source: Path,
             now: float | None = None, *, quality: Mapping[str, Any] | None = None) -> Path:
        """Archive ``run`` with ``plots`` read from ``source`` and its ``quality`` summary;
        then bound the archive. Raises :class:`ArchiveError` (MAUS-117, MAUS-118); ``source``
        is only read."""
        number = run.run_number
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise self._failed(run, source, f"run number {number!r} is not a whole number")
        now = datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else now
        built = self._hidden(run_directory_name(number), "new")
        try:
            os.mkdir(built)
            listed = {tag: self._copy(plot, source, built) for tag, plot in sorted(plots.items())}
            _write(built / RUN_FILE, orjson.dumps(
                run_document(run, listed, self.facts, now, quality),
                option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
            _fsync_directory(built)
            final = self.directory / run_directory_name(number)
            self._swap(built, final)
        except OSError as exc:
            shutil.rmtree(built, ignore_errors=True)
            raise self._failed(run, source, _reason(exc)) from exc
        self.prune(number)
        self.sweep(now)
        return final

    def prune(self, written: int | None = None) -> None:
        """Delete the lowest run numbers beyond ``keep_runs`` (MAUS-118 if one cannot be)."""
        if not self.keep_runs:
            return
        runs = archived_runs(self.directory)
        kept = sorted(runs)[-self.keep_runs:]
        for number in sorted(set(runs) - set(kept)):
            if number == written:
                log.warning("%s", say("MAUS-119", run=number, keep=self.keep_runs,
                                      lowest=kept[0]))
            self._remove(runs[number])

    def sweep(self, now: float) -> None:
        """Delete hidden run directories older than :data:`STALE_SECONDS` (best effort: a
        leftover is invisible to readers, so failing to delete it is not an error)."""
        for path in self.directory.iterdir():
            with contextlib.suppress(OSError):
                if HIDDEN_RUN.fullmatch(path.name) and \
                        now - path.lstat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(path)

    def _copy(self, plot: ArchivedPlot, source: Path, built: Path) -> dict[str, Any]:
        """Copy one plot's image and sidecar into ``built``; its entry of run.json."""
        sidecar = (source / plot.sidecar).read_bytes()
        _write(built / plot.image_file, (source / plot.image_file).read_bytes())
        _write(built / plot.sidecar, sidecar)
        try:
            document = orjson.loads(sidecar)
            entries = histogram_entries(document)
            summary = (document.get("image") or {}).get("summary")
        except (orjson.JSONDecodeError, AttributeError):
            entries = summary = None  # the sidecar is kept as written; only its numbers are unknown
        return {"image_file": plot.image_file, "sidecar": plot.sidecar, "entries": entries,
                "summary": summary if isinstance(summary, dict) else None}

    def _swap(self, built: Path, final: Path) -> None:
        """Rename ``built`` to ``final``, moving an older ``final`` aside first and deleting
        it after: a reader sees the old run or the new one, whole."""
        asides: list[Path] = []
        try:
            for attempt in range(SWAP_ATTEMPTS):
                try:
                    os.rename(built, final)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or \
                            attempt == SWAP_ATTEMPTS - 1:
                        raise
                aside = self._hidden(final.name, "old")
                # Another merge-output archiving the same run may have moved it meanwhile.
                with contextlib.suppress(FileNotFoundError):
                    os.rename(final, aside)
                    asides.append(aside)
        except OSError:
            if asides:  # the old run back where readers look: better old than none
                with contextlib.suppress(OSError):
                    os.rename(asides[-1], final)
            raise
        _fsync_directory(self.directory)
        for aside in asides:
            shutil.rmtree(aside, ignore_errors=True)

    def _remove(self, path: Path) -> None:
        aside = self._hidden(path.name, "old")
        try:
            os.rename(path, aside)  # out of the readers' sight at once, then deleted
            shutil.rmtree(aside)
        except OSError as exc:
            raise ArchiveError(say("MAUS-118", keep=self.keep_runs, name=path.name,
                                   directory=str(self.directory),
                                   reason=_reason(exc))) from exc

    def _hidden(self, name: str, purpose: str) -> Path:
        return self.directory / f".{name}.{secrets.token_hex(4)}.{purpose}"

    def _failed(self, run: RunRecord, source: Path, reason: str) -> ArchiveError:
        return ArchiveError(say("MAUS-117", run=run.run_number, directory=str(self.directory),
                                reason=reason, images=str(source)))


def _reason(exc: OSError) -> str:
    """``Permission denied: images/tof.png``: what failed, and on which file."""
    reason = exc.strerror or str(exc)
    return f"{reason}: {exc.filename}" if exc.filename else reason


def _write(path: Path, content: bytes) -> None:
    """A new file with ``content``, on disk before the rename that publishes it."""
    # 0o666 lets the umask decide, as for the images: a web server may run as another user.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(content)
        stream.flush()
        os.fsync(stream.fileno())


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
