"""Benchmark of the histogram reducers' two parts: the fill part, the merge part, the drawing.

Run from the repository root: ``python bench/bench_reducers.py [--spills N] [--particles N]
[--refreshes N] [--image-type png]``. Each spill is simulated and reconstructed by the
default chain (not timed). For every reducer of the default configuration (and
ReducePyTOFTimeROOT when ROOT is installed):

* **fill part** (the spill side, on the workers): ``fill_partial`` of a fresh spill, as the
  worker's sub-process runs it right after the chain -- "fresh", which includes fetching the
  spill's hits from memory -- and of the same spill again, "warm", the Python work alone; with
  the size of the partial as the workers store it (orjson);
* **merge part** (go.py / merge-output): adding one spill's partial, decoded from its JSON, as
  the merge side does (``process`` of the stored envelope);
* **refresh**: on the merge path, the snapshot of the plots handed to the drawing process
  (``plots()`` and their UHI form); the summary numbers of every plot with their history
  (``plot_summary``, the time-of-flight peak fits included: issue 13); in the drawing process,
  drawing every plot (``render``); the quality checks of every plot on the merge side
  (``conf/quality_checks.toml``), with no reference run and with one (each plot its own
  reference, so that the χ² and Kolmogorov-Smirnov tests run too).

Targets (issue 5 and 11): the default set fills a 200-trigger spill in under 1 ms, adds it in
well under 0.5 ms (merge-output at >= 2,000 spills/s), and draws every plot in under 2 s;
all checks together cost at most 50 ms per refresh (issue 14).
"""
from __future__ import annotations

import argparse
import dataclasses
from itertools import chain
from operator import itemgetter
import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maus_online.configuration import default_configuration  # noqa: E402
from maus_online.maps import MODULES  # noqa: E402
from maus_online.modules import MapPyGroup  # noqa: E402
from maus_online.registry import build_default_registry  # noqa: E402
from maus_online.spill import skeleton  # noqa: E402
from maus_online.tuning import tune_garbage_collector  # noqa: E402
from maus_online import codec  # noqa: E402
from reducers.drawing import plot_json  # noqa: E402
from reducers.plotting import Reference  # noqa: E402
from reducers.summaries import SummaryHistory, plot_summary  # noqa: E402


