"""The run's quality, per detector group and overall: ``image.quality`` of each plot folded in.

Consumes the ``image.quality`` object of each image document OutputPyImage saves (written by
the quality checks; docs/webfrontend.md, "Quality", describes both layouts)::

    {"level": "Bad", "groups": ["TOF1"],
     "checks": [{"check": "CheckPyDeadChannels", "level": "Bad", "value": 0.0,
                 "reason": "channel TOF1 plane 0 slab 3 PMT 0: 0 hits, station median 412"}]}

and produces the run's summary, which OutputPyImage writes as ``quality.json`` in
``image_directory`` and keeps in the archive's ``run.json`` as ``quality``::

    {"format_version": 1, "run_number": 7, "time": "2026-12-01T12:00:00.000Z",
     "level": "Bad", "counts": {"Good": 17, "Medium": 1, "Bad": 1, "Null": 1},
     "groups": [{"name": "TOF0", "level": "Good", "counts": {...},
                 "plots": [{"tag": "tdcadc_occupancy_tof0", "level": "Good",
                            "reason": "...", "check": "..."}]}]}

* A plot is its latest document: a refresh replaces what the plot said before, and refreshes
  of one plot numbered by ``histogram_auto_number`` (``tof_xy_0_000012``) are one plot.
* A group's level is the worst of its plots', the run's the worst of its groups' (Bad > Medium
  > Good); Null only when every part is Null or there is none. The five detector groups are
  always listed, in display order, so a big screen has a tile for each; a group of another name
  follows them.
* A document without ``image.quality`` counts nowhere; a run none of whose documents carries
  one has no summary (:attr:`QualitySummary.seen`), and no quality.json is written for it.
* A document whose quality is malformed counts nowhere either, and
  :meth:`QualitySummary.fold` raises :class:`QualityError` (MAUS-180) naming the tag and the
  field, so the log says which check to mend.

No I/O here: OutputPyImage (outputters/image.py) owns the summary, resets it at each run's
birth and writes the file.
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maus_online.catalogue import say
# The levels, their ranking and the order the counts are written in are the checks' own.
from maus_online.checks.levels import LEVELS as COUNT_ORDER
from maus_online.checks.levels import SEVERITY
from maus_online.checks.levels import worst_level as worst
from maus_online.errors import MausError

#: Version of quality.json's layout; readers refuse versions they do not know.
FORMAT_VERSION = 1
QUALITY_FILE = "quality.json"
#: The detector groups, in the order of display.
GROUPS = ("TOF0", "TOF1", "TOF2", "time of flight", "DAQ")
#: histogram_auto_number's suffix: its refreshes are one plot.
AUTO_NUMBER = re.compile(r"_[0-9]{6}\Z")
#: Longest group name, check name or reason kept: a summary is read on a big screen.
MAX_TEXT = 500


class QualityError(MausError):
    """A document's ``image.quality`` is malformed; the message (MAUS-180) names tag and field."""


@dataclass(frozen=True)
class PlotQuality:
    """One plot's quality as the summary keeps it: its level, groups and worst check."""

    tag: str
    level: str
    groups: tuple[str, ...]
    check: str | None
    reason: str | None

    def entry(self) -> dict[str, Any]:
        return {"tag": self.tag, "level": self.level, "reason": self.reason,
                "check": self.check}


def counts_of(levels: list[str]) -> dict[str, int]:
    return {level: levels.count(level) for level in COUNT_ORDER}


