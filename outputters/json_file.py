"""OutputPyJSON: spills written to a JSON-lines file, the format InputPyJSON reads back.

Consumes every document the merge side hands over; writes those with ``maus_event_type``
"Spill" as one line of JSON each to ``output_json_file_name`` (gzip-compressed when the
name ends in ``.gz``) and ignores the rest (reducer documents such as images or counts).

Outputs are born at each run's start and die at its end. The first birth of an instance
truncates the file, later births append, so a job of several runs leaves one file holding
them all and a rerun does not add to the previous job's file.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO, Any

from maus_online.codec import dumps_line
from maus_online.errors import ConfigurationError, ModuleLifecycleError
from maus_online.modules import Config, OutputBase

KEY = "output_json_file_name"


class OutputPyJSON(OutputBase):
    """Appends each spill to ``output_json_file_name`` as a JSON line."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self._stream: IO[bytes] | None = None
        self._born_before = False

    def birth(self, config: Config) -> None:
        name = config.get(KEY, "")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"configuration key {KEY!r} is not set: OutputPyJSON "
                                     "needs the name of the file to write spills to")
        self._close()  # born twice without a death: do not leak the first file
        path = Path(name)
        mode = "ab" if self._born_before else "wb"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)
        except OSError as exc:
            raise ConfigurationError(f"configuration key {KEY!r}: cannot write {name!r}: "
                                     f"{exc.strerror or exc}") from exc
        self.path = path
        self._born_before = True

    def save(self, document: dict[str, Any]) -> None:
        if document.get("maus_event_type") != "Spill":
            return
        if self._stream is None:
            raise ModuleLifecycleError("OutputPyJSON.save() called outside birth() ... death()")
        self._stream.write(dumps_line(document))
        if document.get("daq_event_type") == "end_of_run":
            # A finished run is on disk at once, for whoever reads the file meanwhile.
            self._stream.flush()

    def death(self) -> None:
        self._close()

    def _close(self) -> None:
        """Flush and close the file, if open."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.close()
