"""Load benchmark of the web front-end: a control room's shifters' browsers against Django's
own server and against Apache with mod_wsgi (issue 6, item 10).

Run from the repository root: ``python bench/bench_web.py [--duration 20] [--browsers 20]``.
It needs the served environment that .ci/install-test-deps builds (Apache, mod_wsgi-express);
every server binds 127.0.0.1, every request goes to loopback, and the run is bounded in time.

What a browser does, as dashboard.js does it: load the page (HTML, CSS, script, icon) and the
images on it; then poll ``/api/dashboard`` every refresh period (5 s, counted from the last
answer) and fetch each image whose version changed -- with its ``?v=`` URL, which a real
browser then caches for good, so an image is fetched once per version. Meanwhile the 20 real
plots of a go.py run are rewritten every 10 s, as go.py redraws them on a live beam
(``refresh_rate`` 10 at a spill a second). Each browser keeps one HTTP/1.1 connection open.

Two phases per server: the realistic load above for ``--duration`` seconds, then saturation
for ``--saturate`` seconds (the same browsers polling the API and one image each, back to back,
no pause: the server's capacity; client and server share the machine's cores, so this
understates what a server alone could do).

``--archive 1000`` measures instead the list of past runs (issue 13, item 2) on an archive of
that many runs, in this process, without servers: the first listing (every ``run.json`` parsed),
the cached listing (a ``stat`` per run), and the ``/runs`` page and ``/api/runs`` through Django's
request handler; and the trends (issue 13, item 5), ``/trends`` and ``/api/trends`` for the
default 50 runs, for every run, and for another plot, which read each ``run.json``'s plot
summaries from the same cache. The target: under 200 ms for 1,000 runs.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "webfrontend"))

import servers  # noqa: E402  (webfrontend/servers.py)

PAGE_ASSETS = ["/static/dashboard/dashboard.css", "/static/dashboard/dashboard.js",
               "/static/dashboard/favicon.svg"]


@dataclass
class Tally:
    """Latencies (seconds) and failures of one phase against one server, from all browsers."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float | None) -> None:
        with self.lock:
            if seconds is None:
                self.errors += 1
            else:
                self.latencies.append(seconds)


class Browser:
    """One shifter's browser: one keep-alive connection, the image versions it has seen."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port, self.tally = port, tally
        self.connection: http.client.HTTPConnection | None = None
        self.versions: dict[str, str] = {}

    def get(self, path: str) -> bytes | None:
        """GET path, timed from sending to the last byte; None (counted) on failure."""
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            if self.connection is None:
                self.connection = http.client.HTTPConnection(servers.HOST, self.port, timeout=30)
            started = time.perf_counter()
            try:
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    self.tally.add(None)
                continue
            self.tally.add(time.perf_counter() - started if response.status == 200 else None)
            if response.will_close:
                self.connection.close()
                self.connection = None
            return body if response.status == 200 else None
        return None

    def poll(self) -> list[str]:
        """One poll of the dashboard's API, then the images that changed since the last."""
        body = self.get("/api/dashboard")
        if body is None:
            return []
        images = [image for group in json.loads(body)["groups"] for image in group["images"]]
        for image in images:
            if self.versions.get(image["tag"]) != image["version"]:
                if self.get(image["image_url"]) is not None:
                    self.versions[image["tag"]] = image["version"]
        return [image["image_url"] for image in images]

    def realistic(self, until: float, period: float) -> None:
        time.sleep(random.uniform(0, period))  # shifters open their pages at different times
        for path in ["/", *PAGE_ASSETS]:
            self.get(path)
        while time.monotonic() < until:
            self.poll()
            time.sleep(period)  # dashboard.js: the next poll a period after the answer
        self.close()

    def saturate(self, until: float) -> None:
        urls = self.poll() or ["/api/dashboard"]
        index = 0
        while time.monotonic() < until:
            self.get("/api/dashboard")
            self.get(urls[index % len(urls)])
            index += 1
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def rewrite_plots(directory: Path, every: float, stop: threading.Event) -> None:
    """Rewrite every plot and sidecar every ``every`` seconds, atomically, as OutputPyImage
    does: a new modification time is a new image version for the front-end."""
    files = sorted(directory.glob("*.png")) + sorted(directory.glob("*.json"))
    contents = {path: path.read_bytes() for path in files}
    while not stop.wait(every):
        for path, data in contents.items():
            temporary = path.with_name(f".{path.name}.tmp")
            temporary.write_bytes(data)
            temporary.chmod(0o644)
            os.replace(temporary, path)


def run_phase(port: int, browsers: int, seconds: float, *, period: float | None = None,
              images: Path | None = None, plot_refresh: float = 10.0) -> Tally:
    """``browsers`` browsers against the server on ``port`` for ``seconds``: realistic ones
    polling every ``period`` while the plots in ``images`` are rewritten every
    ``plot_refresh`` seconds (from the phase's start, so that every server sees the same
    load), or, without a period, saturating ones."""
    tally = Tally()
    until = time.monotonic() + seconds
    clients = [Browser(port, tally) for _ in range(browsers)]
    threads = [threading.Thread(target=client.saturate, args=(until,)) if period is None else
               threading.Thread(target=client.realistic, args=(until, period))
               for client in clients]
    stop = threading.Event()
    if images is not None:
        threads.append(threading.Thread(target=rewrite_plots, args=(images, plot_refresh, stop)))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads[:browsers]:
        thread.join()
    stop.set()
    for thread in threads[browsers:]:
        thread.join()
    tally.elapsed = time.monotonic() - started
    return tally


