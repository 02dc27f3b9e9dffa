"""``python -m maus_online.doc_store``: look into a document store, and forget a consumer.

    python -m maus_online.doc_store status --doc_store_url sqlite:///maus_doc_store.sqlite
    python -m maus_online.doc_store forget old-monitor

The store is chosen as go.py chooses it: conf/defaults.toml, ``MAUS_DOC_STORE_URL``, then
``--doc_store_class`` / ``--doc_store_url``.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..configuration import default_configuration
from ..errors import MausError
from . import DocumentStore, absolute_store_url, open_doc_store


def status(store: DocumentStore) -> str:
    """What a shifter or administrator wants to know about the store, as text."""
    stream = store.stream()
    lines = [f"{store.kind} document store: {store.count()} spills held, last seq "
             f"{store.last_seq()}",
             f"producer: {stream.producer or 'none yet'}, watermark {stream.watermark}, "
             f"{'finished' if stream.finished else 'running (or stopped without finishing)'}"]
    if stream.contents is not None:
        lines.append(f"each physics spill holds: {stream.contents.describe()}")
    consumers = store.consumers()
    if not consumers:
        lines.append("consumers: none registered (nothing is deleted but by retention)")
    for name, state in sorted(consumers.items()):
        behind = max(0, stream.watermark - state.cursor)
        lines.append(f"consumer {name!r}: processed through {state.cursor} ({behind} behind), "
                     f"reduced through {state.reduced}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maus_online.doc_store",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["status", "forget"])
    parser.add_argument("consumer", nargs="?", help="the consumer to forget")
    parser.add_argument("--doc_store_class")
    parser.add_argument("--doc_store_url")
    args = parser.parse_args(argv)
    overrides = {key: value for key in ("doc_store_class", "doc_store_url")
                 if (value := getattr(args, key)) is not None}
    try:
        config = default_configuration(overrides)
        with open_doc_store(config) as store:
            if args.command == "forget":
                if not args.consumer:
                    parser.error("forget needs the name of a consumer")
                store.forget_consumer(args.consumer)
                print(f"forgot consumer {args.consumer!r} of {absolute_store_url(config)}")
            else:
                print(status(store))
    except MausError as exc:
        print(f"maus_online.doc_store: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
