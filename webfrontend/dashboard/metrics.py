"""``/metrics``: the farm, the plots and their quality in the Prometheus text format.

Every number comes from a file at scrape time -- ``farm.json`` (farm.py), the image directory
(the newest plot) and ``quality.json`` -- through :class:`MausCollector`, a custom collector of
``prometheus_client`` registered in a registry made for the scrape. No metric object lives
between requests: the front-end may run in several processes (mod_wsgi), and a global counter
in each would count only that process's requests, whereas the files say the same to all.

Counters (``_total``) are farm.json's cumulative figures for the run: they start again at 0
with each run, which Prometheus' ``rate()`` and ``increase()`` treat as a counter reset. The
farm's figures are exported only while farm.json is fresh (farm.py): a stale status is no
measurement of the farm now, and an absent series is what Prometheus alerts can test
(``absent(maus_online_workers)``); ``maus_online_farm_status_fresh`` says which.

Access: only the addresses of MAUS_WEB_METRICS_ALLOWED (addresses.py); others get 403 and one
log line per address (MAUS-324).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .addresses import is_allowed, parse_networks
from .conf import dashboard_settings, farm_reader_for, setting, store_for
from .farm import WORKER_STATES, FarmStatus
from .image_store import latest
from .json_files import printable
from .messages import say
from .payloads import now
from .quality import quality_file_for

try:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
    MISSING = ""
except ImportError as exc:  # the pages work without it; /metrics says what to install
    MISSING = str(exc)

log = logging.getLogger(__name__)

PREFIX = "maus_online_"
#: Refused addresses already logged, so a scanner costs one line per address, not per request.
_REFUSED: set[str] = set()
_REFUSED_LIMIT = 1000


# eq=False: the registry keys collectors by identity (a dict field is not hashable).
@dataclass(frozen=True, eq=False)
class MausCollector:
    """Consumes what was read for one scrape -- the farm's status, the newest plot's age (None:
    no plot), quality.json's counts (None: none) -- and produces the metric families."""

    farm: FarmStatus
    newest_plot_age: float | None
    quality: dict[str, Any] | None

    def collect(self) -> Iterator[Metric]:
        yield self._gauge("farm_status_fresh", "1 while farm.json is younger than 30 s, else 0",
                          1 if self.farm.state == "ok" else 0)
        if self.farm.age is not None:
            yield self._gauge("farm_status_age_seconds", "age of go.py's farm.json",
                              self.farm.age)
        if self.newest_plot_age is not None:
            yield self._gauge("newest_plot_age_seconds",
                              "age of the newest plot in the image directory",
                              self.newest_plot_age)
        if self.farm.fresh is not None:
            yield from self._farm(self.farm.fresh)
        if self.quality is not None:
            yield from self._quality(self.quality)

    @staticmethod
    def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(PREFIX + name, documentation, value=value)

    def _farm(self, farm: dict[str, Any]) -> Iterator[Metric]:
        run = farm.get("run", {})
        for key, text in (("spills_read", "spills go.py has read in this run"),
                          ("spills_done", "spills reconstructed in this run"),
                          ("spills_failed", "spills that failed in this run")):
            if run.get(key) is not None:
                yield CounterMetricFamily(PREFIX + key, text, value=run[key])
        for key, text in (("run_number", "the run go.py is reading"),
                          ("spills_in_flight", "spills sent to the farm and not yet back"),
                          ("spills_per_second", "spills reconstructed per second, now")):
            if run.get(key) is not None:
                yield self._gauge(key, text, run[key])
        if run.get("queue_depth") is not None:
            queue = GaugeMetricFamily(PREFIX + "queue_depth", "spills waiting in the queue",
                                      labels=["queue"])
            queue.add_metric([run.get("queue") or ""], run["queue_depth"])
            yield queue
        workers = farm.get("workers", [])
        states = GaugeMetricFamily(PREFIX + "workers", "workers by state", labels=["state"])
        for state in WORKER_STATES:
            states.add_metric([state], sum(worker["state"] == state for worker in workers))
        yield states
        processes = [process for worker in workers for process in worker.get("processes", [])]
        stale = sum(bool(process.get("stale")) for process in processes)
        sub = GaugeMetricFamily(PREFIX + "sub_processes",
                                "workers' sub-processes, by whether their configuration is "
                                "go.py's current one", labels=["configuration"])
        sub.add_metric(["current"], len(processes) - stale)
        sub.add_metric(["stale"], stale)
        yield sub
        done = CounterMetricFamily(PREFIX + "worker_spills_done",
                                   "spills each worker reconstructed in this run",
                                   labels=["worker"])
        rate = GaugeMetricFamily(PREFIX + "worker_spills_per_second",
                                 "spills per second of each worker", labels=["worker"])
        for worker in workers:
            if worker.get("spills_done") is not None:
                done.add_metric([worker["name"]], worker["spills_done"])
            if worker.get("spills_per_second") is not None:
                rate.add_metric([worker["name"]], worker["spills_per_second"])
        yield done
        yield rate
        servers = GaugeMetricFamily(PREFIX + "server_up", "1 while go.py reaches the server",
                                    labels=["server"])
        for name, server in farm.get("servers", {}).items():
            servers.add_metric([name], 1 if server["up"] else 0)
        yield servers

    def _quality(self, quality: dict[str, Any]) -> Iterator[Metric]:
        plots = GaugeMetricFamily(PREFIX + "quality_plots", "plots by quality level",
                                  labels=["level"])
        for level, count in quality["counts"].items():
            plots.add_metric([level], count)
        yield plots
        groups = GaugeMetricFamily(PREFIX + "quality_group_plots",
                                   "plots by detector group and quality level",
                                   labels=["group", "level"])
        for group in quality["groups"]:
            for level, count in group["counts"].items():
                groups.add_metric([group["name"], level], count)
        yield groups


def _refused(address: str, allowed: str) -> HttpResponse:
    text = say("MAUS-324", address=printable(address[:60]) or "(no address)", allowed=allowed)
    if address not in _REFUSED:
        if len(_REFUSED) >= _REFUSED_LIMIT:
            _REFUSED.clear()
        _REFUSED.add(address)
        log.warning("%s", text)
    return HttpResponse(text + "\n", status=403, content_type="text/plain; charset=utf-8")


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    entries = setting("MAUS_WEB_METRICS_ALLOWED")
    # REMOTE_ADDR is the connection's own address (Apache's mod_wsgi and runserver set it);
    # X-Forwarded-For is written by the client and never consulted.
    address = str(request.META.get("REMOTE_ADDR") or "")
    if not is_allowed(address, parse_networks(entries)):
        return _refused(address, ",".join(entries) if not isinstance(entries, str) else entries)
    if MISSING:
        return HttpResponse(say("MAUS-325", error=MISSING) + "\n", status=503,
                            content_type="text/plain; charset=utf-8")
    config = dashboard_settings()
    moment = now()
    newest = latest(store_for(config.image_directory, config.limits).records())
    quality, _ = quality_file_for(config.image_directory, config.limits).read()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MausCollector(
        farm=farm_reader_for(config.image_directory, config.limits).read(now=moment),
        newest_plot_age=max(0.0, moment - newest.modified) if newest is not None else None,
        quality=quality))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
