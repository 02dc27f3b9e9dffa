"""The image document: what a histogram reducer emits at each refresh (docs/histograms.md).

Consumes a rendered image and the boost-histograms behind it; produces one JSON-ready dict::

    {"maus_event_type": "Image",
     "image": {"format_version": 1, "tag": "tof_time_01", "image_type": "png",
               "data": "<base64>", "description": "...", "keywords": ["TOF", ...],
               "run_number": 7, "spill_number": 50, "spills_seen": 50,
               "time": "2024-05-01T12:00:00.000000Z",
               "histograms": [<UHI histogram>, ...]}}

Each entry of ``histograms`` is the UHI serialisation (scikit-hep ``uhi``, schema 1) of one
plotted histogram, its ``metadata.name`` the histogram's legend label; so a browser can redraw
the plot and a later tool can re-analyse it without re-running anything. The layout is
described by the JSON Schema ``maus_online/spill/image.schema.json``; ``format_version``
changes when the layout does.
"""
from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import boost_histogram as bh
import numpy as np
import orjson
import uhi.io.json

import maus_online.spill

#: Version of the image document layout; readers refuse versions they do not know.
FORMAT_VERSION = 1
#: The image types every histogram reducer can write.
IMAGE_TYPES = ("png", "svg", "pdf", "eps", "jpg")
#: Beside the spill schema, so that it installs with the package data of maus_online.spill.
SCHEMA_PATH = Path(maus_online.spill.__file__).resolve().parent / "image.schema.json"


def histogram_json(name: str, histogram: bh.Histogram) -> dict[str, Any]:
    """The UHI serialisation of ``histogram`` as plain JSON values, named ``name``."""
    ir = dict(uhi.io.json.default(histogram))
    ir["metadata"] = {**ir.get("metadata", {}), "name": name}
    # orjson turns the numpy arrays of the UHI form into lists in one C pass.
    return orjson.loads(orjson.dumps(ir, default=_array_list, option=orjson.OPT_SERIALIZE_NUMPY))


def _array_list(value: Any) -> Any:
    """What orjson leaves to us: views of sliced histograms, which are not contiguous."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def histograms_from_json(entries: Iterable[Mapping[str, Any]]) -> dict[str, bh.Histogram]:
    """The histograms of an image document's ``histograms`` list, by name: the reading side.

    >>> h = bh.Histogram(bh.axis.Regular(2, 0.0, 1.0)); _ = h.fill([0.2])
    >>> histograms_from_json([histogram_json("a", h)])["a"].values().tolist()
    [1.0, 0.0]
    """
    result = {}
    for entry in entries:
        # Round trip through the uhi hook: it turns the value lists back into arrays.
        ir = json.loads(json.dumps(entry), object_hook=uhi.io.json.object_hook)
        histogram = bh.Histogram(ir)
        result[getattr(histogram, "name", None) or f"histogram {len(result)}"] = histogram
    return result


def utc_now() -> str:
    """The document time: ISO 8601 in UTC, microseconds, ``Z`` suffix."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def image_document(*, tag: str, image_type: str, data: bytes, description: str,
                   keywords: Sequence[str], run_number: Any, spill_number: Any,
                   spills_seen: int, histograms: Mapping[str, bh.Histogram],
                   time: str | None = None) -> dict[str, Any]:
    """One image document; ``histograms`` maps legend labels to what the image shows."""
    return image_document_json(
        tag=tag, image_type=image_type, data=base64.b64encode(data).decode("ascii"),
        description=description, keywords=keywords, run_number=run_number,
        spill_number=spill_number, spills_seen=spills_seen,
        histograms=[histogram_json(name, h) for name, h in histograms.items()], time=time)


def image_document_json(*, tag: str, image_type: str, data: str, description: str,
                        keywords: Sequence[str], run_number: Any, spill_number: Any,
                        spills_seen: int, histograms: list[dict[str, Any]],
                        time: str | None = None, reference: dict[str, Any] | None = None,
                        summary: dict[str, Any] | None = None,
                        summary_history: list[dict[str, Any]] | None = None,
                        quality: dict[str, Any] | None = None) -> dict[str, Any]:
    """:func:`image_document` of an image already in base64 and histograms already in their
    UHI form (:func:`histogram_json`): how a drawing done in another process comes back.
    ``reference``, ``summary``, ``summary_history`` and ``quality`` (docs/histograms.md,
    docs/quality.md) are left out of the document when None: version-1 documents without them
    stay valid."""
    optional = {"reference": reference, "summary": summary, "summary_history": summary_history,
                "quality": quality}
    document = {"maus_event_type": "Image", "image": {
        "format_version": FORMAT_VERSION,
        "tag": tag,
        "image_type": image_type,
        "data": data,
        "description": description,
        "keywords": list(keywords),
        "run_number": run_number,
        "spill_number": spill_number,
        "spills_seen": spills_seen,
        "time": time or utc_now(),
        "histograms": histograms,
    }}
    document["image"].update((key, value) for key, value in optional.items() if value is not None)
    return document


@lru_cache(maxsize=1)
def image_schema() -> dict[str, Any]:
    """The JSON Schema of the image document (read once; callers must not modify it)."""
    with open(SCHEMA_PATH, "rb") as stream:
        return json.load(stream)
