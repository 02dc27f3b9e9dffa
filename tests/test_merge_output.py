"""merge-output's reading of the store: order, resume after a crash, two consumers, bad data.

In-process, on the memory store, with real reducers; the same logic on SQLite and CouchDB in
separate go.py processes is tested in test_split_dataflows.py.
"""
from __future__ import annotations

import io

from maus_online.dataflows import MergeOutput, ProgressDisplay, RunStatistics
from maus_online.dataflows.merge_output import StoreReader
from maus_online.doc_store import ConsumerState, Retrying, StoredSpill, StreamState
from maus_online.doc_store.memory import MemoryDocumentStore
from maus_online.errors import DocumentStoreError
from reducers.count_spills import ReducePyCountSpills
from tests.conftest import make_config, skeleton
from tests.list_modules import OutputPyList


def fill(store, runs, finished=True):
    """Store whole runs (start marker, physics spills, end marker); return the last seq."""
    seq = 0
    for run, physics in runs:
        spills = [skeleton(run, 0, "start_of_run"), *(skeleton(run, n) for n in
                  range(1, physics + 1)), skeleton(run, physics + 1, "end_of_run")]
        for spill in spills:
            seq += 1
            store.put(StoredSpill.encode(seq, spill))
    store.save_stream(StreamState(seq, seq, finished, "test"))
    return seq


def reader(store, consumer="default", notes=None):
    output = OutputPyList()
    stats = RunStatistics()
    config = make_config(merge_output_consumer=consumer, doc_store_retention=0.0)
    progress = ProgressDisplay(stats, io.StringIO(), enabled=False)
    if notes is not None:
        progress.note = notes.append
    merge = MergeOutput([ReducePyCountSpills()], [output], config, stats)
    return StoreReader(merge, store, Retrying(5), config, stats, progress), output


def run_to_end(store_reader):
    store_reader.open()
    while store_reader.step():
        pass
    store_reader.close()


def counts(output):
    return [(d["run_number"], d["spills"]) for d in output.saved
            if d["maus_event_type"] == "SpillCount"]


def test_the_stream_is_reduced_in_seq_order_and_then_deleted():
    store = MemoryDocumentStore()
    fill(store, [(1, 3), (2, 2)])
    store_reader, output = reader(store)
    run_to_end(store_reader)
    assert counts(output) == [(1, 3), (2, 2)]
    assert store_reader.finished
    assert store.count() == 0
    assert store.consumers()["default"].reduced == 9


def test_nothing_beyond_the_watermark_is_read():
    store = MemoryDocumentStore()
    last = fill(store, [(1, 3)], finished=False)
    store.save_stream(StreamState(watermark=2, reserved=last))
    store_reader, output = reader(store)
    store_reader.open()
    assert store_reader.step() == 2
    assert store_reader.step() == 0
    assert not store_reader.finished


def test_a_restarted_consumer_rebuilds_the_open_run_and_counts_each_spill_once():
    store = MemoryDocumentStore()
    fill(store, [(1, 4), (2, 10)])
    crashed, first_output = reader(store)
    crashed.open()
    crashed.step(limit=6 + 5)  # run 1 whole, run 2 open after its 4th physics spill
    assert counts(first_output) == [(1, 4)]
    state = store.consumers()["default"]
    assert (state.reduced, state.cursor) == (6, 11)
    # The process dies here: no close, its reducers' state is gone.
    notes = []
    restarted, output = reader(store, notes=notes)
    run_to_end(restarted)
    assert counts(output) == [(2, 10)]
    assert restarted.stats.spills_replayed == 5
    assert "rebuilt the open run from 5 spills" in notes[0]
    # Outputs saw no spill twice: the replayed ones were output by the crashed process.
    seen = [d["spill_number"] for d in output.saved if d.get("maus_event_type") == "Spill"]
    assert seen == list(range(5, 12))


def test_a_spill_waits_in_the_store_until_both_consumers_reduced_it():
    store = MemoryDocumentStore()
    fill(store, [(1, 3)])
    store.register_consumer("histograms")
    store.register_consumer("monitor")
    first, _ = reader(store, "histograms")
    run_to_end(first)
    assert store.count() == 5
    second, output = reader(store, "monitor")
    run_to_end(second)
    assert counts(output) == [(1, 3)]
    assert store.count() == 0


