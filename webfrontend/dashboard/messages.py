"""The front-end's own catalogued messages (MAUS-304 to MAUS-317, MAUS-320 to MAUS-325), as log
lines and notes.

The catalogue (``maus_online/catalogue.py``) is the reconstruction's, and the web imports nothing
of the reconstruction (it may run on another machine), so the texts are copied here;
tests/test_webfrontend_runs.py holds each copy equal to the catalogue's entry. The recovery
guide (docs/recovery.md) explains each under its identifier.
"""
from __future__ import annotations

GUIDE = "docs/recovery.md"

TEXTS: dict[str, str] = {
    "MAUS-304": "image directory {directory}: skipped sidecar {name}: {reason}",
    "MAUS-305": "run archive {directory}: skipped {name}: {reason}",
    "MAUS-306": ("No archived runs. The front-end reads the directory named by "
                 "MAUS_ARCHIVE_DIRECTORY ({directory}); go.py archives each run there when "
                 "the run ends."),
    "MAUS-307": ("refused a request for the host {host}: it is not in MAUS_WEB_ALLOWED_HOSTS "
                 "({path})"),
    # Overlays (compare.py): notes on the detail page, which then shows the plot alone.
    "MAUS-308": ("compare={value} is not a run number: choose a run from the list (one to six "
                 "digits, e.g. compare=7). The plot is shown alone."),
    "MAUS-309": ("Run {run} is not in the archive, or its run.json cannot be read: nothing to "
                 "compare with. The plot is shown alone."),
    "MAUS-310": "Run {run} has no plot {tag}: nothing to compare with. The plot is shown alone.",
    "MAUS-311": "{what} cannot be overlaid on {tag}: {reason}. The plot is shown without it.",
    # Trends (trends.py): a refused parameter (400), and notes on a trend with no points.
    "MAUS-312": "trends: {parameter}={value} cannot be used: {reason}",
    "MAUS-313": ("No archived run among the last {runs} has {quantity} of {tag}: the plot is "
                 "absent from them, or they were archived by a go.py that wrote no summaries."),
    "MAUS-314": ("The live plot {tag} carries no summary history: it is not in the image "
                 "directory, or a go.py that writes no summaries drew it."),
    # Quality (quality.py): log lines for bad quality, a note on /quality without a summary.
    "MAUS-315": "image directory {directory}: ignored the quality of sidecar {name}: {reason}",
    "MAUS-316": "{directory}: skipped the quality summary {name}: {reason}",
    "MAUS-317": ("No quality summary: {directory} holds no readable quality.json. go.py writes "
                 "it at each refresh of plots with quality checks; the cards show each plot's "
                 "own quality."),
    # The farm (farm.py) and /metrics (metrics.py).
    "MAUS-320": "image directory {directory}: ignored {name}: {reason}",
    "MAUS-321": ("Farm: no status from go.py since {since} ({age} ago; a status older than "
                 "{seconds} s says nothing about the farm now). Is go.py running?"),
    "MAUS-322": ("Farm: no status from go.py: {reason} ({directory}). go.py writes farm.json "
                 "there every 2 s while it runs."),
    "MAUS-323": "Farm alarm: {alarms}.",
    "MAUS-324": ("refused /metrics to {address}: it is not in MAUS_WEB_METRICS_ALLOWED "
                 "({allowed})"),
    "MAUS-325": ("/metrics is unavailable: {error}. Install prometheus-client in the "
                 "front-end's environment."),
}


def say(code: str, **fields: object) -> str:
    """The message ``code`` as logged or shown: identifier, text, where the guide explains it."""
    return f"{code} {TEXTS[code].format(**fields)} [{GUIDE}#{code.lower()}]"


def quoted(value: str, limit: int = 40) -> str:
    """A refused value as a message repeats it: quoted, control characters escaped, and cut
    short, so a hostile query string cannot fill a page or a log line."""
    return ascii(value[:limit] + ("…" if len(value) > limit else ""))
