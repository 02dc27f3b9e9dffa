"""Quality as the front-end sees it: each sidecar's ``image.quality`` and the run's quality.json.

The quality checks put into every sidecar (docs/webfrontend.md, "Quality")::

    "quality": {"level": "Bad", "groups": ["TOF1"],
                "checks": [{"check": "CheckPyDeadChannels", "level": "Bad", "value": 0.0,
                            "reason": "channel TOF1 plane 0 slab 3 PMT 0: 0 hits, ..."}]}

and go.py's OutputPyImage sums them up in ``quality.json`` in the image directory (and in each
archived run's ``run.json`` as ``quality``). Both come from a directory anyone who can write
there may have filled, so both are checked here, field by field, into plain values the
templates and the API use; nothing else in the front-end reads them::

    plot = parse_plot_quality(sidecar["image"]["quality"])      # PlotQuality, or ...
    summary = parse_summary(read_json_file("images/quality.json", limits))   # QualityError

* A sidecar whose quality is malformed keeps its plot: the card shows "No check" (Null) with
  the reason on hover, and the store logs MAUS-315 once per version of the file.
* A malformed quality.json is refused whole (MAUS-316 once per version of the file): /quality
  then says MAUS-317, and the cards, which read the sidecars, are not affected.
* Every text is passed on as text; the templates escape it and the scripts use textContent.

The levels and group names are the reconstruction's (outputters/quality_summary.py), copied
here because the web imports nothing of the reconstruction.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .documents import WatchedDocument
from .json_files import JsonLimits

QUALITY_FILE = "quality.json"
FORMAT_VERSION = 1
#: From the least to the most severe.
SEVERITY = {"Null": 0, "Good": 1, "Medium": 2, "Bad": 3}
#: The order of the counts on the summary bar and the tiles.
COUNT_ORDER = ("Good", "Medium", "Bad", "Null")
#: The detector groups, in the order of display.
GROUPS = ("TOF0", "TOF1", "TOF2", "time of flight", "DAQ")
#: What each level is called and its icon: the colour is never the only signal.
WORDS = {"Good": "Good", "Medium": "Medium", "Bad": "Bad", "Null": "No check"}
ICONS = {"Good": "✓", "Medium": "!", "Bad": "✗", "Null": "–"}
#: Longest text kept from a file (a reason, a group name): the rest is cut, marked "…".
MAX_TEXT = 500


class QualityError(ValueError):
    """Quality that is not in the agreed layout; the message names the field."""


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on a plot."""

    check: str
    level: str
    value: float | None
    reason: str


@dataclass(frozen=True)
class PlotQuality:
    """A sidecar's quality, checked: its level, groups and checks (worst first). ``error`` is
    set, and the level Null, when the sidecar's quality could not be used."""

    level: str
    groups: tuple[str, ...]
    checks: tuple[CheckResult, ...]
    error: str = ""

    @property
    def reason(self) -> str:
        """Why the plot has its level: the worst check's reason (or why none could be read)."""
        if self.error:
            return f"quality unreadable: {self.error}"
        return self.checks[0].reason if self.checks else ""

    def badge(self) -> dict[str, Any]:
        """What a card and the API say of the plot's quality."""
        return {**level_badge(self.level), "reason": self.reason,
                "check": self.checks[0].check if self.checks else "",
                "groups": list(self.groups),
                "checks": [{"check": c.check, "level": c.level, "word": WORDS[c.level],
                            "icon": ICONS[c.level], "value": c.value, "reason": c.reason}
                           for c in self.checks]}


def level_badge(level: str | None) -> dict[str, Any]:
    """The level with its word and icon; None (no quality at all) has neither."""
    if level is None:
        return {"level": None, "word": "", "icon": ""}
    return {"level": level, "word": WORDS[level], "icon": ICONS[level]}


def worst(levels: Iterable[str]) -> str:
    """The most severe level; Null when there is none (or only Null)."""
    return max(levels, key=SEVERITY.__getitem__, default="Null")


def read_plot_quality(image: Mapping[str, Any]) -> PlotQuality | None:
    """The quality of a sidecar's ``image`` object: None when it carries none, a Null
    PlotQuality with ``error`` when it is malformed (never an exception)."""
    if "quality" not in image:
        return None
    try:
        return parse_plot_quality(image["quality"])
    except QualityError as exc:
        return PlotQuality("Null", (), (), error=str(exc))


def parse_plot_quality(value: Any) -> PlotQuality:
    """``image.quality`` checked; QualityError naming the field if it is malformed."""
    value = _object(value, "quality")
    level = _level(value.get("level"), "quality.level")
    groups = _names(value.get("groups", []), "quality.groups")
    results = []
    for where, check in _objects(value.get("checks", []), "quality.checks"):
        number = check.get("value")
        if isinstance(number, bool) or not isinstance(number, (int, float, type(None))):
            raise QualityError(f"{where}.value is {type(number).__name__}, expected a number "
                               "or null")
        results.append(CheckResult(check=_text(check.get("check"), f"{where}.check"),
                                   level=_level(check.get("level"), f"{where}.level"),
                                   value=number, reason=_text(check.get("reason"),
                                                              f"{where}.reason")))
    # Worst first, the checks' own order kept among equals: the first is the reason shown.
    results.sort(key=lambda result: -SEVERITY[result.level])
    return PlotQuality(level, groups, tuple(results))