def summary(tally: Tally) -> dict[str, float]:
    latencies = sorted(tally.latencies)
    count = len(latencies)
    return {"requests": count, "rate": count / tally.elapsed, "errors": tally.errors,
            "p50": 1000 * statistics.median(latencies) if count else float("nan"),
            "p95": 1000 * latencies[int(0.95 * (count - 1))] if count else float("nan")}


def write_archive(directory: Path, runs: int) -> None:
    """An archive of ``runs`` runs in go.py's layout: run_NNNNNN/run.json naming the 20 plots
    of a go.py run (the listing reads run.json only, so the plots themselves are left out)."""
    tags = ["tof_time_01", "tof_time_12", "tof_time_02", "tof_xy_0", "tof_xy_1", "tof_xy_2",
            "tof_nsp", "tof_sp_x", "tof_sp_y", "tof_hit_x", "tof_hit_y", "tof_pmt00",
            "tof_pmt01", "tof_pmt10", "tof_pmt11", "tdcadc_adc", "tdcadc_tdc",
            "tdcadc_occupancy_tof0", "tdcadc_occupancy_tof1", "tdcadc_occupancy_tof2"]
    for number in range(1, runs + 1):
        run = directory / f"run_{number:06d}"
        run.mkdir(parents=True)
        (run / "run.json").write_text(json.dumps({
            "format": 1, "run_number": number, "complete": number % 10 != 0,
            "archived_at": "2026-12-01T10:00:00+00:00",
            "first_spill_time": "2026-12-01T09:00:00+00:00",
            "last_spill_time": "2026-12-01T09:59:00+00:00",
            "spills": {"physics": 3600, "run_markers": 2, "with_errors": 3, "input_errors": 0},
            "transform": "MapPyGroup(MapPyBeamMaker, MapPySimulation, MapPyTOFDigitization)",
            "configuration_id": f"{number:032x}", "version": "1.0.0",
            "plots": {tag: {"image_file": f"{tag}.png", "sidecar": f"{tag}.json",
                            "entries": 1000 * number, "summary": plot_summary(tag, number)}
                      for tag in tags}}))


def plot_summary(tag: str, number: int) -> dict:
    """A plot's summary as go.py writes it in run.json (the trends read it); the
    time-of-flight plots carry their peaks, the muon peak drifting slowly."""
    summary = {"entries": 1000 * number,
               "histograms": {"Triggers": {"entries": 1000 * number, "mean": 28.0 + number / 1e4,
                                           "std": 1.9}}}
    if tag.startswith("tof_time"):
        summary["peaks"] = {"e+": 25.5, "mu+": 28.3 + number / 1e4, "pi+": 30.1}
    return summary


