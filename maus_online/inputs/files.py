"""Opening a spill file: plain or gzip, refused when it holds nothing, read up to any cut.

Consumes a path; produces a binary stream for :class:`~maus_online.inputs.json_file.
JSONStreamReader` (:func:`open_spill_file`), and :func:`check_spill_file` for a module's
birth. gzip is recognised by its magic bytes, whatever the suffix.

Why not :func:`gzip.open`: when a gzip file is cut short (a copy still in progress, a full
disk), ``GzipFile.read`` raises ``EOFError`` and drops what it had decompressed in that call,
so the last spills before the cut are lost with it. :class:`GzipStream` hands over every byte
it could decompress, then ends as if the file ended and says why in :attr:`GzipStream.cut`;
the reader then finishes the documents it holds and reports the cut once.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from types import TracebackType
from typing import IO

from ..catalogue import say
from ..errors import MausError

GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
# zlib returns nothing of a call that fails on corrupt data: a failed chunk is decompressed
# again in pieces, so that only the last piece before the damage is lost.
_RAW_CHUNK = 1 << 15
_SALVAGE_PIECE = 256
_PROBE_CHUNK = 1 << 16
# wbits for zlib: a gzip header and trailer (16) around a deflate stream of 32 kB windows.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class InputFileError(MausError):
    """The input file cannot be read at all, or holds no spills: the run cannot start."""


class GzipStream:
    """Reads a gzip file (every member of it) as one binary stream, never raising on a cut.

    :attr:`cut` is ``None`` while the stream is whole; once the data ends early or is
    corrupt, it says how, and :meth:`read` returns ``b""`` from then on, as at the end of a file.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(_GZIP_WBITS)
        self._fed = False  # whether the current member has had any input
        self._pending = bytearray()
        self._done = False
        self.cut: str | None = None

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._pending) < size):
            self._inflate_more()
        size = len(self._pending) if size < 0 else size
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def _inflate_more(self) -> None:
        raw = self._raw.read(_RAW_CHUNK)
        try:
            if not raw:
                self._pending += self._inflate.flush()
                if self._fed and not self._inflate.eof:
                    self._stop("the file ends before its gzip stream does")
                self._done = True
                return
            self._fed = True
            self._pending += self._decompress(raw)
            while self._inflate.eof and self._inflate.unused_data and not self._done:
                self._next_member(self._inflate.unused_data)
        except zlib.error as exc:
            self._stop(f"corrupt gzip data: {exc}")

    def _decompress(self, raw: bytes) -> bytes:
        """``raw`` decompressed; when it holds corrupt data, what came before the corruption
        is kept (in :attr:`_pending`) before the error is raised."""
        saved = self._inflate.copy()
        try:
            return self._inflate.decompress(raw)
        except zlib.error:
            self._inflate = saved  # again, in small pieces, to keep what precedes the damage
            for start in range(0, len(raw), _SALVAGE_PIECE):
                self._pending += self._inflate.decompress(raw[start:start + _SALVAGE_PIECE])
            return b""  # the pieces went through where the whole did not: all is in _pending

    def _next_member(self, rest: bytes) -> None:
        """Concatenated gzip files are one stream (as ``gzip`` reads them); trailing zeros
        (padding some tape and disk tools add) end it."""
        if not rest.startswith(GZIP_MAGIC):
            if rest.strip(b"\0"):
                self._stop("what follows the end of the gzip stream is not gzip")
            self._done = True
            return
        self._inflate = zlib.decompressobj(_GZIP_WBITS)
        self._pending += self._decompress(rest)

    def _stop(self, reason: str) -> None:
        self.cut, self._done = reason, True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> GzipStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def open_spill_file(path: Path) -> IO[bytes] | GzipStream:
    """``path`` opened for reading, decompressed if it is gzip; ``OSError`` if it cannot be."""
    raw = open(path, "rb")
    try:
        magic = raw.read(len(GZIP_MAGIC))
        raw.seek(0)
    except BaseException:
        raw.close()
        raise
    return GzipStream(raw) if magic == GZIP_MAGIC else raw


def check_spill_file(path: Path) -> None:
    """Raise :class:`InputFileError` unless ``path`` can be opened and holds something
    besides white space (read only as far as its first such byte)."""
    try:
        with open_spill_file(path) as stream:
            head = stream.read(len(_BOM))
            if head == _BOM:
                head = b""
            while not head.strip():
                chunk = stream.read(_PROBE_CHUNK)
                if not chunk:
                    break
                head = chunk
            cut = getattr(stream, "cut", None)
    except OSError as exc:
        raise InputFileError(say("MAUS-136", path=path, reason=exc.strerror or exc)) from None
    if not head.strip():
        if cut:
            raise InputFileError(say("MAUS-136", path=path, reason=cut))
        raise InputFileError(say("MAUS-135", path=path, what=_emptiness(path)))


def _emptiness(path: Path) -> str:
    size = path.stat().st_size
    if size == 0:
        return "0 bytes"
    with open(path, "rb") as probe:
        gzipped = probe.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    return "a gzip of nothing" if gzipped else f"{size} bytes of white space only"
