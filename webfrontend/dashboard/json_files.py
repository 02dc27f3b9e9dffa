"""Reading a JSON file that whoever can write into a published directory may have put there.

The front-end's only inputs are files: the sidecars of the image directory and of each archived
run, and each run's ``run.json``. This module is the one reader of them all, so every such file
gets the same defences, and a hostile one costs a warning, never an error page or a hung
server::

    document = read_json_file("/data/maus/images/tof_time_01.json", JsonLimits())

* **Only a regular file is opened.** A FIFO named ``x.json`` would block ``open`` for ever and a
  device could be read without end: the file's status is checked first, without following a
  symlink (callers pass the real path), then the file is opened with ``O_NONBLOCK`` and
  ``O_NOFOLLOW`` and checked again, so even one swapped in between cannot hang the server.
* **Size.** At most ``max_bytes`` are read; a larger file is refused before it is parsed.
* **Depth.** Python's parser recurses once per level of nesting: 100,000 ``[`` would raise
  RecursionError from deep inside a view, and a document a few hundred levels deep would parse
  but blow the stack of whatever walks it next (a template, the JSON encoder). Nesting beyond
  ``max_depth`` is refused before parsing.
* **Strict JSON.** ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259), though
  Python's parser accepts them; a document holding one would be passed on to browsers as
  invalid JSON, so it is refused here, at the one door.

No Django, no reconstruction: plain Python, tested on its own (tests/test_webfrontend_hostile.py).
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from typing import Any

#: Defaults of the settings MAUS_SIDECAR_MAX_BYTES and MAUS_SIDECAR_MAX_DEPTH (conf.py). Real
#: sidecars nest 8 levels deep (a 2D histogram's values).
# The largest sidecar a go.py run writes is ~12 KB (a 2D histogram); 2 MiB leaves room for
# histograms of ~200,000 bins and keeps a detail page, which embeds the sidecar, loadable.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
#: The highest depth a setting may allow: well below Python's recursion limit (1,000), which
#: the views' own frames and the template engine's share.
DEPTH_CEILING = 200

# A JSON string, escapes included (the "unrolled" form, linear in the string's length).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Keep the four bracket bytes, as [ and ]: objects and arrays nest alike.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class JsonFileError(ValueError):
    """A file is not usable JSON within the limits; the message says why, for a log line."""


@dataclass(frozen=True)
class JsonLimits:
    """How large and how deeply nested a file may be. Hashable, so a store can be cached per
    (directory, limits)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH

    def __post_init__(self) -> None:
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) \
                or self.max_bytes < 1:
            raise ValueError(f"max_bytes is {self.max_bytes!r}; it must be a whole number of "
                             "bytes > 0")
        if isinstance(self.max_depth, bool) or not isinstance(self.max_depth, int) \
                or not 1 <= self.max_depth <= DEPTH_CEILING:
            raise ValueError(f"max_depth is {self.max_depth!r}; it must be a whole number from "
                             f"1 to {DEPTH_CEILING}")


def read_json_file(path: str | os.PathLike[str], limits: JsonLimits) -> Any:
    """The parsed content of the regular file at ``path`` (a real path: a symlink is refused).

    Raises JsonFileError (not a regular file, too large, too deep, not JSON, not UTF-8, NaN or
    Infinity) or OSError (cannot be read; it may have been removed meanwhile).
    """
    status = os.stat(path, follow_symlinks=False)
    _check_status(status, limits)
    # O_NONBLOCK: should a FIFO be swapped in after the check, open returns at once instead of
    # waiting for a writer that never comes (and fstat below refuses it).
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as stream:
        _check_status(os.fstat(descriptor), limits)
        data = stream.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise JsonFileError(f"larger than {limits.max_bytes} bytes (MAUS_SIDECAR_MAX_BYTES)")
    return parse_json(data, limits)


def parse_json(data: bytes, limits: JsonLimits) -> Any:
    """``data`` parsed as strict JSON within ``limits.max_depth``; JsonFileError if not."""
    if nesting_exceeds(data, limits.max_depth):
        raise JsonFileError(f"nested deeper than {limits.max_depth} levels "
                            "(MAUS_SIDECAR_MAX_DEPTH)")
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise JsonFileError("not UTF-8 text") from None
    except RecursionError:  # cannot happen below DEPTH_CEILING; refuse rather than crash
        raise JsonFileError("nested too deeply to parse") from None


def nesting_exceeds(data: bytes, max_depth: int) -> bool:
    """True when the arrays and objects of ``data`` nest deeper than ``max_depth``.

    Works on the bytes, without recursion: strings are blanked out (a bracket inside one is
    text), the brackets kept, and each round deletes every innermost pair, so a document
    ``max_depth`` deep is empty after ``max_depth`` rounds. Each round is one pass at C speed.
    Malformed bracketing is left to the parser to report.

    >>> nesting_exceeds(b'{"a": [1, [2]], "b": "[[[["}', 2), nesting_exceeds(b'[[[]]]', 2)
    (False, True)
    """
    brackets = _STRING.sub(b'""', data).translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(max_depth):
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return False  # nothing left, or brackets that do not pair: the parser will say
        brackets = shorter
    return b"[]" in brackets


def _check_status(status: os.stat_result, limits: JsonLimits) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise JsonFileError("not a regular file (a FIFO, device, directory or symlink is "
                            "never opened)")
    if status.st_size > limits.max_bytes:
        raise JsonFileError(f"{status.st_size} bytes, larger than {limits.max_bytes} "
                            "(MAUS_SIDECAR_MAX_BYTES)")


def _refuse_constant(name: str) -> Any:
    raise JsonFileError(f"holds {name}, which is not JSON (write null for a missing number)")


def printable(name: object) -> str:
    """A file name for a log line: as it is, or quoted with escapes when it holds a line break
    or another control character (a file name may, and one log line must stay one line)."""
    text = str(name)
    return text if text.isprintable() else ascii(text)


def describe(exc: BaseException) -> str:
    """A short reason for a log line, for the errors :func:`read_json_file` raises."""
    if isinstance(exc, OSError):
        return f"cannot read it ({exc.strerror or exc})"
    return str(exc)
