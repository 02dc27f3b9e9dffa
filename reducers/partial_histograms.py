"""Partial histograms: what a histogram reducer's fill part sends from one spill (DESIGN §7a).

The fill part (next to the data) and the merge part (in merge-output) book the *same*
histograms from the same configuration, so the axes need not travel: a partial names them by
a digest and carries only the bin contents, each histogram's as a UHI storage object (scikit-hep
``uhi``, schema 1, integer storage), dense or sparse, whichever is smaller::

    {"format": "maus-partial-histograms", "format_version": 1,
     "binning": "3f2a9c0e5b7d1a44",
     "histograms": {"time":  {"type": "int", "index": [[118, 140]], "values": [3, 1]},
                    "slabs": {"type": "int", "values": [[0, 2, 5, 0], [0, 1, 1, 0]]}}}

``binning`` is a digest of the UHI form of every booked histogram's axes, so a merge side
booked differently (another geometry file, another binning) refuses the partial with a clear
error instead of adding counts into the wrong bins. Indices include the flow bins (0 is the
underflow), as UHI's sparse arrays do. An empty histogram is left out. Counts are integers
and adding them is exact, so the run's bins are the same whichever processes filled them.

Both sides work on :func:`flow_views` of their histograms (numpy views of the bins, the flow
bins included), made once per birth: asking boost-histogram for a view costs more than adding.

>>> import boost_histogram as bh
>>> booked = {"t": bh.Histogram(bh.axis.Regular(4, 0.0, 4.0), storage=bh.storage.Int64())}
>>> digest = binning_digest(booked)
>>> _ = booked["t"].fill([1.5, 1.5, 3.5])
>>> partial = encode_partial(flow_views(booked), digest)
>>> partial["histograms"]["t"]
{'type': 'int', 'index': [[2, 4]], 'values': [2, 1]}
>>> run = {"t": booked["t"].copy()}
>>> add_partial(flow_views(run), partial, digest)
>>> run["t"].values().tolist()
[0, 4, 0, 2]
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import boost_histogram as bh
import numpy as np
import orjson
import uhi.io.json

from maus_online.errors import SpillError

FORMAT = "maus-partial-histograms"
FORMAT_VERSION = 1


class PartialError(SpillError):
    """A partial cannot be added: wrong format, another binning, or bins that do not exist."""


def binning_digest(histograms: Mapping[str, bh.Histogram]) -> str:
    """A short digest of the names, axes and storage of ``histograms`` (not their contents)."""
    described = []
    for name in sorted(histograms):
        ir = uhi.io.json.default(histograms[name])
        described.append([name, ir["axes"], ir["storage"]["type"]])
    return hashlib.sha256(orjson.dumps(described)).hexdigest()[:16]


def flow_views(histograms: Mapping[str, bh.Histogram]) -> dict[str, np.ndarray]:
    """Writable numpy views of each histogram's bins, flow bins included; they stay valid
    while the histogram lives (``reset`` and ``+=`` work in place)."""
    return {name: np.asarray(histogram.view(flow=True)) for name, histogram in histograms.items()}


def encode_partial(views: Mapping[str, np.ndarray], binning: str) -> dict[str, Any]:
    """The partial of the histograms behind ``views`` (freshly filled from one spill), as plain
    JSON values."""
    encoded = {}
    for name, view in views.items():
        nonzero = np.count_nonzero(view)
        if not nonzero:
            continue
        # Sparse costs ndim + 1 numbers per filled bin, dense one per bin.
        if nonzero * (view.ndim + 1) < view.size:
            index = np.nonzero(view)
            encoded[name] = {"type": "int", "index": [axis.tolist() for axis in index],
                             "values": view[index].tolist()}
        else:
            encoded[name] = {"type": "int", "values": view.tolist()}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "binning": binning,
            "histograms": encoded}


def add_partial(views: Mapping[str, np.ndarray], partial: Any, binning: str) -> None:
    """Add ``partial`` into the histograms behind ``views`` (booked with digest ``binning``),
    in place.

    Raises :class:`PartialError` naming what is wrong; then nothing has been added, so a bad
    partial never leaves half a spill in the run's histograms.
    """
    if not isinstance(partial, Mapping) or partial.get("format") != FORMAT:
        raise PartialError(f"not a partial of histograms (format {_shown(partial, 'format')})")
    if partial.get("format_version") != FORMAT_VERSION:
        raise PartialError(f"partial format_version {partial.get('format_version')!r}; this "
                           f"merge-output reads version {FORMAT_VERSION}")
    if partial.get("binning") != binning:
        raise PartialError(
            f"partial booked with binning {partial.get('binning')!r}, this merge side with "
            f"{binning!r}: the two halves run different configurations (geometry, cabling or "
            "binning); give the input-transform and the merge-output the same configuration")
    encoded = partial.get("histograms")
    if not isinstance(encoded, Mapping):
        raise PartialError("partial has no 'histograms' object")
    additions = [_addition(name, views, storage) for name, storage in encoded.items()]
    for view, index, values in additions:
        if index is None:
            view += values
        else:
            np.add.at(view, index, values)


def _addition(name: str, views: Mapping[str, np.ndarray], storage: Any
              ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None, np.ndarray]:
    """Where and what to add for one histogram of a partial, checked before anything is added."""
    view = views.get(name)
    if view is None:
        raise PartialError(f"partial holds histogram {name!r}, which this merge side does not "
                           f"book (it books {', '.join(sorted(views))})")
    if not isinstance(storage, Mapping) or storage.get("type") != "int":
        raise PartialError(f"partial histogram {name!r}: storage is not UHI integer storage")
    try:
        values = np.asarray(storage["values"], dtype=np.int64)
        if "index" not in storage:
            if values.shape != view.shape:
                raise PartialError(f"partial histogram {name!r} has shape {values.shape}, the "
                                   f"booked one {view.shape}")
            return view, None, values
        index = tuple(np.asarray(storage["index"], dtype=np.intp))
        if len(index) != view.ndim or any(axis.shape != values.shape for axis in index):
            raise PartialError(f"partial histogram {name!r}: a sparse index of {len(index)} "
                               f"axes for {view.ndim}, or of another length than its values")
        np.ravel_multi_index(index, view.shape)  # raises for a bin that does not exist
    except PartialError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise PartialError(f"partial histogram {name!r} is malformed: {exc}") from None
    return view, index, values


def _shown(partial: Any, key: str) -> str:
    if isinstance(partial, Mapping):
        return repr(partial.get(key))
    return f"of a {type(partial).__name__}"