def test_a_document_that_is_not_a_spill_is_reported_with_its_id_and_skipped():
    store = MemoryDocumentStore()
    last = fill(store, [(1, 3)])
    store.put(StoredSpill(3, 1, 2, b'{"truncated": ', 0.0))
    notes = []
    store_reader, output = reader(store, notes=notes)
    run_to_end(store_reader)
    assert counts(output) == [(1, 2)]
    assert any(n.startswith("MAUS-114 merge-output skipped store document 3 (run 1, spill 2): "
                            "not valid JSON") for n in notes)
    assert store_reader.stats.errors_by_module["doc_store"] == 1
    assert store.consumers()["default"].reduced == last


def test_an_outage_is_retried_with_back_off_and_reported():
    class FlakyStore(MemoryDocumentStore):
        failures = 3

        def read(self, *args):
            if self.failures:
                self.failures -= 1
                raise DocumentStoreError("connection refused")
            return super().read(*args)

    notes = []
    retrying = Retrying(10, notes.append, first_delay=0.01, sleep=lambda s: None)
    store = FlakyStore()
    fill(store, [(1, 2)])
    assert len(retrying.call("read spills", store.read, 0, 10)) == 4
    assert len(notes) == 4
    assert notes[0].startswith("MAUS-110 document store unavailable, cannot read spills: "
                               "connection refused; retrying in 0.0 s")
    assert "retrying in 0.0 s" in notes[1]
    assert "MAUS-111 document store back: read spills succeeded after 3" in notes[3]


def test_an_outage_longer_than_the_timeout_fails_the_run():
    class DeadStore(MemoryDocumentStore):
        def stream(self):
            raise DocumentStoreError("connection refused")

    retrying = Retrying(0.05, lambda note: None, first_delay=0.01)
    try:
        retrying.call("read the stream state", DeadStore().stream)
    except DocumentStoreError as exc:
        assert str(exc).startswith("MAUS-112 gave up trying to read the stream state after "
                                   "0.05 s")
    else:
        raise AssertionError("no error")


def test_the_store_status_command_shows_producer_and_consumers(tmp_path, capsys):
    from maus_online.doc_store import open_doc_store
    from maus_online.doc_store.__main__ import main

    url = f"sqlite:///{tmp_path}/store.db"
    with open_doc_store({"doc_store_class": "sqlite", "doc_store_url": url}) as store:
        fill(store, [(1, 3)])
        store.mark_reduced("monitor", cursor=4, reduced=0)
    assert main(["status", "--doc_store_url", url]) == 0
    out = capsys.readouterr().out
    assert "sqlite document store: 5 spills held, last seq 5" in out
    assert "producer: test, watermark 5, finished" in out
    assert "consumer 'monitor': processed through 4 (1 behind), reduced through 0" in out
    assert main(["forget", "monitor", "--doc_store_url", url]) == 0
    assert "consumers: none registered" in (main(["status", "--doc_store_url", url]) or
                                            capsys.readouterr().out)


def test_merge_output_follows_the_store_until_ctrl_c(go_command, tmp_path):
    import signal

    from maus_online.doc_store import open_doc_store
    from tests.processes import Background, wait_until

    url = f"sqlite:///{tmp_path}/store.db"
    store = open_doc_store({"doc_store_class": "sqlite", "doc_store_url": url})

    def reduced_through(seq, process):
        wait_until(lambda: store.consumers().get("default", ConsumerState("default")).cursor
                   >= seq, f"merge-output reaching {seq}", 60, process=process)

    first = fill(store, [(1, 2)])  # a finished producer: without --follow, the end
    follow = Background([*go_command, "--progress", "false", "--type_of_dataflow",
                         "multi_process_merge_output", "--follow", "--doc_store_url", url,
                         "--reducers", "ReducePyCountSpills", "--outputters",
                         "OutputPyJSON", "--output_json_file_name", "out.jsonl"],
                        cwd=tmp_path, name="merge-output")
    try:
        reduced_through(first, follow)
        assert follow.poll() is None  # still following
        for seq, spill in enumerate([skeleton(2, 0, "start_of_run"), skeleton(2, 1),
                                     skeleton(2, 2, "end_of_run")], start=first + 1):
            store.put(StoredSpill.encode(seq, spill))
        store.save_stream(StreamState(first + 3, first + 3, True, "test"))
        reduced_through(first + 3, follow)
        follow.send_signal(signal.SIGINT)
        stdout, stderr = follow.communicate(timeout=60)
    finally:
        follow.stop()
        store.close()
    assert follow.returncode == 130, stderr
    assert "(following; Ctrl-C stops)" in stdout
    assert "runs:             1, 2" in stdout
    assert "spills done:      7 (3 physics, 4 run markers)" in stdout
