"""Resuming a stream: a restarted producer goes on where the store says the last one stopped.

An input-transform (or a ``multi_process`` go.py) killed in the middle of a run leaves in the
store its stream state: its watermark, the label of the last spill at or below it, and which
input it was reading (:class:`~maus_online.doc_store.StreamPosition`). Started again on the
same input with the same configuration, go.py reads the input from the start (both inputs
are deterministic: a file, and the simulated beam with its seed) and skips every spill the
store already holds -- each one up to that last label, and those beyond it that the workers
stored before the kill -- so nothing is stored twice and merge-output reduces each spill
once (MAUS-142). On another input or configuration it refuses (MAUS-143), unless
``restart_run`` says to start over (MAUS-144).

Spills are named by :data:`~maus_online.doc_store.SpillLabel`: (run, spill number, DAQ event
type), the type because a run marker and a physics spill may share a number.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..doc_store import SpillLabel, StoredSpill, StreamPosition
from ..errors import SpillError
from ..modules import Spill

#: Keys that change how go.py runs, shows or keeps the stream, never which spills are stored
#: or what they hold: a restart with other values of these still resumes.
NOT_IN_THE_STREAM = frozenset({
    "type_of_dataflow", "progress", "log_level", "broker_url", "result_backend",
    "spill_exchange_url", "spill_exchange_ttl", "task_queue", "worker_birth_timeout",
    "max_spills_in_flight", "spills_per_task", "doc_store_class", "doc_store_url",
    "doc_store_retention", "server_outage_timeout", "merge_output_consumer", "follow",
    "spill_interval", "output_json_file_name", "image_directory", "archive_directory",
    "archive_keep_runs", "reference_run", "histogram_image_type", "refresh_rate",
    "histogram_drawing", "histogram_auto_number", "image_file_prefix", "restart_run",
    "configuration_file",
})


def label_of(spill: Mapping[str, Any]) -> SpillLabel:
    """``(run_number, spill_number, daq_event_type)`` of ``spill``."""
    return (spill.get("run_number"), spill.get("spill_number"), spill.get("daq_event_type"))


def stream_position(config: Mapping[str, Any], last: SpillLabel | None = None
                    ) -> StreamPosition:
    """Which input ``config`` reads, as a digest of every key that decides what is stored
    (the input file by its absolute path) and in a shifter's words."""
    relevant = {key: value for key, value in config.items() if key not in NOT_IN_THE_STREAM}
    file_name = config.get("input_json_file_name")
    if file_name:
        relevant["input_json_file_name"] = str(Path(file_name).resolve())
    canonical = json.dumps(relevant, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    if config.get("inputter") == "InputPyJSON" and file_name:
        words = f"InputPyJSON reading {relevant['input_json_file_name']}"
    else:
        words = (f"{config.get('inputter')} with random_seed {config.get('random_seed')}, "
                 f"spill_count {config.get('spill_count')}")
    return StreamPosition(digest, f"{words}, configuration {digest}", last)


def differences(old: StreamPosition, new: StreamPosition) -> str:
    """What a shifter is told differs between the stored stream and this go.py."""
    if old.input != new.input:
        return f"the store holds {old.input}; this go.py has {new.input}"
    return f"the same input with other settings (configuration {old.input_id}, now " \
           f"{new.input_id})"


class Resumption:
    """Consumes the input's spills in order; says of each whether an earlier producer already
    stored it (:meth:`already_stored`), and counts those it skipped.

    ``last``: the label of the last spill at or below the stored watermark (every spill read
    before it is stored too); ``beyond``: the labels of the spills stored above the watermark
    by workers that finished before the producer was killed.
    """

    def __init__(self, last: SpillLabel | None, beyond: Iterable[SpillLabel]) -> None:
        self.last = last
        self.beyond = set(beyond)
        self.passed_last = last is None
        self.skipped = 0

    @classmethod
    def from_store(cls, position: StreamPosition, stored_beyond: Iterable[StoredSpill]
                   ) -> Resumption:
        labels = []
        for document in stored_beyond:
            try:
                labels.append(label_of(document.decode()))
            except (ValueError, SpillError):
                continue  # not a spill: nothing of the input to skip
        return cls(position.last, labels)

    def already_stored(self, spill: Spill) -> bool:
        label = label_of(spill)
        if not self.passed_last:
            self.passed_last = label == self.last
            self.skipped += 1
            return True
        if label in self.beyond:
            self.beyond.discard(label)
            self.skipped += 1
            return True
        return False
