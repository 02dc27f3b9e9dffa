"""InputPyJSON: spills read from a file of JSON documents, plain or gzip, streamed.

Consumes the file named by ``input_json_file_name`` (checked as ``spill_validation`` says);
produces one spill ``dict`` per document. The file may hold JSON lines (one document per
line), pretty-printed documents over many lines, or documents simply concatenated; gzip is
recognised by its magic bytes, whatever the suffix (:mod:`.files`).

The file is read in blocks of whole lines, never loaded whole. JSON lines take the fast
path: orjson decodes each line. A line orjson rejects starts a gathered document: lines are
added, a stretch at a time, until its brackets balance (counted outside strings, which cannot
span lines in JSON); then ``json.JSONDecoder.raw_decode`` splits what was gathered into
documents, because orjson cannot decode a prefix of a buffer (:class:`~maus_online.codec.
LenientDecoder`, which notes the numbers JSON does not allow).

Bad input in a file that holds something never stops the run. Text that is not JSON becomes
one error spill ``{"maus_event_type": "Spill", "errors": {"InputPyJSON": ["MAUS-133 <file>
line N: not valid JSON: ..."]}}`` and the reader resynchronises at the next line that starts
with ``{`` in column 0, where JSON lines and pretty-printed documents begin (nested objects
are indented; with ``indent=0`` they are not, and a nested object found there fails
validation instead). A document failing the spill schema is passed on with the reason in
``errors["InputPyJSON"]``. A file that is one JSON array of spills is not a supported
layout: it would be gathered whole.

What is refused, and how (docs/spill_format.md, "Input errors"):

* a file that cannot be opened, or holds nothing but white space, stops the run at birth
  (MAUS-135, MAUS-136): there is nothing to reconstruct;
* a file cut short (a gzip whose stream ends early or is corrupt, a read error) is read up
  to its last complete document; then one error spill names the line of the cut and the
  last complete spill (MAUS-137);
* ``NaN``, ``Infinity`` and ``-Infinity`` (and ``1e999``) are not JSON: the spill holding
  one is passed on with the fields named in its errors (MAUS-138). orjson refuses them on
  the fast path, so only a gathered document can hold one, and only then is it walked.

Every such spill is an input error (:func:`~maus_online.spill.input_failed`): the
dataflow neither transforms it nor gives it to a reducer, but outputs it and counts it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from itertools import accumulate
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from ..catalogue import say
from ..codec import LenientDecoder, json_spelling, non_finite_paths
from ..errors import ConfigurationError, SpillError
from ..modules import Config, InputBase, Spill, record_error
from ..spill import compile_validator, input_failed, spill_label, validate_spill
from .files import check_spill_file, open_spill_file

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20
# What the bracket count keeps of a text: quotes, brackets and line breaks.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}\n')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# A string of that reduced text. JSON strings cannot hold a raw line break, so an
# unterminated one (a truncated line) stops at its line.
_REDUCED_STRING = re.compile(rb'"[^"\n]*"')
_DELTA = [{ord("{"): 1, ord("["): 1, ord("}"): -1, ord("]"): -1}.get(b, 0) for b in range(256)]
_SPACE = b" \t\r\n"
_SPACES = re.compile(r"[ \t\r\n]*")
# Only after one of these may a line starting with "{" continue the gathered document.
_CONTINUES = b"[,:"
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


#: Non-finite fields a message names at most (the rest are counted).
_NAMED_FIELDS = 3


class Item(NamedTuple):
    """One document (``error`` None) or one stretch of text that is not JSON (``error`` set).

    ``cut``: the text is the document a cut stream ended inside. ``non_finite``: the
    document holds ``NaN`` or an infinity (the slow path's decoder met one).
    """

    line: int
    document: Any = None
    error: str | None = None
    cut: bool = False
    non_finite: bool = False


def _walk(data: bytes, depth: int) -> tuple[int, bool]:
    """Bracket depth after ``data``, and whether it fell to 0 on the way (a document may end).

    Brackets inside strings do not count. Bulk byte operations do the work, not a loop per
    character: drop escaped backslashes and quotes, keep only quotes, brackets and line
    breaks, drop adjacent quote pairs (they enclose nothing that counts), and finally the
    few strings left, those holding brackets.
    """
    reduced = (data.replace(b"\\\\", b"").replace(b'\\"', b"")
               .translate(None, _NOT_STRUCTURE).replace(b'""', b""))
    if b'"' in reduced:
        reduced = _REDUCED_STRING.sub(b"", reduced)
    brackets = reduced.translate(None, _NOT_BRACKETS)
    running = list(accumulate(map(_DELTA.__getitem__, brackets), initial=depth))
    return running[-1], min(running[1:], default=1) <= 0 or running[-1] <= 0


class JSONStreamReader:
    """Iterate :meth:`items` over a binary stream (see the module docstring)."""

    def __init__(self, chunk_size: int = _CHUNK) -> None:
        self._decoder = LenientDecoder()
        self._chunk = chunk_size
        self._buf = b""
        self._pos = 0       # first byte not yet consumed ...
        self._line = 1      # ... and its line number
        self._doc: int | None = None  # where the gathered document starts, when gathering
        self._doc_line = self._doc_column = self._depth = 0
        self._skipping = False  # after an error: until a line starting with "{"
        self._cut = False  # the stream ended early (GzipStream.cut): what is left is the cut

    @property
    def line(self) -> int:
        """The line the reader has reached (at the end: one past the last line)."""
        return self._line

    def items(self, stream: IO[bytes]) -> Iterator[Item]:
        head = stream.read(len(_BOM))
        self._buf = b"" if head == _BOM else head  # a byte-order mark is not JSON: drop it
        end, at_eof = 0, False  # self._buf[:end] holds whole lines
        while True:
            if self._pos >= end:
                if at_eof:
                    if self._doc is None:
                        return
                    self._cut = bool(getattr(stream, "cut", None))
                    yield from self._drain(cut_short="the file ends inside the document")
                    continue
                at_eof = self._refill(stream)
                end = len(self._buf) if at_eof else self._buf.rfind(b"\n") + 1
            elif self._doc is None:
                yield from self._next_line(end)
            else:
                yield from self._gather(end)

    def _refill(self, stream: IO[bytes]) -> bool:
        keep = self._pos if self._doc is None else self._doc
        # Read at least as much as is kept, so a huge document costs linear, not quadratic, time.
        chunk = stream.read(max(self._chunk, len(self._buf) - keep))
        self._buf = self._buf[keep:] + chunk
        self._pos -= keep
        if self._doc is not None:
            self._doc -= keep
        return not chunk

    def _next_line(self, end: int) -> Iterator[Item]:
        """Outside a document: a JSON line (the fast path), or the first line of a longer one."""
        start, number = self._pos, self._line
        newline = self._buf.find(b"\n", start, end)
        self._pos = newline + 1 if newline >= 0 else end
        self._line += 1
        line = self._buf[start:self._pos]
        if line.isspace() or (self._skipping and not line.startswith(b"{")):
            return
        self._skipping = False
        try:
            yield Item(number, orjson.loads(line))
            return
        except orjson.JSONDecodeError:
            pass  # part of a longer document, several documents, or not JSON at all
        self._doc, self._doc_line, self._doc_column, self._depth = start, number, 0, 0
        self._pos, self._line = start, number

    def _gather(self, end: int) -> Iterator[Item]:
        """Add the lines up to the next one that starts with "{" to the gathered document."""
        buf, pos = self._buf, self._pos
        if pos > self._doc and buf.startswith(b"{", pos) and not self._continues():
            # A new document begins here, so the gathered one is complete or broken.
            yield from self._drain(
                cut_short=f"the document ends before line {self._line}, where another begins")
            return
        boundary = buf.find(b"\n{", pos, end)
        self._pos = boundary + 1 if boundary >= 0 else end
        stretch = buf[pos:self._pos]
        self._line += stretch.count(b"\n")
        self._depth, closed = _walk(stretch, self._depth)
        if closed:
            yield from self._drain()

    def _continues(self) -> bool:
        """Whether the gathered text ends where a "{" may follow (after "[", "," or ":")."""
        index = self._pos - 1
        while index >= self._doc and self._buf[index] in _SPACE:
            index -= 1
        return index >= self._doc and self._buf[index] in _CONTINUES

    def _drain(self, cut_short: str | None = None) -> Iterator[Item]:
        """Decode every complete document gathered; keep an unfinished last one gathering.

        ``cut_short`` says why an unfinished document cannot be finished any more, if so.
        """
        data = self._buf[self._doc:self._pos]
        bad, invalid = len(data) + 1, ""  # where the first byte that is not UTF-8 is, if any
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Documents before the bad bytes are still good; the one holding them is not.
            text, bad = data.decode("utf-8", "replace"), len(data[:exc.start].decode("utf-8"))
            invalid = (f"not valid UTF-8 ({exc.reason}) at line "
                       f"{self._doc_line + text.count(chr(10), 0, bad)}")
        position = _SPACES.match(text).end()
        while position < len(text):
            try:
                document, stop = self._decoder.raw_decode(text, position)
            except (json.JSONDecodeError, RecursionError) as exc:
                failed_at = exc.pos if isinstance(exc, json.JSONDecodeError) else len(text)
                if position <= bad <= failed_at:
                    self._move_to(text, position)
                    yield self._fail(invalid)
                else:
                    yield from self._stop_at(text, position, exc, cut_short)
                return
            if position <= bad < stop:
                self._move_to(text, position)
                yield self._fail(invalid)
                return
            non_finite, self._decoder.met_non_finite = self._decoder.met_non_finite, False
            yield Item(self._doc_line + text.count("\n", 0, position), document,
                       non_finite=non_finite)
            position = _SPACES.match(text, stop).end()
        self._doc = None

    def _stop_at(self, text: str, position: int, exc: json.JSONDecodeError | RecursionError,
                 cut_short: str | None) -> Iterator[Item]:
        """The document at ``position`` did not decode: malformed, or still to be completed."""
        line, column = self._doc_line, self._doc_column
        self._move_to(text, position)
        if self._cut:  # whatever is wrong with the last document, the cut made it so
            yield self._fail(cut_short or "the file ends inside the document", cut=True)
        elif isinstance(exc, RecursionError):
            yield self._fail("the document is nested too deeply")
        elif exc.pos < len(text.rstrip()):
            column = exc.colno + (column if exc.lineno == 1 else 0)
            yield self._fail(f"{exc.msg} at line {line + exc.lineno - 1} column {column}")
        elif cut_short:
            yield self._fail(cut_short)
        else:  # not malformed yet: the rest of the document is still to come
            self._depth, _ = _walk(self._buf[self._doc:self._pos], 0)

    def _move_to(self, text: str, position: int) -> None:
        """Make the gathered document start at ``position`` of ``text`` (its decoded form)."""
        line = self._doc_line
        self._doc_line += text.count("\n", 0, position)
        self._doc_column = position - (text.rfind("\n", 0, position) + 1) + (
            self._doc_column if self._doc_line == line else 0)
        head = text[:position]
        self._doc += position if head.isascii() else len(head.encode("utf-8"))

    def _fail(self, reason: str, cut: bool = False) -> Item:
        """Report the gathered document; look for the next one from the line after its first."""
        self._decoder.met_non_finite = False
        item = Item(self._doc_line, error=reason, cut=cut)
        newline = self._buf.find(b"\n", self._doc, self._pos)
        self._pos = newline + 1 if newline >= 0 else self._pos
        self._line = self._doc_line + 1
        self._doc, self._skipping = None, True
        return item


class InputPyJSON(InputBase):
    """Reads spills from ``input_json_file_name``; see the module docstring for the formats."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.validate = True
        self.mode = "full"
        self._emitting: Generator[Spill, None, None] | None = None

    def birth(self, config: Config) -> None:
        name = config.get("input_json_file_name", "")
        if not isinstance(name, str) or not name:
            raise ConfigurationError("configuration key 'input_json_file_name' is not set: "
                                     "InputPyJSON needs the spill file to read")
        path = Path(name)
        if not path.is_file():
            problem = "is not a file" if path.exists() else "does not exist"
            raise ConfigurationError(f"configuration key 'input_json_file_name' names {name!r}, "
                                     f"which {problem}")
        check_spill_file(path)  # empty or unreadable: the run stops here, not silently
        self.path = path
        mode = config["spill_validation"]
        self.validate = mode != "off"
        if self.validate:
            self.mode = mode
            compile_validator(self.mode)  # now, not in the middle of the first spill

    def emitter(self) -> Iterator[Spill]:
        if self.path is None:
            raise ConfigurationError("InputPyJSON.emitter() called before birth()")
        self._emitting = self._spills(self.path)
        return self._emitting

    def death(self) -> None:
        # An emitter abandoned half-way still holds the file open: close it.
        if self._emitting is not None:
            self._emitting.close()
            self._emitting = None

    def _spills(self, path: Path) -> Generator[Spill, None, None]:
        reader, last, cut_line = JSONStreamReader(), None, None
        try:
            with open_spill_file(path) as stream:
                for item in reader.items(stream):
                    if item.cut:  # the document the cut ended inside: reported as the cut
                        cut_line = item.line
                        break
                    spill = self._spill(item)
                    if item.error is None and not input_failed(spill):
                        last = spill_label(spill)
                    yield spill
                cut = getattr(stream, "cut", None)
        except OSError as exc:  # a read error: what was read is delivered, the rest lost
            cut = exc.strerror or str(exc)
        if cut:
            line = reader.line if cut_line is None else cut_line
            yield _cut_spill(f"{path} line {line}", cut, last)

    def _spill(self, item: Item) -> Spill:
        where = f"{self.path} line {item.line}"
        if item.error is not None:
            return _error_spill(say("MAUS-133", where=where,
                                    reason=f"not valid JSON: {item.error}"))
        document = item.document
        if not isinstance(document, dict):
            kind = _JSON_TYPES.get(type(document), type(document).__name__)
            return _error_spill(say("MAUS-133", where=where,
                                    reason=f"a JSON {kind}, not a spill object"))
        if item.non_finite:
            _refuse_non_finite(document, where)
        if self.validate:
            try:
                validate_spill(document, self.mode)
            except SpillError as exc:
                record_error(document, InputPyJSON.module_name(),
                             say("MAUS-133", where=where, reason=exc))
        return document


def _refuse_non_finite(document: Spill, where: str) -> None:
    """Record, in ``document``'s errors, the fields holding NaN or an infinity."""
    found = list(non_finite_paths(document))
    named = ", ".join(f"{path} is {json_spelling(value)}"
                      for path, value in found[:_NAMED_FIELDS])
    if len(found) > _NAMED_FIELDS:
        named += f" (and {len(found) - _NAMED_FIELDS} more)"
    record_error(document, InputPyJSON.module_name(),
                 say("MAUS-138", where=where, label=spill_label(document), fields=named))


def _cut_spill(where: str, reason: str, last: str | None) -> Spill:
    """The error spill of a cut: ``last`` is the label of the last complete spill, if any."""
    return _error_spill(say("MAUS-137", where=where, reason=reason, last=last or "none"))


def _error_spill(message: str) -> Spill:
    return {"maus_event_type": "Spill", "errors": {InputPyJSON.module_name(): [message]}}
