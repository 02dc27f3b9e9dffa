"""Overlays on a detail page: another archived run's plot (``?compare=N``) and the reference
run a sidecar may carry (``image.reference``). A view choice only: nothing is written.

Consumes the request's ``compare`` value, the shown plot's histograms (UHI, as in its
sidecar) and a way to open run N's plots (an :class:`ImageStore` of the archive, found by the
archive reader); produces a :class:`Comparison`: run N's histograms of the same plot, ready for
the browser (``static/dashboard/overlay.js`` normalises, overlays and divides them), or a
catalogued note saying why there are none. Every failure is a note, never an exception out of
here: the page shows the plot alone and says why::

    comparison = compare_with("7", tag="tof_time_01", histograms=shown, store_of=store_of)
    comparison.note or comparison.client_data()   # {"run_number": 7, "histograms": [...]}

No Django here (the view passes ``store_of``), so the rules are tested as plain Python.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .archive import MAX_RUN_NUMBER, RunSummary
from .image_store import ImageStore
from .messages import quoted, say

#: What ``?compare=`` may be: a run number as the URLs write it (urls.RunNumberConverter).
COMPARE_PATTERN = re.compile(r"[0-9]{1,%d}" % len(str(MAX_RUN_NUMBER)))


class CompareError(ValueError):
    """``?compare=`` is not a run number; the message is MAUS-308."""


@dataclass(frozen=True)
class Comparison:
    """What the detail page overlays: ``histograms`` of run ``run_number``'s plot of the same
    tag, or, when there is nothing to overlay, ``note`` (a catalogued message) saying why."""

    run_number: int | None = None
    histograms: list[Any] | None = None
    note: str = ""

    def client_data(self) -> dict[str, Any] | None:
        """The overlay for the page's ``plot-data`` block; None when there is none."""
        if self.histograms is None:
            return None
        return {"run_number": self.run_number, "histograms": self.histograms}


def parse_compare(value: str | None) -> int | None:
    """``?compare=`` as a run number; None when absent or empty (no overlay).

    >>> parse_compare("7"), parse_compare(""), parse_compare(None)
    (7, None, None)
    """
    if value is None or value == "":
        return None
    if not COMPARE_PATTERN.fullmatch(value):
        raise CompareError(say("MAUS-308", value=quoted(value)))
    return int(value)


def compare_with(value: str | None, *, tag: str, histograms: list[Any],
                 store_of: Callable[[int], ImageStore | None]) -> Comparison:
    """The overlay that ``?compare=value`` asks for on the plot ``tag`` (its series, so that an
    auto-numbered refresh is compared with the run's final plot of the same series)."""
    try:
        run_number = parse_compare(value)
    except CompareError as exc:
        return Comparison(note=str(exc))
    if run_number is None:
        return Comparison()
    store = store_of(run_number)
    if store is None:
        return Comparison(run_number, note=say("MAUS-309", run=run_number))
    record = store.get(tag)
    document = store.document(record) if record is not None else None
    if document is None:
        return Comparison(run_number, note=say("MAUS-310", run=run_number, tag=tag))
    other = document.get("histograms")
    reason = mismatch(histograms, other)
    if reason:
        return Comparison(run_number, note=say("MAUS-311", what=f"Run {run_number}'s plot",
                                               tag=tag, reason=reason))
    return Comparison(run_number, other)


def reference_of(document: dict[str, Any], tag: str,
                 histograms: list[Any]) -> tuple[dict[str, Any] | None, str]:
    """The sidecar's ``reference`` (``{"run_number": N, "histograms": [...]}``, the histograms
    in the order of the plot's ``histograms``) and a note; (None, "") when it carries none."""
    reference = document.get("reference")
    if reference is None:
        return None, ""
    run_number = reference.get("run_number") if isinstance(reference, dict) else None
    if isinstance(run_number, bool) or not isinstance(run_number, int) \
            or not 0 <= run_number <= MAX_RUN_NUMBER:
        return None, say("MAUS-311", what="The reference", tag=tag,
                         reason="its run_number is not a run number")
    reason = mismatch(histograms, reference.get("histograms"))
    if reason:
        return None, say("MAUS-311", what=f"Reference run {run_number}", tag=tag, reason=reason)
    return {"run_number": run_number, "histograms": reference["histograms"]}, ""


def mismatch(shown: list[Any], other: Any) -> str:
    """Why ``other`` cannot be overlaid on the histograms ``shown``; "" when it can.

    Only the shape is checked here (as many histograms, as many axes each); bins that differ
    are drawn all the same, and the browser says that it cannot divide them.
    """
    if not isinstance(other, list) or not all(isinstance(item, dict) for item in other):
        return "its histograms are not a list of UHI histograms"
    if len(other) != len(shown):
        return f"it holds {len(other)} histogram(s) where this plot has {len(shown)}"
    for index, (mine, theirs) in enumerate(zip(shown, other), start=1):
        if _dimensions(mine) != _dimensions(theirs):
            return (f"its histogram {index} has {_dimensions(theirs)} axes where this plot's has "
                    f"{_dimensions(mine)}")
    return ""


def comparable_runs(runs: Iterable[RunSummary], shown: RunSummary | None) -> list[int]:
    """The run numbers the page's select offers, newest first: every archived run but the one
    shown."""
    return [run.run_number for run in runs
            if shown is None or run.run_number != shown.run_number]


def _dimensions(histogram: Any) -> int:
    axes = histogram.get("axes") if isinstance(histogram, dict) else None
    return len(axes) if isinstance(axes, list) else 0
