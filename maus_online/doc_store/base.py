"""The document store's interface: the cache between input-transform and merge-output (DESIGN §6).

The semantics the seed left open, settled here:

* The **producer** (input-transform) numbers every spill it reads with an insertion sequence
  number ``seq``; the number is the document's key, so a ``put`` is idempotent (a redelivered
  task carries the same ``seq`` and replaces, never duplicates) and ties are impossible.
* The producer publishes a **watermark**: every ``seq`` up to it is in the store (or failed and
  was replaced by the spill with its error). Readers never look beyond it, so a spill still on
  a worker can never be skipped by a cursor that moved past it.
* Each **consumer** (merge-output) has a named :class:`ConsumerState`: ``cursor``, the last
  ``seq`` it processed, and ``reduced``, the last ``seq`` of its last closed run. Everything up
  to ``reduced`` is reduced for good; ``(reduced, cursor]`` is the open run, kept in the store
  so that a restarted consumer can rebuild its histograms from it.
* A spill is deleted when every registered consumer has reduced it, or when it is older than
  the retention period.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..errors import SpillError


@dataclass(frozen=True)
class StoredSpill:
    """One document: a spill's encoded JSON ``body`` under its sequence number ``seq``."""

    seq: int
    run_number: int | None
    spill_number: int | None
    body: bytes
    put_time: float = 0.0

    @classmethod
    def encode(cls, seq: int, spill: dict[str, Any]) -> "StoredSpill":
        """``StoredSpill.encode(7, spill)``: the document that holds ``spill`` at ``seq``."""
        return cls(seq, _number(spill.get("run_number")), _number(spill.get("spill_number")),
                   codec.dumps(spill), time.time())

    @property
    def label(self) -> str:
        """How messages name this document: its ``seq``, run and spill."""
        return f"store document {self.seq} (run {self.run_number}, spill {self.spill_number})"

    def decode(self) -> dict[str, Any]:
        """The spill; :class:`NotASpill` naming this document when it is not a spill."""
        try:
            spill = codec.loads(self.body)
        except ValueError as exc:
            raise NotASpill(self.label, f"not valid JSON: {exc}") from exc
        if not isinstance(spill, dict) or spill.get("maus_event_type") != "Spill":
            kind = type(spill).__name__ if not isinstance(spill, dict) else \
                f"maus_event_type {spill.get('maus_event_type')!r}"
            raise NotASpill(self.label, f"not a spill: field maus_event_type is missing or "
                                        f"wrong ({kind})")
        return spill


class NotASpill(SpillError):
    """A store document that does not hold a spill: which ``document``, and why (``reason``)."""

    def __init__(self, document: str, reason: str) -> None:
        super().__init__(f"{document} is {reason}")
        self.document, self.reason = document, reason


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ConsumerState:
    """Where one merge-output consumer is in the stream (see the module docstring)."""

    name: str
    cursor: int = 0
    reduced: int = 0


@dataclass(frozen=True)
class StreamContents:
    """What every stored physics spill holds beyond its envelope: the partials of these
    reducers (their fill parts ran on the spill side) and these top-level fields (``None``:
    all of them, the whole spill)."""

    partials: tuple[str, ...] = ()
    fields: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"partials": list(self.partials),
                "fields": None if self.fields is None else list(self.fields)}

    @classmethod
    def from_dict(cls, data: Any) -> StreamContents | None:
        """The contents of :meth:`as_dict`; None for what an older producer wrote (nothing)."""
        if not isinstance(data, dict):
            return None
        fields = data.get("fields")
        return cls(tuple(map(str, data.get("partials") or ())),
                   None if fields is None else tuple(map(str, fields)))

    def describe(self) -> str:
        """``"partials of ReducePyTOFPlot; fields recon_events"`` for messages."""
        partials = ", ".join(self.partials) or "no reducer"
        fields = "every field" if self.fields is None else ", ".join(self.fields) or "none"
        return f"partials of {partials}; whole-spill fields {fields}"


#: How a spill is named across producers: (run number, spill number, DAQ event type).
SpillLabel = tuple[Any, Any, Any]


@dataclass(frozen=True)
class StreamPosition:
    """Where the producer is in its input, for a restarted one to go on from there: which
    input it reads (``input_id``, a digest of everything that decides what is stored, and
    ``input``, the same in words) and the label of the last spill at or below the watermark
    (``last``; None before the first)."""

    input_id: str
    input: str
    last: SpillLabel | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"input_id": self.input_id, "input": self.input,
                "last": None if self.last is None else list(self.last)}

    @classmethod
    def from_dict(cls, data: Any) -> StreamPosition | None:
        """The position of :meth:`as_dict`; None for what an older producer wrote."""
        if not isinstance(data, dict) or not isinstance(data.get("input_id"), str):
            return None
        last = data.get("last")
        return cls(data["input_id"], str(data.get("input", "")),
                   tuple(last) if isinstance(last, list) and len(last) == 3 else None)


