"""``multi_process`` and its two halves: the spill side on Celery workers, via the document store.

* ``multi_process``: input, workers and merge in this go.py, the two halves driven side by
  side by one loop: feed the workers, take what they finished, reduce what the store holds.
* ``multi_process_input_transform``: input and workers only; the stored spills hold what the
  reducers and outputs named in its configuration read (their partials, and whole-spill
  fields only for those that need them).
* ``multi_process_merge_output``: the store's spills through the reducers and outputs, until
  the producer has finished (or Ctrl-C with ``--follow``).

Each dataflow gets an :data:`~maus_online.dataflows.executor.ExecutorFactory` from go.py and
makes its executor with the configuration the workers must see (the store's URL absolute).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ..catalogue import say
from ..doc_store import DocumentStore, Retrying, absolute_store_url, open_doc_store
from ..errors import ConfigurationError
from ..farm_status import FarmStatus, RunCounts, StoreWatch, WatchedRetrying, servers_of
from ..outages import Outages
from .assembly import Stages
from .executor import ExecutorFactory
from .input_transform import InputTransform
from .job import Job, Stop
from .merge import MergeOutput
from .merge_output import StoreReader
from .progress import ProgressDisplay
from .spill_side import spill_side_spec
from .statistics import RunStatistics

log = logging.getLogger(__name__)

#: Seconds merge-output waits between looks at a store with nothing new.
POLL_INTERVAL = 0.2


def _settled(config: Mapping[str, Any], shared_with_workers: bool) -> dict[str, Any]:
    """The configuration of the job and its workers: the store's URL made absolute, so that
    workers started in another directory open the same store."""
    if shared_with_workers and config["doc_store_class"] == "memory":
        raise ConfigurationError(say("MAUS-113"))
    return {**config, "doc_store_url": absolute_store_url(config)}


def _open_store(job: Job, config: Mapping[str, Any], store: DocumentStore | None,
                retrying: Retrying) -> DocumentStore:
    """``store``, or the configured one opened with the patience of every other store call."""
    if store is None:
        store = retrying.call("open the document store", open_doc_store, config)
    job.closing(store.close, "closing the document store")
    return store


def _retrying(config: Mapping[str, Any], progress: ProgressDisplay) -> Retrying:
    return Retrying(config["server_outage_timeout"], progress.note)


def _producer(job: Job, stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
              progress: ProgressDisplay, executor: ExecutorFactory,
              store: DocumentStore | None) -> tuple[InputTransform, DocumentStore]:
    """The input half of a job: its store, its executor and its input, opened and born (each
    closed when the job ends), and the producer that joins them, numbering from the store."""
    watch = StoreWatch()
    retrying = WatchedRetrying(config["server_outage_timeout"], progress.note, watch)
    store = _open_store(job, config, store, retrying)
    outages = Outages(config["server_outage_timeout"], progress.note)
    progress.paused = lambda: outages.paused
    workers = executor(config, outages=outages)
    job.closing(workers.close, "closing the executor")
    farm_view = getattr(workers, "farm_view", None)  # the in-process executor has no farm
    if config["farm_status"] and farm_view is not None:
        merged = config["type_of_dataflow"] == "multi_process"  # else done = stored

        def counts() -> RunCounts:
            return RunCounts(stats.runs[-1] if stats.runs else None, stats.spills_in,
                             stats.in_flight,
                             stats.spills_done if merged else stats.spills_stored,
                             stats.spills_failed if merged else stats.transform_failures)

        status = FarmStatus(config, counts, dataflow=config["type_of_dataflow"],
                            farm=farm_view(), servers=servers_of(outages, watch),
                            note=progress.note).start()
        progress.alarms = status.progress_text
        job.closing(status.close, "closing the farm status")
    job.born(stages.inputter, config)
    producer = InputTransform(spill_side_spec(stages), config, stats, progress, workers,
                              store, retrying)
    return producer, store


def run_multi_process(stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                      progress: ProgressDisplay, executor: ExecutorFactory,
                      store: DocumentStore | None = None) -> None:
    """Input, workers and merge together; Ctrl-C stops reading, then closes cleanly."""
    config = _settled(config, shared_with_workers=True)
    with Job(stats, progress) as job:
        producer, store = _producer(job, stages, config, stats, progress, executor, store)
        reader = StoreReader(MergeOutput(stages.reducers, stages.outputters, config, stats),
                             store, producer.retrying, config, stats, progress,
                             counts_input=False)
        reader.open()
        producer.open()

        def read(stop: Stop) -> None:
            for spill in stop.guard(stages.inputter.emitter()):
                stats.count_input()
                while not producer.try_feed(spill):  # the workers are busy: take, reduce
                    producer.collect()
                    reader.step()
                # What finished meanwhile, without waiting: a slow beam's plots stay current.
                producer.collect(timeout=0)
                reader.step()

        def finish() -> None:
            # Spills already submitted are still collected and reduced, so that every spill
            # read is either reduced or reported; a second Ctrl-C abandons them.
            while producer.in_flight:
                producer.collect()
                reader.step()
            producer.finish()
            while reader.step():
                pass
            reader.close(end_open_run=not stats.interrupted)

        def salvage() -> None:
            # The workers are out of reach: reduce what they stored, and draw the run's images.
            while reader.step():
                pass
            reader.close(end_open_run=True)

        job.run(read, finish, salvage)


def run_input_transform(stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                        progress: ProgressDisplay, executor: ExecutorFactory,
                        store: DocumentStore | None = None) -> None:
    """Input and workers into the store, for the merge-outputs this configuration describes."""
    config = _settled(config, shared_with_workers=True)
    with Job(stats, progress) as job:
        producer, _ = _producer(job, stages, config, stats, progress, executor, store)
        producer.open()

        def read(stop: Stop) -> None:
            for spill in stop.guard(stages.inputter.emitter()):
                stats.count_input()
                while not producer.try_feed(spill):
                    producer.collect()
                producer.collect(timeout=0)  # the watermark follows the workers

        def finish() -> None:
            producer.drain()
            producer.finish()

        job.run(read, finish)


def run_merge_output(stages: Stages, config: Mapping[str, Any], stats: RunStatistics,
                     progress: ProgressDisplay, store: DocumentStore | None = None) -> None:
    """Reduce what the store holds, until the producer has finished (or Ctrl-C with follow)."""
    config = _settled(config, shared_with_workers=False)
    retrying = _retrying(config, progress)
    with Job(stats, progress) as job:
        store = _open_store(job, config, store, retrying)
        reader = StoreReader(MergeOutput(stages.reducers, stages.outputters, config, stats),
                             store, retrying, config, stats, progress)
        reader.open()
        progress.note(f"merge-output {reader.name!r}: reading {store.kind} store "
                      f"{config['doc_store_url']} after document {reader.cursor}"
                      + (" (following; Ctrl-C stops)" if config["follow"] else ""))

        def read(stop: Stop) -> None:
            while config["follow"] or not reader.finished:
                stop.check()
                if not reader.step():
                    time.sleep(POLL_INTERVAL)  # nothing new: look again shortly

        # Interrupted mid-run, the run stays open in the store for the next start to rebuild.
        job.run(read, lambda: reader.close(end_open_run=reader.finished))