def touch(spill: dict) -> int:
    """Read one field of every hit, digit, slab hit, space point and time of flight of the
    spill -- the objects the default reducers read -- in C loops (map, chain) and do nothing
    with it: about what fetching them from memory costs, which no fill can go below."""
    key, station = itemgetter("channel_key"), itemgetter("station")
    read = 0
    for triggers in spill["daq_data"].values():
        for board in ("V1290", "V1724"):
            read += len(list(map(key, chain.from_iterable(map(itemgetter(board), triggers)))))
    tof_events = list(map(itemgetter("tof_event"), spill["recon_events"]))
    for name in ("tof_digits", "tof_slab_hits", "tof_space_points"):
        by_station = map(dict.values, map(itemgetter(name), tof_events))
        read += len(list(map(station, chain.from_iterable(chain.from_iterable(by_station)))))
    return read + sum(map(len, map(itemgetter("time_of_flight"), tof_events)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=50, help="spills filled (default 50)")
    parser.add_argument("--particles", type=int, default=200,
                        help="particle triggers per spill (default 200)")
    parser.add_argument("--refreshes", type=int, default=3, help="refreshes timed (default 3)")
    parser.add_argument("--image-type", default="png", help="histogram_image_type (default png)")
    args = parser.parse_args(argv)
    tune_garbage_collector()  # as go.py and the workers run
    config = default_configuration({"particles_per_spill": args.particles,
                                    "refresh_rate": 10 ** 9, "histogram_drawing": "inline",
                                    "histogram_image_type": args.image_type})
    registry = build_default_registry()
    names = [name for name in config["reducers"] if registry.get(name).splits()]
    if importlib.util.find_spec("ROOT") is not None:
        names.append("ReducePyTOFTimeROOT")
    fillers = {name: registry.create(name, "reduce") for name in names}
    mergers = {name: registry.create(name, "reduce") for name in names}
    for name in names:
        fillers[name].birth_fill(config)
        mergers[name].birth(config)
        mergers[name].process(skeleton(1, 0, "start_of_run"))
    maps = MapPyGroup(*(cls() for cls in MODULES))
    maps.birth(config)
    maps.process(skeleton(1, 0))  # warm-up: first-call costs are not what we measure

    fill_fresh = dict.fromkeys(names, 0.0)
    fill_warm = dict.fromkeys(names, 0.0)
    add = dict.fromkeys(names, 0.0)
    size = dict.fromkeys(names, 0)
    errors = 0
    for n in range(1, args.spills + 1):
        spill = maps.process(skeleton(1, n))
        stored = {}
        for name, filler in fillers.items():
            t0 = time.perf_counter()
            filler.fill_partial(spill)
            t1 = time.perf_counter()
            stored[name] = filler.fill_partial(spill)
            fill_fresh[name] += t1 - t0
            fill_warm[name] += time.perf_counter() - t1
        body = codec.dumps({**skeleton(1, n), "partials": stored})
        for name in names:
            size[name] += len(codec.dumps(stored[name]))
        for name, merger in mergers.items():
            t0 = time.perf_counter()
            merger.process(codec.loads(body))  # decoded once per reducer: an upper bound
            add[name] += time.perf_counter() - t0
        errors += sum(len(v) for v in spill.get("errors", {}).values())

    # The floor: as many fresh spills again, only read.
    floor_s = 0.0
    for n in range(1, args.spills + 1):
        spill = maps.process(skeleton(1, n))
        t0 = time.perf_counter()
        objects = touch(spill)
        floor_s += time.perf_counter() - t0
    maps.death()

    snapshot = dict.fromkeys(names, 0.0)
    summaries = dict.fromkeys(names, 0.0)
    history = SummaryHistory()
    for merger in mergers.values():  # warm-up: scipy's import is paid once per process
        [plot_summary(plot) for plot in merger.plots()]
        merger._qualities([dataclasses.replace(plot, reference=Reference(1, plot.histograms))
                           for plot in merger.plots()])
    render = dict.fromkeys(names, 0.0)
    images = dict.fromkeys(names, 0)
    checks = dict.fromkeys(names, 0.0)
    checks_ref = dict.fromkeys(names, 0.0)
    for refresh in range(args.refreshes):
        for name, merger in mergers.items():
            t0 = time.perf_counter()
            plots = merger.plots()
            requests = [plot_json(plot) for plot in plots]
            t1 = time.perf_counter()
            for plot in plots:
                history.add(plot.tag, refresh, "now", plot_summary(plot))
            t2 = time.perf_counter()
            merger._qualities(plots)
            t3 = time.perf_counter()
            merger._qualities([dataclasses.replace(plot, reference=Reference(1, plot.histograms))
                               for plot in plots])
            t4 = time.perf_counter()
            checks[name] += t3 - t2
            checks_ref[name] += t4 - t3
            for plot in plots:
                merger.render(plot, "Run 1, 50 spills")
            snapshot[name] += t1 - t0
            summaries[name] += t2 - t1
            render[name] += time.perf_counter() - t4
            images[name] += len(requests)

    n, refreshes = args.spills, args.refreshes
    default = [name for name in names if name in config["reducers"]]
    print(f"bench_reducers: {n} spills x {args.particles} particles, {refreshes} refreshes as "
          f"{args.image_type}, Python {sys.version.split()[0]}, one core")
    print(f"{'reducer':<32} {'fill fresh':>11} {'fill warm':>10} {'partial':>8} {'add':>9} "
          f"{'images':>7} {'snapshot':>9} {'summary':>9} {'draw':>8}")
    print(f"{'':<32} {'ms/spill':>11} {'ms/spill':>10} {'kB':>8} {'ms/spill':>9} "
          f"{'':>7} {'ms/refr.':>9} {'ms/refr.':>9} {'s/refr.':>8}")

    def line(label: str, group: list[str]) -> str:
        count = sum(images[g] for g in group) // refreshes
        return (f"{label:<32} {1e3 * sum(fill_fresh[g] for g in group) / n:8.3f} ms "
                f"{1e3 * sum(fill_warm[g] for g in group) / n:7.3f} ms "
                f"{sum(size[g] for g in group) / n / 1e3:8.1f} "
                f"{1e3 * sum(add[g] for g in group) / n:6.3f} ms {count:7d} "
                f"{1e3 * sum(snapshot[g] for g in group) / refreshes:6.1f} ms "
                f"{1e3 * sum(summaries[g] for g in group) / refreshes:6.2f} ms "
                f"{sum(render[g] for g in group) / refreshes:6.2f} s")

    for name in names:
        print(line(name, [name]))
    print(line(f"default set ({len(default)} reducers)", default))
    print(f"floor: reading one field of each of the {objects} objects the default set reads, "
          f"in C loops, from a fresh spill: {1e3 * floor_s / n:.3f} ms/spill")
    fresh = sum(fill_fresh[g] for g in default) / n
    added = sum(add[g] for g in default) / n
    drawn = sum(render[g] for g in default) / refreshes
    print(f"targets: fill < 1 ms/spill -> fresh {'met' if fresh < 1e-3 else 'MISSED'} "
          f"({1e3 * fresh:.2f} ms); add < 0.5 ms/spill -> "
          f"{'met' if added < 0.5e-3 else 'MISSED'} ({1e3 * added:.3f} ms); draw < 2 s/refresh "
          f"-> {'met' if drawn < 2 else 'MISSED'} ({drawn:.2f} s)")
    checked = sum(checks[g] for g in default) / refreshes
    checked_ref = sum(checks_ref[g] for g in default) / refreshes
    print(f"quality checks of the {sum(images[g] for g in default) // refreshes} default plots "
          f"(conf/quality_checks.toml), merge side, per refresh: {1e3 * checked:.1f} ms without "
          f"a reference run, {1e3 * checked_ref:.1f} ms with one; target <= 50 ms -> "
          f"{'met' if max(checked, checked_ref) <= 0.05 else 'MISSED'}")
    print(f"errors recorded in spills: {errors}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
