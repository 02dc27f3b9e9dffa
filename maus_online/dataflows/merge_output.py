"""The consumer half of a job: the document store → reducers → outputs.

:class:`StoreReader` reads the spills of the stream in ``seq`` order, up to the producer's
watermark, feeds them to :class:`MergeOutput`, and records its place as the consumer's
``cursor`` and ``reduced`` (base.py explains both).

**Exactly once after a crash** (issue 4): the reducers' state is rebuilt from the store, not
checkpointed. Spills of the run that is still open are kept in the store (``reduced`` stays
before them), so a restarted consumer reduces ``(reduced, cursor]`` again with outputs off,
then goes on after ``cursor``. Reducers need no serialisable state, and the final documents of
the run count every spill once. The price: a run's spills stay in the store until the run ends.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ..catalogue import say
from ..doc_store import DocumentStore, Retrying, StoredSpill, StreamContents, StreamState
from ..doc_store.base import NotASpill
from ..errors import ConfigurationError
from ..modules import fields_read
from .merge import MergeOutput
from .progress import ProgressDisplay
from .statistics import RunStatistics

log = logging.getLogger(__name__)

#: Spills read from the store per query: whole spills are MBs each, so a few at a time; an
#: envelope with its partials is a few kB, so many.
BATCH = 10
PARTIALS_BATCH = 500
#: Seconds between deletions of what every consumer has reduced.
DELETE_INTERVAL = 5.0
#: Longest time between two saves of the consumer's place while it works through a batch:
#: what a crash makes it redo, and what an administrator's view of the store lags behind.
SAVE_INTERVAL = 0.5
#: Error key under which a store document that is not a spill is counted.
STORE_ERROR = "doc_store"


class StoreReader:
    """Consumes the store's stream as consumer ``name``; produces reduced, output spills."""

    def __init__(self, merge: MergeOutput, store: DocumentStore, retrying: Retrying,
                 config: Mapping[str, Any], stats: RunStatistics,
                 progress: ProgressDisplay, *, counts_input: bool = True) -> None:
        self.merge, self.store, self.retrying = merge, store, retrying
        self.name: str = config["merge_output_consumer"]
        self.retention: float = config["doc_store_retention"]
        self.stats, self.progress = stats, progress
        #: False where the spills were already counted as read from the input (multi_process).
        self.counts_input = counts_input
        self.cursor = 0
        self.reduced = 0
        self.stream = StreamState()
        self.batch = BATCH
        self._checked: StreamContents | None = None
        self._last_delete = 0.0
        self._last_save = time.monotonic()

    def open(self) -> None:
        """Register this consumer; rebuild the run it had open when it last stopped."""
        state = self.retrying.call(f"register consumer {self.name!r}",
                                   self.store.register_consumer, self.name)
        self.cursor, self.reduced = state.cursor, state.reduced
        if self.cursor > self.reduced:
            self._replay(self.reduced, self.cursor)

    def _replay(self, after: int, through: int) -> None:
        self.merge.replaying = True
        try:
            self.cursor = after
            while self.cursor < through:
                batch = self.retrying.call("read spills to rebuild the open run",
                                           self.store.read, self.cursor, through, BATCH)
                if not batch:
                    break  # deleted meanwhile (retention): rebuild what is left
                for document in batch:
                    self._process(document)
                    self.stats.spills_replayed += 1
        finally:
            self.merge.replaying = False
            self.cursor = through
        self.progress.note(f"merge-output {self.name!r}: rebuilt the open run from "
                           f"{self.stats.spills_replayed} spills already reduced before "
                           f"the restart (store documents {after + 1} to {through})")

    def step(self, limit: int | None = None) -> int:
        """Reduce the next batch of new spills (at most ``limit``); return how many were read."""
        self.stream = self.retrying.call("read the stream state", self.store.stream)
        if self.stream.contents is not None and self.stream.contents != self._checked:
            self._check(self.stream.contents)
        batch = [] if self.stream.watermark <= self.cursor else self.retrying.call(
            "read spills", self.store.read, self.cursor, self.stream.watermark,
            limit or self.batch)
        for document in batch:
            if self.counts_input:
                self.stats.count_input()
            self._process(document)
            if time.monotonic() - self._last_save >= SAVE_INTERVAL:
                self._save()
        if batch:
            self._save()
        else:
            self.merge.poll()  # images drawn meanwhile go out while nothing new comes in
        self._delete_reduced()
        self.progress.update()
        return len(batch)

    def _check(self, contents: StreamContents) -> None:
        """Refuse to go on when the stored spills lack what this merge side reads: plots filled
        from nothing would look like a dead detector."""
        merge = self.merge
        wanted = [r.module_name() for r in merge.reducers if r.splits()]
        missing = [f"the partials of {name}" for name in wanted if name not in contents.partials]
        fields = fields_read([*merge.reducers, *merge.outputters])
        if contents.fields is not None:
            if fields is None:
                missing.append("whole spills (every field)")
            else:
                missing += [f"field {f}" for f in fields if f not in contents.fields]
        if missing:
            readers = ", ".join(m.module_name() for m in [*merge.reducers, *merge.outputters])
            raise ConfigurationError(say(
                "MAUS-115", consumer=self.name, missing="; ".join(missing), readers=readers,
                stored=contents.describe()))
        self._checked = contents
        self.batch = BATCH if contents.fields is None else PARTIALS_BATCH

    @property
    def finished(self) -> bool:
        """True once the producer has finished and everything it stored is reduced."""
        return self.stream.finished and self.cursor >= self.stream.watermark

    def close(self, end_open_run: bool = True) -> None:
        """End the open run (its final documents are written); it stays open in the store
        unless ``end_open_run`` — a restart must be able to rebuild it."""
        self.merge.finish()
        if end_open_run:
            self.reduced = self.cursor
        self._save()
        self._delete_reduced(force=True)

    def _process(self, document: StoredSpill) -> None:
        runs_begun = self.merge.runs_begun
        previous = self.cursor
        self.cursor = document.seq
        try:
            spill = document.decode()
        except NotASpill as exc:
            self._report_bad(exc)
        else:
            self.merge.process(spill)
        if self.merge.runs_begun != runs_begun:
            self.reduced = previous  # this spill opened a run: the one before is closed
        if not self.merge.in_run:
            self.reduced = self.cursor

    def _report_bad(self, exc: NotASpill) -> None:
        if self.merge.replaying:
            return
        message = say("MAUS-114", label=exc.document, reason=exc.reason)
        log.error("%s", message)
        self.stats.count_error(STORE_ERROR, f"{STORE_ERROR}: {message}")
        self.progress.note(message)

    def _save(self) -> None:
        self._last_save = time.monotonic()
        self.retrying.call(f"save consumer {self.name!r}", self.store.mark_reduced,
                           self.name, self.cursor, self.reduced)

    def _delete_reduced(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_delete >= DELETE_INTERVAL:
            self._last_delete = now
            self.retrying.call("delete reduced spills", self.store.delete_reduced,
                               self.retention)
