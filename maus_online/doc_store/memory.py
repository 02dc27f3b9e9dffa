"""The in-memory document store: one process only (tests, and jobs that need no sharing)."""
from __future__ import annotations

import bisect
import threading
from dataclasses import replace

from .base import ConsumerState, DocumentStore, StoredSpill, StreamState


class MemoryDocumentStore(DocumentStore):
    """Keeps spills in a dict keyed by ``seq`` beside a sorted list of the keys."""

    kind = "memory"

    def __init__(self, url: str = "") -> None:
        self.url = url or "memory:"
        self._lock = threading.Lock()
        self._spills: dict[int, StoredSpill] = {}
        self._order: list[int] = []
        self._consumers: dict[str, ConsumerState] = {}
        self._stream = StreamState()

    def put(self, spill: StoredSpill) -> None:
        with self._lock:
            if spill.seq not in self._spills:
                bisect.insort(self._order, spill.seq)
            self._spills[spill.seq] = spill

    def get(self, seq: int) -> StoredSpill | None:
        with self._lock:
            return self._spills.get(seq)

    def read(self, after: int, through: int, limit: int = 100) -> list[StoredSpill]:
        with self._lock:
            start = bisect.bisect_right(self._order, after)
            stop = bisect.bisect_right(self._order, through)
            return [self._spills[seq] for seq in self._order[start:min(stop, start + limit)]]

    def count(self) -> int:
        with self._lock:
            return len(self._spills)

    def last_seq(self) -> int:
        with self._lock:
            return self._order[-1] if self._order else 0

    def _delete_through(self, seq: int) -> int:
        with self._lock:
            stop = bisect.bisect_right(self._order, seq)
            for key in self._order[:stop]:
                del self._spills[key]
            del self._order[:stop]
            return stop

    def _delete_put_before(self, put_time: float) -> int:
        with self._lock:
            old = [seq for seq, spill in self._spills.items() if spill.put_time < put_time]
            for seq in old:
                del self._spills[seq]
            self._order = [seq for seq in self._order if seq in self._spills]
            return len(old)

    def consumers(self) -> dict[str, ConsumerState]:
        with self._lock:
            return dict(self._consumers)

    def save_consumer(self, state: ConsumerState) -> None:
        with self._lock:
            self._consumers[state.name] = replace(state)

    def forget_consumer(self, name: str) -> None:
        with self._lock:
            self._consumers.pop(name, None)

    def stream(self) -> StreamState:
        with self._lock:
            return self._stream

    def save_stream(self, state: StreamState) -> None:
        with self._lock:
            self._stream = state
