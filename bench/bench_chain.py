"""Benchmark of the default TOF chain: all seven maps in one MapPyGroup, one core.

Run from the repository root: ``python bench/bench_chain.py [--spills N] [--particles N]``.
Feeds physics spill skeletons through the chain, then reports the total rate, the time per
map per spill (a second, instrumented pass over the same spills) and the orjson size and
encoding time of the output spills. Nothing is kept between spills, as in a real worker.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from maus_online.maps import MODULES
from maus_online.modules import MapPyGroup, apply_map
from maus_online.configuration import default_configuration
from maus_online.spill import skeleton


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spills", type=int, default=200, help="spills to process (default 200)")
    parser.add_argument("--particles", type=int, default=200, help="particles per spill (default 200)")
    parser.add_argument("--gc-threshold", type=int, default=0,
                        help="set the garbage collector's generation-0 threshold (default: leave "
                             "the interpreter's 700); for measuring what GC tuning would buy")
    args = parser.parse_args(argv)
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
    config = default_configuration({"particles_per_spill": args.particles})
    group = MapPyGroup(*(cls() for cls in MODULES))
    group.birth(config)
    group.process(skeleton(1, 0))  # warm-up: first-call costs are not what we measure

    # Pass 1: the chain as a dataflow runs it, plus orjson encoding of each output spill.
    # Freeing a spill's ~60,000 objects is timed on its own: it is the caller's cost, not a map's.
    chain_s = encode_s = free_s = 0.0
    sizes, errors = [], 0
    for n in range(1, args.spills + 1):
        t0 = time.perf_counter()
        spill = group.process(skeleton(1, n))
        t1 = time.perf_counter()
        body = orjson.dumps(spill)
        t2 = time.perf_counter()
        sizes.append(len(body))
        errors += sum(len(v) for v in spill.get("errors", {}).values())
        t3 = time.perf_counter()
        del spill, body
        t4 = time.perf_counter()
        chain_s += t1 - t0
        encode_s += t2 - t1
        free_s += t4 - t3

    # Pass 2: the same spills, each member timed on its own.
    per_map = {m.module_name(): 0.0 for m in group.maps}
    for n in range(1, args.spills + 1):
        spill = skeleton(1, n)
        for member in group.maps:
            t0 = time.perf_counter()
            spill = apply_map(member, spill)
            per_map[member.module_name()] += time.perf_counter() - t0
    group.death()

    n = args.spills
    print(f"bench_chain: {n} spills x {args.particles} particles, default chain of {len(MODULES)} maps "
          f"in one MapPyGroup, Python {sys.version.split()[0]}, one core, "
          f"gc thresholds {gc.get_threshold()}")
    print("per-map time (ms/spill, instrumented pass):")
    for name, seconds in per_map.items():
        print(f"  {name:<24} {1e3 * seconds / n:7.2f}")
    print(f"  {'sum':<24} {1e3 * sum(per_map.values()) / n:7.2f}")
    print(f"chain total: {1e3 * chain_s / n:.2f} ms/spill = {n / chain_s:.1f} spills/s "
          f"(target >= 50 spills/s)")
    print(f"freeing the spill: {1e3 * free_s / n:.2f} ms/spill; chain + free = "
          f"{n / (chain_s + free_s):.1f} spills/s")
    print(f"orjson encode: {1e3 * encode_s / n:.2f} ms/spill; JSON size mean "
          f"{statistics.mean(sizes) / 1e6:.3f} MB (min {min(sizes) / 1e6:.3f}, max {max(sizes) / 1e6:.3f})")
    print(f"errors recorded in spills: {errors}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
