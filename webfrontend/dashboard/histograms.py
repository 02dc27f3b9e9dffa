"""Numbers a shifter reads off a histogram in a sidecar: axes, contents in and out of range.

The sidecar's ``histograms`` are in the UHI serialisation (scikit-hep ``uhi``, schema 1; see
docs/histograms.md): each has ``axes`` (``regular``, ``variable``, ``category_str``,
``category_int`` or ``boolean``), ``storage`` whose ``values`` include the flow bins, nested one
list level per axis, and ``metadata.name``. The detail page's table shows what
:func:`summarise` returns; the interactive drawing itself is done in the browser
(``static/dashboard/histogram.js``) from the same numbers. No Django here.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any


class HistogramError(ValueError):
    """A histogram in a sidecar does not follow the UHI layout; the message says where."""


@dataclass(frozen=True)
class AxisSummary:
    label: str
    kind: str
    bins: int
    extent: str  # "20 – 40", or the categories' count


@dataclass(frozen=True)
class HistogramSummary:
    name: str
    axes: tuple[AxisSummary, ...]
    storage: str
    total: float      # every bin, flow bins included
    in_range: float   # the bins inside the axes' ranges
    underflow: float | None  # 1D only: below the first bin ...
    overflow: float | None   # ... and above the last

    @property
    def outside(self) -> float:
        return self.total - self.in_range


def flow_bins(axis: dict[str, Any]) -> tuple[int, int, int]:
    """(bins in range, flow bins before them, flow bins after them) of a UHI axis."""
    kind = axis.get("type")
    if kind == "regular":
        bins = axis.get("bins")
        before, after = bool(axis.get("underflow")), bool(axis.get("overflow"))
    elif kind == "variable":
        edges = axis.get("edges")
        bins = len(edges) - 1 if isinstance(edges, list) else None
        before, after = bool(axis.get("underflow")), bool(axis.get("overflow"))
    elif kind in ("category_str", "category_int"):
        categories = axis.get("categories")
        bins = len(categories) if isinstance(categories, list) else None
        before, after = False, bool(axis.get("flow"))
    elif kind == "boolean":
        bins, before, after = 2, False, False
    else:
        raise HistogramError(f"axis type {kind!r} is not a UHI axis type")
    if not isinstance(bins, int) or bins < 1:
        raise HistogramError(f"{kind} axis has no bins")
    return bins, int(before), int(after)


def summarise(histogram: Any) -> HistogramSummary:
    """Summarise one UHI histogram; raises HistogramError if it is not one."""
    try:
        return _summarise(histogram)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        if isinstance(exc, HistogramError):
            raise
        # A field of the wrong type deep inside (a string for 'lower', ...): one message for
        # all of them rather than a check per field.
        raise HistogramError(f"malformed ({type(exc).__name__}: {exc})") from exc


def _summarise(histogram: Any) -> HistogramSummary:
    if not isinstance(histogram, dict):
        raise HistogramError("not an object")
    axes = histogram.get("axes")
    storage = histogram.get("storage")
    if not isinstance(axes, list) or not axes or not all(isinstance(a, dict) for a in axes):
        raise HistogramError("no axes")
    if not isinstance(storage, dict) or not isinstance(storage.get("values"), list):
        raise HistogramError("no storage values")
    layout = [flow_bins(axis) for axis in axes]
    # Mean storages keep the means in 'values' and the entries in 'counts'.
    contents = storage["counts"] if isinstance(storage.get("counts"), list) else storage["values"]
    total = _sum(contents, [(0, 0)] * len(layout), layout)
    in_range = _sum(contents, [(before, after) for _, before, after in layout], layout)
    underflow = overflow = None
    if len(layout) == 1:
        bins, before, after = layout[0]
        underflow = float(sum(contents[:before])) if before else 0.0
        overflow = float(sum(contents[before + bins:])) if after else 0.0
    metadata = histogram.get("metadata") if isinstance(histogram.get("metadata"), dict) else {}
    return HistogramSummary(
        name=str(metadata.get("name", "")), axes=tuple(map(_axis_summary, axes, layout)),
        storage=str(storage.get("type", "")), total=total, in_range=in_range,
        underflow=underflow, overflow=overflow)


def _sum(values: Any, strip: list[tuple[int, int]], layout: list[tuple[int, int, int]]) -> float:
    """Sum the nested ``values``, dropping ``strip[d]`` bins at each end of dimension d."""
    bins, before, after = layout[0]
    if not isinstance(values, list) or len(values) != bins + before + after:
        raise HistogramError(f"storage holds {len(values) if isinstance(values, list) else 0} "
                             f"values along an axis of {bins} bins + {before + after} flow")
    head, tail = strip[0]
    kept = values[head:len(values) - tail]
    if len(layout) == 1:
        if not all(isinstance(v, Real) or v is None for v in kept):
            raise HistogramError("storage values are not numbers")
        return float(sum(v for v in kept if v is not None))  # None: a NaN written by orjson
    return sum(_sum(row, strip[1:], layout[1:]) for row in kept)


def _axis_summary(axis: dict[str, Any], layout: tuple[int, int, int]) -> AxisSummary:
    metadata = axis.get("metadata") if isinstance(axis.get("metadata"), dict) else {}
    kind = axis["type"]
    if kind == "regular":
        extent = f"{axis.get('lower'):g} – {axis.get('upper'):g}"
        integer = (axis.get("writer_info", {}).get("boost-histogram", {}).get("orig_type")
                   == "Integer")
        kind = "integer" if integer else kind
    elif kind == "variable":
        extent = f"{axis['edges'][0]:g} – {axis['edges'][-1]:g}"
    else:
        extent = f"{layout[0]} categories"
    return AxisSummary(label=str(metadata.get("label", "")), kind=kind, bins=layout[0],
                       extent=extent)
