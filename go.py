#!/usr/bin/env python3
"""go.py: the control-room driver of MAUS Online.

Reads the configuration (conf/defaults.toml < --configuration_file < --key value), builds
the input, transform chain, reducers and outputs through the module registry, and runs the
chosen dataflow. ``python go.py --help`` lists every configuration key.

Exit status: 0 done, 1 the run failed, 2 configuration error, 130 interrupted by Ctrl-C.
Every error message carries an identifier (MAUS-1xx) explained in docs/recovery.md.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from maus_online import __version__
from maus_online.catalogue import say_unless_coded
from maus_online.configuration import all_options, load_configuration
from maus_online.dataflows import (DATAFLOWS, ProgressDisplay, RunStatistics, Stages, assemble,
                                   format_summary)
from maus_online.errors import ConfigurationError, MausError
from maus_online.registry import build_default_registry
from maus_online.specification import format_specification
from maus_online.tuning import tune_garbage_collector

EXIT_FAILED, EXIT_CONFIGURATION, EXIT_INTERRUPTED = 1, 2, 130

def describe_job(config: Mapping[str, Any], stages: Stages) -> str:
    """What this go.py reads and does, for the first line it prints."""
    if config["type_of_dataflow"] == "multi_process_merge_output":
        return (f"reads the {config['doc_store_class']} document store as consumer "
                f"{config['merge_output_consumer']!r}, reducers {', '.join(config['reducers'])}")
    return (f"input {config['inputter']}, "
            f"transform {format_specification(stages.specification)}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    tune_garbage_collector()
    try:
        registry = build_default_registry()
        # go.py's keys and those the registered modules declare, checked alike.
        config = load_configuration(argv, all_options(registry))
        logging.basicConfig(level=config["log_level"],
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        stages = assemble(config, registry)
    except ConfigurationError as exc:
        print(say_unless_coded("MAUS-120", exc), file=sys.stderr)
        return EXIT_CONFIGURATION
    print(f"MAUS Online {__version__}: {config['type_of_dataflow']}, {describe_job(config, stages)}",
          flush=True)
    stats = RunStatistics()
    progress = ProgressDisplay(stats, enabled=config["progress"])
    dataflow = DATAFLOWS[config["type_of_dataflow"]]
    try:
        if dataflow.needs_executor:
            from workers.executor import CeleryExecutor  # only these dataflows need Celery

            dataflow.run(stages, config, stats, progress, executor=CeleryExecutor)
        else:
            dataflow.run(stages, config, stats, progress)
    except ConfigurationError as exc:  # raised by a module's birth
        print(say_unless_coded("MAUS-120", exc), file=sys.stderr)
        return EXIT_CONFIGURATION
    except MausError as exc:
        print(say_unless_coded("MAUS-121", exc), file=sys.stderr)
        print(format_summary(stats), flush=True)  # what was done before it failed
        return EXIT_FAILED
    except KeyboardInterrupt:  # a second Ctrl-C while the run was being closed
        stats.interrupted = True
    print(format_summary(stats), flush=True)
    return EXIT_INTERRUPTED if stats.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
