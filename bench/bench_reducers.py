"""Benchmark of the histogram reducers: fill cost per spill, render cost per refresh.

Run from the repository root: ``python bench/bench_reducers.py [--spills N] [--particles N]
[--refreshes N] [--image-type png]``. Each spill is simulated and reconstructed by the
default chain (not timed) and handed straight to every reducer, in the order of the default
configuration, as go.py's merge side does: that is the "fresh" fill cost, which includes
fetching the spill's hits from memory. A second instance of each reducer then fills the same
spill again: the "warm" cost, the Python work alone. Then every reducer refreshes
``--refreshes`` times (drawing every plot and building the image documents), each refresh
after one more spill so that nothing is reused. ReducePyTOFTimeROOT is measured too when
ROOT is installed. Targets (issue 5): the default set fills a 200-trigger spill in under
1 ms and draws every plot in under 2 s per refresh, as PNG.
"""
from __future__ import annotations

import argparse
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
from maus_online.tuning import tune_garbage_collector  # noqa: E402


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


def skeleton(n: int, kind: str = "physics_event") -> dict:
    return {"maus_event_type": "Spill", "daq_event_type": kind, "run_number": 1,
            "spill_number": n, "errors": {}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=50, help="spills filled (default 50)")
    parser.add_argument("--particles", type=int, default=200,
                        help="particle triggers per spill (default 200)")
    parser.add_argument("--refreshes", type=int, default=3, help="refreshes timed (default 3)")
    parser.add_argument("--image-type", default="png", help="histogram_image_type (default png)")
    args = parser.parse_args(argv)
    tune_garbage_collector()  # as go.py runs
    config = default_configuration({"particles_per_spill": args.particles,
                                    "refresh_rate": 10 ** 9,
                                    "histogram_image_type": args.image_type})
    registry = build_default_registry()
    names = list(config["reducers"])
    if importlib.util.find_spec("ROOT") is not None:
        names.append("ReducePyTOFTimeROOT")
    fresh = {name: registry.create(name, "reduce") for name in names}
    warm = {name: registry.create(name, "reduce") for name in names}
    for reducer in (*fresh.values(), *warm.values()):
        reducer.birth(config)
        reducer.process(skeleton(0, "start_of_run"))
    maps = MapPyGroup(*(cls() for cls in MODULES))
    maps.birth(config)
    maps.process(skeleton(0))  # warm-up: first-call costs are not what we measure

    fill_fresh = dict.fromkeys(names, 0.0)
    fill_warm = dict.fromkeys(names, 0.0)
    errors = 0
    for n in range(1, args.spills + 1):
        spill = maps.process(skeleton(n))
        for name, reducer in fresh.items():
            t0 = time.perf_counter()
            reducer.process(spill)
            fill_fresh[name] += time.perf_counter() - t0
        for name, reducer in warm.items():
            t0 = time.perf_counter()
            reducer.process(spill)
            fill_warm[name] += time.perf_counter() - t0
        errors += sum(len(v) for v in spill.get("errors", {}).values())

    # The floor: as many fresh spills again, only read.
    floor_s = 0.0
    for n in range(1, args.spills + 1):
        spill = maps.process(skeleton(n))
        t0 = time.perf_counter()
        objects = touch(spill)
        floor_s += time.perf_counter() - t0

    render = dict.fromkeys(names, 0.0)
    images = dict.fromkeys(names, 0)
    for r in range(args.refreshes):
        spill = maps.process(skeleton(args.spills + 1 + r))
        for name, reducer in fresh.items():
            reducer.process(spill)
            if not hasattr(reducer, "emit"):  # not a histogram reducer: nothing to draw
                continue
            t0 = time.perf_counter()
            documents = reducer.emit(spill)
            render[name] += time.perf_counter() - t0
            images[name] += len(documents)
    maps.death()

    n, refreshes = args.spills, args.refreshes
    default = config["reducers"]
    print(f"bench_reducers: {n} spills x {args.particles} particles, {refreshes} refreshes as "
          f"{args.image_type}, Python {sys.version.split()[0]}, one core")
    print(f"{'reducer':<32} {'fill fresh':>11} {'fill warm':>10} {'images':>7} "
          f"{'render/refresh':>15} {'per image':>10}")
    for name in names:
        per_refresh = render[name] / refreshes
        count = images[name] // refreshes
        per_image = f"{1e3 * per_refresh / count:7.1f} ms" if count else f"{'-':>10}"
        print(f"{name:<32} {1e3 * fill_fresh[name] / n:8.3f} ms "
              f"{1e3 * fill_warm[name] / n:7.3f} ms "
              f"{count:7d} {per_refresh:13.2f} s {per_image}")
    total_fresh = sum(fill_fresh[name] for name in default) / n
    total_warm = sum(fill_warm[name] for name in default) / n
    total_render = sum(render[name] for name in default) / refreshes
    total_images = sum(images[name] for name in default) // refreshes
    print(f"{'default set (' + str(len(default)) + ' reducers)':<32} {1e3 * total_fresh:8.3f} ms "
          f"{1e3 * total_warm:7.3f} ms {total_images:7d} {total_render:13.2f} s "
          f"{1e3 * total_render / max(total_images, 1):7.1f} ms")
    print(f"floor: reading one field of each of the {objects} objects the default set reads, "
          f"in C loops, from a fresh spill: {1e3 * floor_s / n:.3f} ms/spill")
    print(f"targets: fill < 1 ms/spill -> fresh {'met' if total_fresh < 1e-3 else 'MISSED'}, "
          f"warm {'met' if total_warm < 1e-3 else 'MISSED'}; render < 2 s/refresh -> "
          f"{'met' if total_render < 2 else 'MISSED'}")
    print(f"errors recorded in spills: {errors}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
