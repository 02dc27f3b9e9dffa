"""The dataflows with transforms on workers, joined to the merge by the document store.

* ``multi_process``: both halves in this process, interleaved — while the workers transform,
  go.py merges what they have stored, so a plot updates while the run is still being read.
* ``multi_process_input_transform``: the producer half alone (input, workers, store).
* ``multi_process_merge_output``: the consumer half alone (store, reducers, outputs); it
  finishes when the producer has finished and everything is reduced, or with ``follow``
  keeps waiting for more, like ``tail -f``.

The halves are :class:`~.input_transform.InputTransform` and
:class:`~.merge_output.StoreReader`; this module only drives them.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ..doc_store import DocumentStore, Retrying, open_doc_store
from ..doc_store import absolute_store_url
from ..catalogue import say
from ..errors import ConfigurationError
from ..modules import fields_read
from .assembly import Stages
from .executor import Executor
from .input_transform import InputTransform
from .merge import MergeOutput
from .merge_output import StoreReader
from .progress import ProgressDisplay
from .statistics import RunStatistics

log = logging.getLogger(__name__)

#: Seconds merge-output waits between looks at a store with nothing new.
POLL_INTERVAL = 0.2


def _store_for(config: Mapping[str, Any], store: DocumentStore | None,
               progress: ProgressDisplay, shared_with_workers: bool
               ) -> tuple[dict[str, Any], DocumentStore]:
    """The configuration the workers are born with (an absolute store URL) and the store,
    opened with the same patience as every other store call."""
    config = {**config, "doc_store_url": absolute_store_url(config)}
    if shared_with_workers and store is None and config["doc_store_class"] == "memory":
        raise ConfigurationError(say("MAUS-113"))
    if store is None:
        store = _retrying(config, progress).call("open the document store", open_doc_store,
                                                 config)
    return config, store


def _retrying(config: Mapping[str, Any], progress: ProgressDisplay) -> Retrying:
    return Retrying(config["doc_store_retry_timeout"], progress.note)


def run_multi_process(stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                      progress: ProgressDisplay, executor: Executor,
                      store: DocumentStore | None = None) -> None:
    """Input, workers and merge together; Ctrl-C stops reading, then closes cleanly."""
    config, store = _store_for(config, store, progress, shared_with_workers=True)
    retrying = _retrying(config, progress)
    producer = InputTransform(stages.specification, config, stats, progress, executor, store,
                              retrying, fields_read([*stages.reducers, *stages.outputters]))
    reader = StoreReader(MergeOutput(stages.reducers, stages.outputters, config, stats),
                         store, retrying, config, stats, progress, counts_input=False)
    producer.idle = reader.step
    stages.inputter.birth(config)
    try:
        reader.open()
        producer.open()
        try:
            for spill in stages.inputter.emitter():
                stats.count_input()
                producer.feed(spill)
                reader.step()
        except KeyboardInterrupt:
            stats.interrupted = True
        # Spills already submitted are still collected and reduced, so that every spill
        # read is either reduced or reported; a second Ctrl-C abandons them.
        producer.finish()
        while reader.step():
            pass
        reader.close(end_open_run=not stats.interrupted)
    finally:
        stages.inputter.death()
        executor.close()
        store.close()
        progress.close()


def run_input_transform(stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                        progress: ProgressDisplay, executor: Executor,
                        store: DocumentStore | None = None) -> None:
    """Input and workers into the store; whole spills, as the consumers are not known."""
    config, store = _store_for(config, store, progress, shared_with_workers=True)
    producer = InputTransform(stages.specification, config, stats, progress, executor, store,
                              _retrying(config, progress))
    stages.inputter.birth(config)
    try:
        producer.open()
        try:
            for spill in stages.inputter.emitter():
                stats.count_input()
                producer.feed(spill)
        except KeyboardInterrupt:
            stats.interrupted = True
        producer.finish()
    finally:
        stages.inputter.death()
        executor.close()
        store.close()
        progress.close()


def run_merge_output(stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                     progress: ProgressDisplay, store: DocumentStore | None = None) -> None:
    """Reduce what the store holds, until the producer has finished (or Ctrl-C with follow)."""
    config, store = _store_for(config, store, progress, shared_with_workers=False)
    reader = StoreReader(MergeOutput(stages.reducers, stages.outputters, config, stats),
                         store, _retrying(config, progress), config, stats, progress)
    try:
        reader.open()
        progress.note(f"merge-output {reader.name!r}: reading {store.kind} store "
                      f"{config['doc_store_url']} after document {reader.cursor}"
                      + (" (following; Ctrl-C stops)" if config["follow"] else ""))
        try:
            while config["follow"] or not reader.finished:
                if not reader.step():
                    time.sleep(POLL_INTERVAL)  # nothing new: look again shortly
        except KeyboardInterrupt:
            stats.interrupted = True
        # Interrupted mid-run, the run stays open in the store for the next start to rebuild.
        reader.close(end_open_run=reader.finished)
    finally:
        store.close()
        progress.close()