@dataclass(frozen=True)
class StreamState:
    """What the producer published: ``watermark``, the ``seq`` numbers it may have handed out
    (``reserved``), whether its input has ``finished``, who it is, what its spills hold
    (``contents``; None before a producer said) and where it is in its input
    (``position``; None before a producer said)."""

    watermark: int = 0
    reserved: int = 0
    finished: bool = False
    producer: str = ""
    contents: StreamContents | None = None
    position: StreamPosition | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"watermark": self.watermark, "reserved": self.reserved,
                "finished": self.finished, "producer": self.producer,
                "contents": None if self.contents is None else self.contents.as_dict(),
                "position": None if self.position is None else self.position.as_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamState:
        return cls(int(data["watermark"]), int(data["reserved"]), bool(data["finished"]),
                   str(data["producer"]), StreamContents.from_dict(data.get("contents")),
                   StreamPosition.from_dict(data.get("position")))


class DocumentStore(ABC):
    """Holds transformed spills between the two halves of a job, for every named consumer.

    Every method raises :class:`~maus_online.errors.DocumentStoreError` when the back end
    fails, with the back end's own message. Back ends implement the abstract methods; the
    deletion policy is shared.
    """

    #: The configuration name of the back end (``doc_store_class``).
    kind: str = "?"

    # --- Spills ----------------------------------------------------------------------------

    @abstractmethod
    def put(self, spill: StoredSpill) -> None:
        """Store ``spill`` under its ``seq``, replacing any document with that ``seq``."""

    @abstractmethod
    def get(self, seq: int) -> StoredSpill | None:
        """The document at ``seq``, or None."""

    @abstractmethod
    def read(self, after: int, through: int, limit: int = 100) -> list[StoredSpill]:
        """Up to ``limit`` documents with ``after < seq <= through``, in ``seq`` order."""

    @abstractmethod
    def count(self) -> int:
        """How many spills the store holds."""

    @abstractmethod
    def last_seq(self) -> int:
        """The highest ``seq`` held (0 when empty)."""

    @abstractmethod
    def _delete_through(self, seq: int) -> int:
        """Delete every spill with ``seq`` up to ``seq``; return how many went."""

    @abstractmethod
    def _delete_put_before(self, put_time: float) -> int:
        """Delete every spill put before ``put_time`` (seconds since the epoch)."""

    # --- Consumers and the stream ------------------------------------------------------------

    @abstractmethod
    def consumers(self) -> dict[str, ConsumerState]:
        """Every registered consumer's state, by name."""

    @abstractmethod
    def save_consumer(self, state: ConsumerState) -> None:
        """Register or update a consumer (its cursor and what it has reduced)."""

    @abstractmethod
    def forget_consumer(self, name: str) -> None:
        """Unregister a consumer: spills no longer wait for it."""

    @abstractmethod
    def stream(self) -> StreamState:
        """What the producer last published."""

    @abstractmethod
    def save_stream(self, state: StreamState) -> None:
        """Publish the producer's state."""

    def close(self) -> None:
        """Release the connection; the store must not be used afterwards."""

    # --- Shared policy -----------------------------------------------------------------------

    def register_consumer(self, name: str) -> ConsumerState:
        """The state of consumer ``name``, registering it (at the start of the stream) if new."""
        state = self.consumers().get(name)
        if state is None:
            state = ConsumerState(name)
            self.save_consumer(state)
        return state

    def mark_reduced(self, name: str, cursor: int, reduced: int) -> ConsumerState:
        """Record that consumer ``name`` processed through ``cursor`` and reduced through
        ``reduced`` (one write: a crash never leaves one without the other)."""
        state = ConsumerState(name, cursor, reduced)
        self.save_consumer(state)
        return state

    def delete_reduced(self, retention: float = 0.0) -> int:
        """Delete what every registered consumer has reduced, and (``retention`` > 0) every
        spill older than ``retention`` seconds, reduced or not. Returns how many went."""
        deleted = 0
        states = self.consumers().values()
        if states:
            deleted += self._delete_through(min(state.reduced for state in states))
        if retention > 0:
            deleted += self._delete_put_before(time.time() - retention)
        return deleted

    def __enter__(self) -> "DocumentStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