def timed(function, repeats: int) -> list[float]:
    """Milliseconds of each of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - started))
    return times


def bench_archive(runs: int, repeats: int) -> int:
    """The list of past runs on an archive of ``runs`` runs; 1 when a listing fails."""
    root = Path(tempfile.mkdtemp(prefix="maus-bench-archive-"))
    try:
        write_archive(root / "archive", runs)
        os.environ.update({"DJANGO_SETTINGS_MODULE": "maus_web.settings",
                           "MAUS_WEB_SECRET_KEY": secrets.token_urlsafe(50),
                           "MAUS_WEB_ALLOWED_HOSTS": "testserver",
                           "MAUS_IMAGE_DIRECTORY": str(root / "images"),
                           "MAUS_ARCHIVE_DIRECTORY": str(root / "archive")})
        import django
        from dashboard.archive import RunArchive
        from django.test import Client

        django.setup()
        client = Client()
        size = (root / "archive" / "run_000001" / "run.json").stat().st_size
        print(f"bench_web --archive: {runs} runs (run.json of {size} bytes each, 20 plots "
              f"named), {repeats} repeats, on {platform.platform()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}; the disk cache warm (files just written)")
        cold = RunArchive(root / "archive")
        results = {
            "first listing, every run.json parsed (RunArchive.runs)":
                timed(lambda: RunArchive(root / "archive").runs(), repeats),
            "cached listing, a stat per run (RunArchive.runs)": timed(cold.runs, repeats),
        }
        failed = 0
        for url in ("/runs", "/api/runs", "/trends", "/api/trends",
                    f"/api/trends?runs={runs}", "/api/trends?tag=tof_xy_0&quantity=entries"):
            client.get(url)  # the process's archive reader fills its cache

            def get(url=url):
                nonlocal failed
                response = client.get(url)
                failed += response.status_code != 200
            results[f"GET {url} through Django, cached"] = timed(get, repeats)
        assert len(cold.runs()) == runs
        print(f"\n{'measured':72} {'median ms':>9} {'max ms':>8}")
        for name, times in results.items():
            print(f"{name:72} {statistics.median(times):9.1f} {max(times):8.1f}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    """Run the benchmark; the exit status is 1 when a request failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of realistic load per server (default 20)")
    parser.add_argument("--saturate", type=float, default=10.0,
                        help="seconds of saturation per server, 0 to skip (default 10)")
    parser.add_argument("--browsers", type=int, default=20, help="shifters' browsers (20)")
    parser.add_argument("--refresh", type=float, default=5.0,
                        help="the dashboards' refresh period, seconds (default 5)")
    parser.add_argument("--plot-refresh", type=float, default=10.0,
                        help="seconds between two rewrites of the plots (default 10)")
    parser.add_argument("--archive", type=int, metavar="RUNS",
                        help="measure the list of past runs on an archive of RUNS runs instead")
    parser.add_argument("--repeats", type=int, default=20,
                        help="with --archive: calls measured per step (default 20)")
    options = parser.parse_args()
    if options.archive:
        return bench_archive(options.archive, options.repeats)
    if not (servers.WSGI_VENV / "bin" / "mod_wsgi-express").exists():
        print(f"bench_web: {servers.WSGI_VENV} has no mod_wsgi-express: run "
              f".ci/install-test-deps first", file=sys.stderr)
        return 1

    # www-data (Apache's user) must read the tree: /var/tmp, not a private temporary directory.
    root = Path(tempfile.mkdtemp(prefix="maus-bench-web-", dir="/var/tmp"))
    try:
        images = root / "images"
        subprocess.run([sys.executable, str(REPO_ROOT / "go.py"), "--spill_count", "10",
                        "--progress", "false", "--image_directory", str(images)],
                       check=True, capture_output=True)
        settings = {"MAUS_WEB_SECRET_KEY": secrets.token_urlsafe(50),
                    "MAUS_IMAGE_DIRECTORY": str(images), "MAUS_WEB_DEBUG": "0",
                    "MAUS_WEB_ALLOWED_HOSTS": "127.0.0.1"}
        tree = servers.prepare_served_tree(root, settings)
        pngs = list(images.glob("*.png"))

        runserver_port, express_port = servers.free_port(), servers.free_port()
        candidates = {
            "Django runserver (1 process, a thread per connection)": (
                servers.runserver_command(runserver_port),
                {**os.environ, **settings}, runserver_port),
            "mod_wsgi-express (Apache event MPM, 2 processes x 15 threads)": (
                servers.mod_wsgi_express_command(tree, express_port, root / "express"),
                {"PATH": os.environ["PATH"], "MAUS_WEB_ENV_FILE": str(tree.env_file)},
                express_port),
        }
        print(f"bench_web: {options.browsers} browsers, each polling /api/dashboard every "
              f"{options.refresh:g} s and fetching the images that changed; {len(pngs)} plots of "
              f"a go.py run (PNG, {sum(p.stat().st_size for p in pngs) // len(pngs) // 1024} KB "
              f"average) rewritten every {options.plot_refresh:g} s; {options.duration:g} s per "
              f"server, then {options.saturate:g} s of saturation (no pause)")
        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, client and servers on "
              f"127.0.0.1; Python {platform.python_version()}")
        results = {}
        for name, (command, env, port) in candidates.items():
            with open(root / f"server-{port}.log", "wb") as log:
                process = servers.start(command, env=env, output=log)
                try:
                    servers.wait_for_url(f"http://{servers.HOST}:{port}/api/dashboard",
                                         timeout=90, process=process)
                    phases = {"realistic": run_phase(
                        port, options.browsers, options.duration, period=options.refresh,
                        images=images, plot_refresh=options.plot_refresh)}
                    if options.saturate > 0:
                        phases["saturation"] = run_phase(port, options.browsers,
                                                         options.saturate)
                    results[name] = {phase: summary(t) for phase, t in phases.items()}
                finally:
                    servers.stop(process)

        print(f"\n{'server':64} {'phase':10} {'requests':>8} {'req/s':>7} {'p50 ms':>7} "
              f"{'p95 ms':>7} {'errors':>6}")
        for name, phases in results.items():
            for phase, s in phases.items():
                print(f"{name:64} {phase:10} {s['requests']:8d} {s['rate']:7.1f} "
                      f"{s['p50']:7.1f} {s['p95']:7.1f} {s['errors']:6d}")
        django, apache = results.values()
        # Under the realistic load both serve what the browsers ask (the rate is the offered
        # load); the latency tells them apart. Saturated, the rate is the capacity.
        print("\nratio mod_wsgi-express / runserver:")
        for phase in django:
            print(f"  {phase:10}  req/s x{apache[phase]['rate'] / django[phase]['rate']:.2f}, "
                  f"p50 latency x{apache[phase]['p50'] / django[phase]['p50']:.2f}, "
                  f"p95 latency x{apache[phase]['p95'] / django[phase]['p95']:.2f}")
        failed = sum(s["errors"] for phases in results.values() for s in phases.values())
        return 1 if failed else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