def parse_summary(document: Any) -> dict[str, Any]:
    """quality.json (or run.json's ``quality``) checked and reduced to its agreed fields, with
    each level's word and icon; QualityError naming the field if it is malformed."""
    document = _object(document, "it")
    if document.get("format_version") != FORMAT_VERSION:
        raise QualityError(f"format_version is {document.get('format_version')!r}; this "
                           f"front-end reads version {FORMAT_VERSION}")
    run_number = document.get("run_number")
    if run_number is not None and (isinstance(run_number, bool)
                                   or not isinstance(run_number, int)):
        raise QualityError(f"run_number is {run_number!r}, expected a whole number or null")
    parsed = [_group(group, where)
              for where, group in _objects(document.get("groups", []), "groups")]
    order = {name: index for index, name in enumerate(GROUPS)}
    parsed.sort(key=lambda group: (order.get(group["name"], len(GROUPS)), group["name"]))
    return {"format_version": FORMAT_VERSION, "run_number": run_number,
            "time": _text(document.get("time"), "time"),
            **level_badge(_level(document.get("level"), "level")),
            "counts": _counts(document.get("counts", {}), "counts"), "groups": parsed}


def _group(value: dict[str, Any], where: str) -> dict[str, Any]:
    name = _text(value.get("name"), f"{where}.name")
    if not name:
        raise QualityError(f"{where}.name is empty")
    entries = []
    for at, plot in _objects(value.get("plots", []), f"{where}.plots"):
        tag = _text(plot.get("tag"), f"{at}.tag")
        if not tag:
            raise QualityError(f"{at}.tag is empty")
        # A tag becomes a link only if it is a plot's (quality_views.py checks it).
        entries.append({"tag": tag, **level_badge(_level(plot.get("level"), f"{at}.level")),
                        "reason": _text(plot.get("reason"), f"{at}.reason"),
                        "check": _text(plot.get("check"), f"{at}.check")})
    # The worst plots first: the big screen shows what needs attention at the top.
    entries.sort(key=lambda entry: -SEVERITY[entry["level"]])
    return {"name": name, **level_badge(_level(value.get("level"), f"{where}.level")),
            "counts": _counts(value.get("counts", {}), f"{where}.counts"), "plots": entries}


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise QualityError(f"{where} is {type(value).__name__}, expected an object")
    return value


def _objects(value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """The objects of the list ``value``, each with where it is (``groups[1]``)."""
    if not isinstance(value, list):
        raise QualityError(f"{where} is {type(value).__name__}, expected a list")
    return [(f"{where}[{index}]", _object(item, f"{where}[{index}]"))
            for index, item in enumerate(value)]


def _level(value: Any, where: str) -> str:
    if value not in SEVERITY or not isinstance(value, str):
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise QualityError(f"{where} is {shown}, expected one of {', '.join(COUNT_ORDER)}")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise QualityError(f"{where} is {type(value).__name__}, expected a string")
    return value if len(value) <= MAX_TEXT else f"{value[:MAX_TEXT]}…"


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(name, str) and name for name in value):
        raise QualityError(f"{where} is not a list of group names")
    return tuple(dict.fromkeys(_text(name, where) for name in value))


def _counts(value: Any, where: str) -> dict[str, int]:
    value = _object(value, where)
    counts = {}
    for level in COUNT_ORDER:
        number = value.get(level, 0)
        # Below 2**53: /metrics exports it as a float, and 10**400 would not convert.
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**53:
            raise QualityError(f"{where}.{level} is {number!r:.40}, expected a whole number "
                               ">= 0")
        counts[level] = number
    return counts


def count_levels(qualities: Iterable[PlotQuality | None]) -> dict[str, Any]:
    """The summary bar: the plots shown, by level (those without quality are not counted),
    and the worst of them."""
    levels = [quality.level for quality in qualities if quality is not None]
    return {**level_badge(worst(levels) if levels else None),
            "counts": {level: levels.count(level) for level in COUNT_ORDER},
            "plots": len(levels)}


@lru_cache(maxsize=4)
def quality_file_for(directory: str, limits: JsonLimits) -> WatchedDocument:
    """The reader of ``quality.json`` of one image directory (one, and so one cache, per
    directory for the whole process): the checked summary, or None with the reason. A refused
    version is logged once (MAUS-316); a missing one is not, /quality says MAUS-317."""
    return WatchedDocument(directory, QUALITY_FILE, limits, parse_summary, message="MAUS-316")
