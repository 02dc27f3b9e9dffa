"""Trends: one summary number of one plot across the archived runs and across the live run's
refreshes, to answer "since when has it drifted?" (DESIGN §7b).

Consumes what go.py writes beside each plot (docs/histograms.md): the run's final summary in
each archived ``run.json`` (``plots[tag].summary``, read through the archive's cache) and the
live sidecar's ``image.summary_history`` (oldest first, the current refresh last). A summary::

    {"entries": 1234,
     "histograms": {"Triggers": {"entries": 1234, "mean": 28.1, "std": 1.9}},
     "peaks": {"e+": 25.5, "mu+": 28.3, "pi+": 30.1}}   # time-of-flight plots only

Produces series of points in which a missing value (null, or the plot absent from a run) is
``None``, a gap, never a zero::

    choice = TrendChoice.from_params({"tag": ["tof_time_01"], "quantity": ["peak:mu+"]})
    points = run_points(archive.runs(), choice)       # [{"run_number": 7, "value": 28.3}, ...]

No Django here; trend_views.py is the edge.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .archive import RunSummary
from .image_store import TAG_PATTERN
from .messages import quoted, say

DEFAULT_TAG = "tof_time_01"
DEFAULT_QUANTITY = "peak:mu+"
DEFAULT_RUNS = 50
#: The most runs one trend reads: an archive of 1,000 runs in one answer stays cheap.
MAX_RUNS = 1000
#: The time-of-flight peaks a summary may carry, with their labels.
PEAKS = {"e+": "e⁺", "mu+": "μ⁺", "pi+": "π⁺"}
#: A histogram name in a quantity (``mean:<name>``): the reducers' legend labels are short.
_MAX_NAME = 100


class TrendError(ValueError):
    """A trend parameter cannot be used; the message is MAUS-312 and names it."""


@dataclass(frozen=True)
class TrendChoice:
    """What a trend shows: the plot ``tag``, the ``quantity`` and how many of the newest runs.

    Quantities: ``entries`` (the plot's), ``mean:<histogram>``, ``std:<histogram>``,
    ``entries:<histogram>`` (one histogram's), ``peak:e+``, ``peak:mu+``, ``peak:pi+``.
    """

    tag: str = DEFAULT_TAG
    quantity: str = DEFAULT_QUANTITY
    runs: int = DEFAULT_RUNS

    @classmethod
    def from_params(cls, params: Mapping[str, list[str]]) -> TrendChoice:
        """From a query string's lists (``request.GET.lists()``); raises TrendError."""
        values = {name: _one(params, name) for name in ("tag", "quantity", "runs")}
        tag = values["tag"] or DEFAULT_TAG
        if not TAG_PATTERN.fullmatch(tag):
            raise _refuse("tag", tag, "a plot tag is letters, digits and _ . + - (e.g. "
                                      "tof_time_01)")
        quantity = values["quantity"] or DEFAULT_QUANTITY
        check_quantity(quantity)
        runs = values["runs"] or str(DEFAULT_RUNS)
        if not runs.isascii() or not runs.isdigit() or not 1 <= int(runs) <= MAX_RUNS:
            raise _refuse("runs", runs, f"give a whole number of runs from 1 to {MAX_RUNS}")
        return cls(tag, quantity, int(runs))

    def params(self) -> dict[str, str]:
        return {"tag": self.tag, "quantity": self.quantity, "runs": str(self.runs)}


def check_quantity(quantity: str) -> None:
    """Raises TrendError unless ``quantity`` is one of TrendChoice's forms."""
    kind, _, name = quantity.partition(":")
    if quantity == "entries":
        return
    if kind == "peak" and name in PEAKS:
        return
    if kind in ("mean", "std", "entries") and name and len(name) <= _MAX_NAME \
            and name.isprintable():
        return
    raise _refuse("quantity", quantity, "write entries, mean:<histogram>, std:<histogram>, "
                                        "entries:<histogram> or peak:e+ / peak:mu+ / peak:pi+")


def label(quantity: str) -> str:
    """The quantity for people: ``peak:mu+`` -> ``μ⁺ peak``, ``mean:TOF0`` -> ``mean of TOF0``."""
    kind, _, name = quantity.partition(":")
    if not name:
        return "entries"
    if kind == "peak":
        return f"{PEAKS.get(name, name)} peak"
    return f"{kind} of {name}"


def value_of(summary: Any, quantity: str) -> float | int | None:
    """The quantity in one summary; None when it is absent, null or not a finite number."""
    if not isinstance(summary, dict):
        return None
    kind, _, name = quantity.partition(":")
    if not name:
        value = summary.get("entries")
    elif kind == "peak":
        value = _get(summary.get("peaks"), name)
    else:
        value = _get(_get(summary.get("histograms"), name), kind)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def run_points(runs: Iterable[RunSummary], choice: TrendChoice) -> list[dict[str, Any]]:
    """The newest ``choice.runs`` runs (``runs`` newest first, as the archive lists them),
    oldest first, each with its value (None: a gap)."""
    newest = list(runs)[:choice.runs]
    return [{"run_number": run.run_number,
             "value": value_of(run.plot_summaries.get(choice.tag), choice.quantity)}
            for run in reversed(newest)]


def live_points(history: Any, quantity: str) -> list[dict[str, Any]]:
    """The live sidecar's ``summary_history`` as points; entries of another shape are left
    out (a point needs its spills_seen), a missing value is a gap."""
    if not isinstance(history, list):
        return []
    points = []
    for entry in history:
        if not isinstance(entry, dict):
            continue
        spills = entry.get("spills_seen")
        if isinstance(spills, bool) or not isinstance(spills, int):
            continue
        moment = entry.get("time")
        points.append({"spills_seen": spills, "time": moment if isinstance(moment, str) else None,
                       "value": value_of(entry.get("summary"), quantity)})
    return points


def quantities(summaries: Iterable[Any]) -> list[str]:
    """Every quantity the given summaries offer, for the page's choice: entries, each
    histogram's entries, mean and std, and the peaks."""
    names: dict[str, None] = {}
    peaks: dict[str, None] = {}
    for summary in summaries:
        if not isinstance(summary, dict):
            continue
        histograms = summary.get("histograms")
        if isinstance(histograms, dict):
            names.update((name, None) for name in histograms
                         if len(name) <= _MAX_NAME and name.isprintable())
        found = summary.get("peaks")
        if isinstance(found, dict):
            peaks.update((name, None) for name in PEAKS if name in found)
    return (["entries"] + [f"peak:{name}" for name in peaks]
            + [f"{kind}:{name}" for name in names for kind in ("mean", "std", "entries")])


def no_runs_note(points: list[dict[str, Any]], choice: TrendChoice) -> str:
    """MAUS-313 when no run shown has a value; "" otherwise."""
    if any(point["value"] is not None for point in points):
        return ""
    return say("MAUS-313", runs=choice.runs, quantity=label(choice.quantity), tag=choice.tag)


def no_live_note(points: list[dict[str, Any]], tag: str) -> str:
    """MAUS-314 when the live plot has no history; "" otherwise."""
    return "" if points else say("MAUS-314", tag=tag)


def _get(mapping: Any, key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


def _one(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    if len(values) > 1:
        raise _refuse(name, values[-1], "give it once")
    return values[0]


def _refuse(parameter: str, value: str, reason: str) -> TrendError:
    return TrendError(say("MAUS-312", parameter=parameter, value=quoted(value), reason=reason))
