"""What the pages and the JSON API say about plots: one dictionary per plot, and freshness.

The dashboard's template renders the same dictionaries that ``/api/dashboard`` returns, so a
card drawn by the server and a card updated by the browser's poll cannot disagree. URLs are
built by the caller (the views reverse them), which keeps this module free of Django.
"""
from __future__ import annotations

import json
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .archive import RunSummary
from .image_store import ImageRecord, latest
from .layout import Group
from .quality import count_levels, level_badge

UrlFor = Callable[[ImageRecord], str]


@dataclass(frozen=True)
class Freshness:
    """How recent the newest plot is, by the image files' times on this machine's clock.

    An archived run (``live`` False) is never stale: its plots are final, not late.
    """

    newest: float | None  # seconds since the epoch; None when there is no plot at all
    age: float | None
    stale_seconds: float
    live: bool = True

    @property
    def stale(self) -> bool:
        return self.live and (self.age is None or self.age > self.stale_seconds)

    @property
    def message(self) -> str:
        """A plain sentence for the banner; empty while the plots are fresh."""
        if not self.live:
            return ""
        # The texts of MAUS-303 and MAUS-301 in maus_online/catalogue.py (the web imports
        # nothing of the reconstruction; tests/test_recovery_catalogue.py holds them equal).
        if self.newest is None:
            return ("MAUS-303 No plots yet. The front-end reads the directory named by "
                    "MAUS_IMAGE_DIRECTORY; go.py writes to its image_directory. "
                    "[docs/recovery.md#maus-303]")
        if not self.stale:
            return ""
        return (f"MAUS-301 Stale data: no new plot for {format_age(self.age)} (the newest was "
                f"written {format_utc(self.newest)}). Is the reconstruction running? "
                "[docs/recovery.md#maus-301]")


def freshness(records: Iterable[ImageRecord], *, now: float, stale_seconds: float,
              live: bool = True) -> Freshness:
    newest = latest(records)
    if newest is None:
        return Freshness(None, None, stale_seconds, live)
    return Freshness(newest.modified, max(0.0, now - newest.modified), stale_seconds, live)


def format_age(seconds: float) -> str:
    """A short age for people: ``"4 s"``, ``"3 min 5 s"``, ``"2 h 10 min"``, ``"3 d 4 h"``."""
    seconds = int(max(0, seconds))
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    if days:
        return f"{days} d {hour} h"
    if hours:
        return f"{hours} h {minute} min"
    if minutes:
        return f"{minutes} min {second} s"
    return f"{second} s"


def format_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def display_value(value: Any) -> str:
    """A metadata value as one line of text: lists joined, absent values as a dash."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(display_value, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def image_summary(record: ImageRecord, *, now: float, image_url: UrlFor,
                  detail_url: UrlFor) -> dict[str, Any]:
    """One plot's metadata for a card or the API (no histograms; see the detail API)."""
    age = max(0.0, now - record.modified)
    return {
        "tag": record.tag,
        "series": record.series,
        "description": record.description,
        "keywords": list(record.keywords),
        "run_number": record.run_number,
        "spill_number": record.spill_number,
        "spills_seen": record.spills_seen,
        "time": record.time,
        "format_version": record.format_version,
        "image_type": record.image_type,
        "image_file": record.image_file,
        "image_size": record.size,
        "browser_displayable": record.browser_displayable,
        "modified": format_utc(record.modified),
        "age_seconds": round(age, 1),
        "age": format_age(age),
        "version": record.version,
        "image_url": image_url(record),
        "detail_url": detail_url(record),
        # level None: the sidecar carries no quality (a go.py without checks).
        "quality": record.quality.badge() if record.quality is not None else level_badge(None),
    }


def freshness_summary(state: Freshness) -> dict[str, Any]:
    return {
        "stale": state.stale,
        "stale_seconds": state.stale_seconds,
        "newest_modified": format_utc(state.newest) if state.newest is not None else None,
        "newest_age_seconds": round(state.age, 1) if state.age is not None else None,
        "message": state.message,
    }


def dashboard_summary(groups: Iterable[Group], state: Freshness, *, now: float,
                      image_url: UrlFor, detail_url: UrlFor,
                      run_number: int | None = None) -> dict[str, Any]:
    """The dashboard as data: its groups of plot summaries in layout order, freshness, the
    run the plots belong to (None when they do not say), and the quality bar's counts."""
    groups = list(groups)
    return {
        "generated": format_utc(now),
        "run_number": run_number,
        "freshness": freshness_summary(state),
        "quality": count_levels(record.quality for group in groups for record in group.records),
        "groups": [{"title": group.title,
                    "images": [image_summary(record, now=now, image_url=image_url,
                                             detail_url=detail_url)
                               for record in group.records]}
                   for group in groups],
    }


def run_summary(run: RunSummary, *, url: str, images_url: str) -> dict[str, Any]:
    """One archived run for the list of runs and ``/api/runs``."""
    return {
        "run_number": run.run_number,
        "complete": run.complete,
        "state": run.state,
        "archived_at": run.archived_at,
        "first_spill_time": run.first_spill_time,
        "last_spill_time": run.last_spill_time,
        "spills": {"physics": run.physics_spills, "run_markers": run.run_markers,
                   "with_errors": run.with_errors, "input_errors": run.input_errors},
        "transform": run.transform,
        "configuration_id": run.configuration_id,
        "version": run.version,
        "plot_count": run.plot_count,
        # The run's overall quality only: the list may hold 1,000 runs (groups: /runs/<N>/quality).
        "quality": ({key: run.quality[key] for key in ("level", "word", "icon", "counts")}
                    if run.quality is not None else level_badge(None)),
        "url": url,
        "images_url": images_url,
    }


def now() -> float:
    """The present, as the views see it (one place to change if tests ever need a clock)."""
    return _time.time()
