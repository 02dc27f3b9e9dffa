"""The document-store contract (DESIGN §6), run against every back end in the same words.

The ``store`` fixture (tests/doc_store_backends.py) opens each back end in turn.
"""
from __future__ import annotations

import time

import pytest

from maus_online import codec
from maus_online.doc_store import (ConsumerState, StoredSpill, StreamContents, StreamPosition,
                                   StreamState, open_doc_store)
from maus_online.errors import ConfigurationError, SpillError
from tests.conftest import skeleton


def stored(seq, run=7, spill=None, **fields):
    document = skeleton(run, seq if spill is None else spill)
    document.update(fields)
    return StoredSpill.encode(seq, document)


def seqs(documents):
    return [document.seq for document in documents]


def test_put_then_get_returns_the_same_spill(store):
    document = stored(3, tof_events={"x": [1, 2.5, None]})
    store.put(document)
    back = store.get(3)
    assert back.decode() == document.decode()
    assert (back.seq, back.run_number, back.spill_number) == (3, 7, 3)
    assert store.get(4) is None


def test_put_is_idempotent_a_second_put_replaces(store):
    store.put(stored(1, note="first"))
    store.put(stored(1, note="redelivered"))
    assert store.count() == 1
    assert store.get(1).decode()["note"] == "redelivered"


def test_read_is_ordered_by_seq_bounded_and_limited(store):
    for seq in (5, 1, 4, 2, 3, 6):  # workers finish in any order
        store.put(stored(seq))
    assert seqs(store.read(0, 10)) == [1, 2, 3, 4, 5, 6]
    assert seqs(store.read(2, 5)) == [3, 4, 5]
    assert seqs(store.read(0, 10, limit=2)) == [1, 2]
    assert store.read(6, 10) == []
    assert store.last_seq() == 6


def test_read_after_a_gap_continues_past_it(store):
    for seq in (1, 2, 4):
        store.put(stored(seq))
    assert seqs(store.read(2, 4)) == [4]


def test_consumers_are_registered_with_their_own_cursor(store):
    assert store.register_consumer("histograms") == ConsumerState("histograms", 0, 0)
    store.mark_reduced("histograms", cursor=5, reduced=3)
    store.register_consumer("monitor")
    assert store.register_consumer("histograms") == ConsumerState("histograms", 5, 3)
    assert store.consumers() == {"histograms": ConsumerState("histograms", 5, 3),
                                 "monitor": ConsumerState("monitor", 0, 0)}
    store.forget_consumer("monitor")
    assert set(store.consumers()) == {"histograms"}


def test_a_spill_is_deleted_only_when_every_consumer_reduced_it(store):
    for seq in range(1, 7):
        store.put(stored(seq))
    store.register_consumer("a")
    store.register_consumer("b")
    store.mark_reduced("a", cursor=6, reduced=6)
    assert store.delete_reduced() == 0
    store.mark_reduced("b", cursor=5, reduced=4)
    assert store.delete_reduced() == 4
    assert seqs(store.read(0, 10)) == [5, 6]
    assert store.count() == 2


def test_without_consumers_nothing_is_deleted_before_its_retention(store):
    store.put(stored(1))
    assert store.delete_reduced(retention=3600) == 0
    assert store.count() == 1


def test_retention_deletes_old_spills_even_unreduced(store):
    old = stored(1)
    store.put(StoredSpill(old.seq, old.run_number, old.spill_number, old.body,
                          time.time() - 7200))
    store.put(stored(2))
    store.register_consumer("slow")
    assert store.delete_reduced(retention=3600) == 1
    assert seqs(store.read(0, 10)) == [2]


def test_the_stream_state_is_published_and_read_back(store):
    assert store.stream() == StreamState()
    state = StreamState(watermark=12, reserved=1000, finished=True, producer="go.py@node1:42")
    store.save_stream(state)
    assert store.stream() == state
    # What a restarted producer resumes from: what the spills hold and where the input was.
    state = StreamState(7, 1000, False, "go.py@node1:43",
                        StreamContents(("ReducePyTOFPlot",), ("recon_events",)),
                        StreamPosition("0123456789abcdef", "InputPyJSON reading /data/run.jsonl",
                                       (3, 41, "physics_event")))
    store.save_stream(state)
    assert store.stream() == state


def test_a_document_that_is_not_a_spill_is_named_when_decoded(store):
    store.put(StoredSpill(9, 7, 9, b'{"maus_event_type": "Nonsense"}', time.time()))
    store.put(StoredSpill(10, None, None, b"not json", time.time()))
    with pytest.raises(SpillError, match=r"store document 9 \(run 7, spill 9\)"):
        store.get(9).decode()
    with pytest.raises(SpillError, match="store document 10 .*not valid JSON"):
        store.get(10).decode()


def test_big_spills_round_trip(store):
    document = skeleton(7, 1)
    document["digits"] = [{"adc": i, "tdc": i * 0.25, "pmt": [i % 2, i % 7]}
                          for i in range(20_000)]
    store.put(StoredSpill.encode(1, document))
    assert codec.loads(store.read(0, 1)[0].body) == document


def test_an_unknown_back_end_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="memory, sqlite, mongodb, couchdb"):
        open_doc_store({"doc_store_class": "oracle", "doc_store_url": ""})


def test_import_paths_are_refused_where_the_name_came_from_the_network():
    path = "maus_online.doc_store.memory:MemoryDocumentStore"
    assert open_doc_store({"doc_store_class": path, "doc_store_url": ""}).kind == "memory"
    with pytest.raises(ConfigurationError, match="not one of"):
        open_doc_store({"doc_store_class": path, "doc_store_url": ""}, allow_import_path=False)
