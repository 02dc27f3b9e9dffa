"""The farm's status as go.py reports it: ``farm.json`` in, what the pages and metrics say out.

go.py writes ``farm.json`` into its image directory every 2 s or less (the format is in
docs/webfrontend.md, "The farm"): the run's spill counts, the queue, the servers, each
worker with its sub-processes and a history of its rate. This module reads it, checks it and
turns it into one dictionary that the header, ``/farm``, ``/api/farm`` and ``/metrics`` share::

    reader = FarmReader("/data/maus/images", JsonLimits())
    status = reader.read(now=time.time())
    status.state, status.alarms, farm_view(status)["summary"]

Three rules, because a control room acts on what this says:

* **Stale is not healthy.** A document whose ``written_epoch`` is older than
  :data:`STALE_AFTER_SECONDS` is shown as "no status from go.py since ..." (MAUS-321), whatever
  it says about the workers: go.py, which writes it, has stopped or hangs.
* **A bad file is no status.** A file that is not a regular file, too large, too deep, not
  JSON, or not in the format, is ignored with one warning per version of the file (MAUS-320),
  and the page says there is no status (MAUS-322). It never raises into a view.
* **Alarms are red.** A worker that is ``lost``, or a sub-process running a stale
  configuration, turns the header into a red banner (MAUS-323).

No Django: plain Python, tested through the views in tests/test_webfrontend_farm.py.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from .documents import WatchedDocument
from .json_files import JsonLimits, printable
from .messages import say
from .payloads import format_age, format_utc

FARM_FILE = "farm.json"  # one of image_store.DIRECTORY_DOCUMENTS
#: The ``format_version`` this front-end reads.
FORMAT_VERSION = 1
#: A status older than this says nothing about the farm now (go.py writes every <= 2 s).
STALE_AFTER_SECONDS = 30.0
WORKER_STATES = ("online", "busy", "lost")
#: The first second a date cannot show (year 10000): a later written_epoch is no time.
LAST_EPOCH = 253_402_300_800
#: The sparkline's frame, in SVG user units (the CSS scales it).
SPARK_WIDTH, SPARK_HEIGHT = 120, 24


class FarmFileError(ValueError):
    """farm.json is not in the agreed format; the message names the field."""


def _number(value: Any, where: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    # 1e999 parses as infinity (json_files refuses only the words NaN and Infinity), which
    # strict JSON answers could not carry and no table should show.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FarmFileError(f"{where} is {value!r:.40}, expected a finite number")
    return value


def _text(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise FarmFileError(f"{where} is {value!r:.40}, expected a string")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FarmFileError(f"{where} is not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise FarmFileError(f"{where} is not a list")
    return value


def check_farm(document: Any) -> dict[str, Any]:
    """``document`` itself when it is a farm.json of :data:`FORMAT_VERSION` whose fields the
    pages use have the right types (unknown fields are allowed: writers may add optional
    ones); raises FarmFileError naming the first wrong field."""
    farm = _object(document, "the document")
    if farm.get("format_version") != FORMAT_VERSION:
        raise FarmFileError(f"format_version is {farm.get('format_version')!r:.40}; this "
                            f"front-end reads version {FORMAT_VERSION}")
    if not 0 <= _number(farm.get("written_epoch"), "written_epoch") < LAST_EPOCH:
        raise FarmFileError(f"written_epoch is {farm['written_epoch']!r:.40}, not a time "
                            "(seconds since 1970)")
    _text(farm.get("written"), "written")
    if not isinstance(farm.get("farm"), bool):
        raise FarmFileError("farm is not true or false")
    _text(farm.get("dataflow"), "dataflow")
    run = _object(farm.get("run", {}), "run")
    for key in ("spills_read", "spills_in_flight", "spills_done", "spills_failed",
                "spills_per_second", "queue_depth", "run_number"):
        _number(run.get(key), f"run.{key}", optional=True)
    _text(run.get("queue"), "run.queue", optional=True)
    for name, server in _object(farm.get("servers", {}), "servers").items():
        if not isinstance(_object(server, f"servers.{name}").get("up"), bool):
            raise FarmFileError(f"servers.{name}.up is not true or false")
        _text(server.get("since"), f"servers.{name}.since", optional=True)
    for index, worker in enumerate(_list(farm.get("workers", []), "workers")):
        where = f"workers[{index}]"
        _object(worker, where)
        _text(worker.get("name"), f"{where}.name")
        if worker.get("state") not in WORKER_STATES:
            raise FarmFileError(f"{where}.state is {worker.get('state')!r:.40}, expected one "
                                f"of {', '.join(WORKER_STATES)}")
        for key in ("host", "last_heard", "joined"):
            _text(worker.get(key), f"{where}.{key}", optional=True)
        for key in ("spills_done", "spills_per_second", "failures", "redeliveries",
                    "last_heard_epoch"):
            _number(worker.get(key), f"{where}.{key}", optional=True)
        for sample, value in enumerate(_list(worker.get("rate_history", []),
                                             f"{where}.rate_history")):
            _number(value, f"{where}.rate_history[{sample}]")
        for number, process in enumerate(_list(worker.get("processes", []),
                                               f"{where}.processes")):
            _object(process, f"{where}.processes[{number}]")
            if not isinstance(process.get("stale", False), bool):
                raise FarmFileError(f"{where}.processes[{number}].stale is not true or false")
    for index, alarm in enumerate(_list(farm.get("alarms", []), "alarms")):
        _text(_object(alarm, f"alarms[{index}]").get("text"), f"alarms[{index}].text")
        _text(alarm.get("id"), f"alarms[{index}].id", optional=True)
    return farm


@dataclass(frozen=True)
class FarmStatus:
    """What the front-end knows of the farm at ``now``: the checked document (None when there
    is none usable), why not (``problem``), and how old it is."""

    directory: str
    now: float
    document: dict[str, Any] | None = None
    problem: str = ""

    @property
    def age(self) -> float | None:
        if self.document is None:
            return None
        return max(0.0, self.now - self.document["written_epoch"])

    @property
    def state(self) -> str:
        """``ok``, ``stale`` (too old to trust) or ``none`` (no usable farm.json)."""
        if self.document is None:
            return "none"
        return "stale" if self.age > STALE_AFTER_SECONDS else "ok"

    @property
    def fresh(self) -> dict[str, Any] | None:
        """The document when it says something about the farm now, else None."""
        return self.document if self.state == "ok" else None

    @property
    def alarms(self) -> list[str]:
        """Lost workers and sub-processes on a stale configuration: the red banner's words."""
        farm = self.fresh
        if farm is None:
            return []
        found = []
        for worker in farm.get("workers", []):
            name = worker["name"]
            if worker["state"] == "lost":
                since = worker.get("last_heard") or "its start"
                found.append(f"worker {name} lost (not heard from since {since})")
            stale = [str(process.get("pid", "?")) for process in worker.get("processes", [])
                     if process.get("stale")]
            if stale:
                found.append(f"worker {name}: sub-process {', '.join(stale)} runs a stale "
                             "configuration")
        return found

    @property
    def message(self) -> str:
        """Why there is no status (MAUS-321, MAUS-322), the alarm (MAUS-323), or nothing."""
        if self.state == "none":
            return say("MAUS-322", reason=self.problem, directory=printable(self.directory))
        if self.state == "stale":
            farm = self.document
            return say("MAUS-321", since=_moment(farm), age=format_age(self.age),
                       seconds=f"{STALE_AFTER_SECONDS:g}")
        if self.alarms:
            return say("MAUS-323", alarms="; ".join(self.alarms))
        return ""


