"""The fast JSON codec used wherever spills are written or read (DESIGN §5: orjson).

Still plain JSON on the wire and on disk; only the speed differs from the ``json`` module.

**Numbers JSON does not allow.** ``NaN``, ``Infinity`` and ``-Infinity`` (and numbers too
large for a double, such as ``1e999``) are not JSON. orjson refuses them when it reads and
writes ``null`` for them when it writes, silently. The ``json`` module, which InputPyJSON
needs for pretty-printed and concatenated documents (orjson cannot decode a prefix of a
buffer), accepts them. :class:`LenientDecoder` is that module's decoder, noting when it met
one, so a reader can refuse the document and name the field (:func:`non_finite_paths`)
without walking every document it reads.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError


def dumps(document: Any) -> bytes:
    """Encode ``document`` as compact UTF-8 JSON bytes.

    >>> dumps({"run_number": 1})
    b'{"run_number":1}'
    """
    return orjson.dumps(document)


def dumps_line(document: Any) -> bytes:
    """Encode ``document`` as one line of JSON ending in a newline (JSON-lines files)."""
    return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON text or bytes; raises :data:`JSONDecodeError` (a ``ValueError``) when invalid
    (``NaN`` and ``Infinity`` included)."""
    return orjson.loads(data)


class LenientDecoder(json.JSONDecoder):
    """``json.JSONDecoder`` that reads ``NaN``/``Infinity`` as Python does, and says it did:
    :attr:`met_non_finite` is set until the caller clears it (so: one decoder per reader).

    >>> decoder = LenientDecoder()
    >>> decoder.decode('{"a": [1, NaN]}'), decoder.met_non_finite
    ({'a': [1, nan]}, True)
    """

    def __init__(self) -> None:
        super().__init__(parse_constant=self._constant, parse_float=self._float)
        self.met_non_finite = False

    def _constant(self, text: str) -> float:
        self.met_non_finite = True
        return float(text)

    def _float(self, text: str) -> float:
        # Called for every number with a fraction or exponent; only 1e999 and the like
        # overflow to infinity.
        value = float(text)
        if math.isinf(value):
            self.met_non_finite = True
        return value


def non_finite_paths(document: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """The fields of ``document`` holding ``NaN`` or an infinity, as ``(JSON path, value)``
    in document order; paths are spelled as the spill validation spells them.

    >>> list(non_finite_paths({"daq_data": {"tof1": [{"charge": float("nan")}]}}))
    [('daq_data.tof1[0].charge', nan)]
    """
    if isinstance(document, float):
        if not math.isfinite(document):
            yield path or "spill", document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield from non_finite_paths(value, f"{path}.{key}" if path else str(key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from non_finite_paths(value, f"{path}[{index}]")


def json_spelling(value: float) -> str:
    """How ``value`` (NaN or an infinity) was spelled in the text: ``NaN``, ``-Infinity``...

    >>> json_spelling(float("-inf"))
    '-Infinity'
    """
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