def plot_quality(tag: str, quality: Any) -> PlotQuality:
    """``image.quality`` of the plot ``tag``, checked; QualityError naming the field if not."""
    def refused(reason: str) -> QualityError:
        return QualityError(say("MAUS-180", tag=tag, reason=reason))

    if not isinstance(quality, Mapping):
        raise refused(f"image.quality is {type(quality).__name__}, expected an object")
    level = quality.get("level")
    if level not in SEVERITY:
        raise refused(f"image.quality.level is {_shown(level)}, expected one of "
                      f"{', '.join(COUNT_ORDER)}")
    groups = quality.get("groups", [])
    if not isinstance(groups, list) or not all(_is_text(group) and group for group in groups):
        raise refused("image.quality.groups is not a list of group names")
    checks = quality.get("checks", [])
    if not isinstance(checks, list):
        raise refused(f"image.quality.checks is {type(checks).__name__}, expected a list")
    worst_check: Mapping[str, Any] | None = None
    for index, check in enumerate(checks):
        where = f"image.quality.checks[{index}]"
        if not isinstance(check, Mapping):
            raise refused(f"{where} is {type(check).__name__}, expected an object")
        if check.get("level") not in SEVERITY:
            raise refused(f"{where}.level is {_shown(check.get('level'))}, expected one of "
                          f"{', '.join(COUNT_ORDER)}")
        for key in ("check", "reason"):
            if check.get(key) is not None and not _is_text(check.get(key)):
                raise refused(f"{where}.{key} is {type(check.get(key)).__name__}, expected a "
                              "string")
        if worst_check is None or SEVERITY[check["level"]] > SEVERITY[worst_check["level"]]:
            worst_check = check
    found = worst_check or {}
    return PlotQuality(tag=tag, level=level, groups=tuple(dict.fromkeys(groups)),
                       check=found.get("check"), reason=found.get("reason"))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _shown(value: Any) -> str:
    """A refused value for the message, cut short: a check's bug must not flood the log."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def series_of(tag: str) -> str:
    """``tof_xy_0_000012`` -> ``tof_xy_0``: the plot an auto-numbered refresh belongs to."""
    return AUTO_NUMBER.sub("", tag)


class QualitySummary:
    """Consumes each saved image document's ``image.quality``; produces the run's summary.

    >>> summary = QualitySummary()
    >>> summary.fold({"image": {"tag": "a", "run_number": 7,
    ...               "quality": {"level": "Bad", "groups": ["TOF1"], "checks": []}}})
    True
    >>> summary.document()["level"], summary.document()["counts"]["Bad"]
    ('Bad', 1)
    """

    def __init__(self) -> None:
        self.plots: dict[str, PlotQuality] = {}
        self.run_number: Any = None
        #: True once a document carried ``image.quality``: a run whose plots carry none (no
        #: checks configured) has no summary to write.
        self.seen = False

    def fold(self, document: Mapping[str, Any]) -> bool:
        """Fold one image document in; True when the summary changed (a file to write).

        Raises QualityError (MAUS-180) for malformed quality: the plot then counts nowhere,
        and what it said before is forgotten (the summary changed if it had said anything)."""
        image = document.get("image")
        if not isinstance(image, Mapping) or "quality" not in image:
            return False
        self.seen = True
        tag = str(image.get("tag"))
        series = series_of(tag)
        before = self.run_number, self.plots.get(series)
        if image.get("run_number") is not None:
            self.run_number = image.get("run_number")
        try:
            self.plots[series] = plot_quality(tag, image["quality"])
        except QualityError:
            self.plots.pop(series, None)
            raise
        return (self.run_number, self.plots.get(series)) != before

    def document(self, now: float | None = None) -> dict[str, Any]:
        """The summary in quality.json's layout (the module docstring)."""
        plots = [self.plots[series] for series in sorted(self.plots)]
        names = list(GROUPS) + sorted({group for plot in plots for group in plot.groups}
                                      - set(GROUPS))
        groups = []
        for name in names:
            members = [plot for plot in plots if name in plot.groups]
            levels = [plot.level for plot in members]
            groups.append({"name": name, "level": worst(levels), "counts": counts_of(levels),
                           "plots": [plot.entry() for plot in members]})
        return {"format_version": FORMAT_VERSION, "run_number": self.run_number,
                "time": iso_time(now),
                "level": worst([group["level"] for group in groups]
                               + [plot.level for plot in plots if not plot.groups]),
                "counts": counts_of([plot.level for plot in plots]), "groups": groups}


def iso_time(seconds: float | None = None) -> str:
    """``2026-12-01T12:00:00.000Z``: UTC, milliseconds (now when ``seconds`` is None)."""
    when = datetime.datetime.now(datetime.timezone.utc) if seconds is None else \
        datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
