"""The fast JSON codec used wherever spills are written or read (DESIGN §5: orjson).

Still plain JSON on the wire and on disk; only the speed differs from the ``json`` module.
"""
from __future__ import annotations

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
    """Decode JSON text or bytes; raises :data:`JSONDecodeError` (a ``ValueError``) when invalid."""
    return orjson.loads(data)