def _moment(farm: dict[str, Any]) -> str:
    return format_utc(farm["written_epoch"])


class FarmReader:
    """Consumes ``farm.json`` of one image directory; produces a :class:`FarmStatus` at each
    :meth:`read` (the file is parsed only when it changes; see documents.py)."""

    def __init__(self, directory: str | os.PathLike[str], limits: JsonLimits) -> None:
        self.document = WatchedDocument(directory, FARM_FILE, limits, check_farm)

    def read(self, *, now: float) -> FarmStatus:
        document, problem = self.document.read()
        return FarmStatus(str(self.document.directory), now, document, problem)


def sparkline_points(history: list[float], *, width: int = SPARK_WIDTH,
                     height: int = SPARK_HEIGHT) -> str:
    """An SVG polyline's ``points`` for a rate history, scaled from 0 to its maximum.

    >>> sparkline_points([0, 5, 10], width=10, height=10)
    '0,10 5,5 10,0'
    """
    if not history:
        return ""
    top = max(max(history), 1e-9)
    step = width / max(1, len(history) - 1)
    return " ".join(f"{index * step:g},{height - height * max(0.0, value) / top:.4g}"
                    for index, value in enumerate(history))


def _figure(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if digits else f"{value:g}" if isinstance(value, float) \
        else str(value)


def summary_line(status: FarmStatus) -> str:
    """The header's one line: workers, sub-processes, spills/s, queue depth; or no status."""
    farm = status.document
    if status.state == "none":
        return "Farm: no status from go.py"
    if status.state == "stale":
        return f"Farm: no status from go.py since {_moment(farm)}"
    run = farm.get("run", {})
    rate = f"{_figure(run.get('spills_per_second'), 1)} spills/s"
    if not farm["farm"]:
        return f"Farm: none, one process ({farm['dataflow']}) · {rate}"
    workers = farm.get("workers", [])
    lost = sum(worker["state"] == "lost" for worker in workers)
    processes = [process for worker in workers for process in worker.get("processes", [])]
    stale = sum(bool(process.get("stale")) for process in processes)
    return " · ".join([
        f"Farm: {len(workers)} worker{'s' * (len(workers) != 1)}"
        + (f" ({lost} lost)" if lost else ""),
        f"{len(processes)} sub-process{'es' * (len(processes) != 1)}"
        + (f" ({stale} stale)" if stale else ""),
        rate, f"queue {_figure(run.get('queue_depth'))}"])


def _worker_row(worker: dict[str, Any]) -> dict[str, Any]:
    processes = worker.get("processes", [])
    history = worker.get("rate_history", [])[-30:]
    return {
        "name": worker["name"], "host": worker.get("host") or "—", "state": worker["state"],
        "last_heard": worker.get("last_heard") or "—", "joined": worker.get("joined") or "—",
        "processes": str(len(processes)),
        "stale_processes": ", ".join(str(process.get("pid", "?")) for process in processes
                                     if process.get("stale")),
        "spills_done": _figure(worker.get("spills_done")),
        "spills_per_second": _figure(worker.get("spills_per_second"), 1),
        "failures": _figure(worker.get("failures")),
        "redeliveries": _figure(worker.get("redeliveries")),
        "sparkline": sparkline_points(history),
        "rate_history": ", ".join(_figure(value, 1) for value in history),
    }


def farm_view(status: FarmStatus) -> dict[str, Any]:
    """The farm as the header, ``/farm`` and ``/api/farm`` show it: state, banner text,
    summary line, and the tables' rows as display strings (the browser formats nothing).
    ``farm`` is the document as go.py wrote it (None when there is none usable); a stale
    one is kept, for the shifter to see what go.py last said, and labelled as such."""
    farm = status.document
    view: dict[str, Any] = {
        "state": status.state, "alarm": bool(status.alarms), "message": status.message,
        "summary": summary_line(status),
        "written": _moment(farm) if farm is not None else None,
        "age_seconds": round(status.age, 1) if status.age is not None else None,
        "age": format_age(status.age) if status.age is not None else None,
        "farm": farm, "run": [], "servers": [], "workers": [], "alarms": [], "go": [],
    }
    if farm is None:
        return view
    run = farm.get("run", {})
    view["run"] = [[label, _figure(run.get(key), 1 if key == "spills_per_second" else 0)]
                   for key, label in (("run_number", "run"), ("spills_read", "spills read"),
                                      ("spills_in_flight", "in flight"),
                                      ("spills_done", "done"), ("spills_failed", "failed"),
                                      ("spills_per_second", "spills/s"),
                                      ("queue_depth", "queue depth"))]
    view["run"].append(["queue", run.get("queue") or "—"])
    go = farm.get("go", {}) if isinstance(farm.get("go"), dict) else {}
    view["go"] = [[key, "—" if go[key] is None else str(go[key])]
                  for key in ("host", "pid", "version", "configuration_id") if key in go]
    view["go"].append(["dataflow", farm["dataflow"]])
    view["servers"] = [{"name": name, "up": server["up"],
                        "text": "up" if server["up"] else f"down since {server.get('since')}"}
                       for name, server in farm.get("servers", {}).items()]
    view["workers"] = [_worker_row(worker) for worker in farm.get("workers", [])]
    view["alarms"] = [f"{alarm.get('id') or ''} {alarm['text']}".strip()
                      for alarm in farm.get("alarms", [])]
    return view
